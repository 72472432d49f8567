/**
 * One spawned kubefwd child and everything learned from it: its plan, its forwards (a ForwardTracker), its
 * timers, the lines that decide how its exit is classified. A run lives exactly as long as one child; the
 * runner holds the current one.
 */
import type { Clock } from "../clock.ts";
import type { KubefwdSettings, ProfileSpec } from "../config/types.ts";
import type { HostsFile } from "../kubefwd/hosts.ts";
import { classifyExit, OutputAssembler, parseKubefwdLine } from "../kubefwd/output.ts";
import type { KubefwdEvent, KubefwdLine } from "../kubefwd/types.ts";
import { kubefwdSupports } from "../kubefwd/version.ts";
import type { FileWatch } from "./file_watcher.ts";
import { ForwardTracker } from "./forward_tracker.ts";
import type { LaunchPlan } from "./launch_plan.ts";
import { NamedTimers } from "./named_timers.ts";
import type { ExitKind } from "./policy.ts";
import type { RunHealth } from "./run_health.ts";
import { currentUserName, notRootMessage } from "./privilege.ts";
import { ROOT_HELPER_ENV } from "../sudo/root_helper.ts";
import type { ChildHandle, ExitStatus } from "./spawner.ts";
import type { RunnerTuning } from "./runner_deps.ts";

/**
 * The timers of one run: probes, the startup grace, the 1.22.x dead-forward debounce, the start stagger, the
 * slow retry of a failure the restart throttle holds.
 */
export type RunTimer = "probe" | "grace" | "deadForward" | "gate" | "heldRetry";

/** One spawned child; see the module comment. */
export interface Run {
  /** What the child was started with: argv, env, kubefwd version, sudo or not. */
  plan: LaunchPlan;
  /** Set once the spawn succeeded; a run without one never had a child. */
  handle?: ChildHandle;
  /** The child's forwards; lives and dies with this run. */
  tracker: ForwardTracker;
  /** Clock time of the spawn: uptime and the `startedAt` the user sees. */
  spawnedAt: number;
  /** When the profile first counted as running; a long enough stable run resets the retry attempts. */
  runningSince?: number;
  /** Set on exit: from then on the child's output no longer moves forward states. */
  exit?: ExitStatus;
  /** The runner is stopping this child: its exit is no failure. */
  stopping: boolean;
  /** A forward-driven restart is already on its way: no second one, no debounce timer. */
  restartRequested: boolean;
  /** kubefwd said it needs root: the exit is classified `not_root` and the user gets the sudoers hint. */
  sawNotRoot: boolean;
  /** kubefwd logged `Clean exit`: it removed its own hosts lines. */
  sawCleanExit: boolean;
  /** kubefwd logged `Forced shutdown` (second signal): ≥ 1.23 cleaned its hosts lines all the same. */
  sawForcedShutdown: boolean;
  /** The last FATA message: the exit reason the user sees. */
  lastFatal?: string;
  /** Buffers stdout into lines for the log and the parser. */
  stdout: OutputAssembler;
  /** Buffers stderr into lines for the log and the parser. */
  stderr: OutputAssembler;
  /** Everything this run scheduled, cleared together when it ends. */
  timers: NamedTimers<RunTimer>;
  /** A probe round is in flight: rounds never overlap. */
  probing: boolean;
  /** The probes and the API watch of this run, once spawned. */
  health?: RunHealth;
  /** Restarts the child when the kubeconfig changes (kubefwd keeps the clients it built at startup). */
  kubeconfigWatch?: FileWatch;
  /** Lets the next profile's child start; cleared once called (see {@link releaseGate}). */
  releaseGate?: () => void;
  /** Resolves when the exit has been fully handled (hosts cleaned, state updated). */
  done: Promise<void>;
  /** Resolves {@link Run.done}; called by the runner once the exit is handled. */
  resolveDone: () => void;
}

/** A run for `plan`, not yet spawned; `onLine` gets every assembled output line. */
export function newRun(
  plan: LaunchPlan,
  spec: ProfileSpec,
  tuning: RunnerTuning,
  clock: Clock,
  onLine: (run: Run, line: KubefwdLine) => void,
): Run {
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => resolveDone = resolve);
  const lines = (line: KubefwdLine) => onLine(run, line);
  const run: Run = {
    plan,
    tracker: new ForwardTracker({
      autoReconnect: kubefwdSupports(plan.version, "autoReconnect"),
      namespaces: spec.namespaces,
      forwardFailures: spec.forwardFailures,
      failureThreshold: spec.health.failureThreshold,
      autoReconnectGraceMs: tuning.autoReconnectGraceMs,
      maxAnnounced: tuning.maxAnnounced,
      ipChurnRestartAt: tuning.ipChurnRestartAt,
      listFailureGapMs: tuning.listFailureGapMs,
      listFailureRestartMs: tuning.listFailureRestartMs,
      probeRules: { http: spec.health.http ?? [], tcp: spec.health.tcp ?? [] },
      stallProbes: tuning.stallProbes,
    }),
    spawnedAt: clock.now(),
    stopping: false,
    restartRequested: false,
    sawNotRoot: false,
    sawCleanExit: false,
    sawForcedShutdown: false,
    stdout: new OutputAssembler("stdout", lines, clock),
    stderr: new OutputAssembler("stderr", lines, clock),
    timers: new NamedTimers(clock),
    probing: false,
    done,
    resolveDone,
  };
  return run;
}

/**
 * Parses a line of the child. What it says about the coming exit (the FATA message, the not-root text, a
 * clean or a forced shutdown: they decide how the exit is classified and which hosts lines it left) is
 * noted on the run; any other event is returned, for the forwards.
 */
export function readChildLine(run: Run, line: KubefwdLine): KubefwdEvent | undefined {
  if (line.stream === "stdout" && line.message.startsWith("Forced shutdown")) run.sawForcedShutdown = true;
  const event = parseKubefwdLine(line);
  if (event.kind === "fatal") run.lastFatal = event.message;
  else if (event.kind === "not_root") run.sawNotRoot = true;
  else if (event.kind === "clean_exit") run.sawCleanExit = true;
  else return event;
  return undefined;
}

/** Lets the next profile's child start (the start gate), once. */
export function releaseGate(run: Run): void {
  run.timers.clear("gate");
  const release = run.releaseGate;
  run.releaseGate = undefined;
  release?.();
}

/** Cancels everything the run had scheduled. */
export function endRunTimers(run: Run): void {
  run.timers.clearAll();
  run.kubeconfigWatch?.stop();
  run.health?.stop();
  releaseGate(run);
}

/** Addresses whose hosts lines the ended child left behind (see ForwardTracker.leftoverIps). */
export function leftoverIps(run: Run, status: ExitStatus): string[] {
  return run.tracker.leftoverIps({
    code: status.code,
    sawCleanExit: run.sawCleanExit,
    sawForcedShutdown: run.sawForcedShutdown,
    informer: kubefwdSupports(run.plan.version, "podInformer"),
  });
}

/**
 * Removes the hosts lines the ended child left (see {@link leftoverIps}), by address only: a name of ours
 * that now sits on another address's line was taken over by someone else (kubefwd moves a name, never
 * copies it), and removing it there would break that other forward. Never rejects; says what it did.
 */
export async function cleanLeftoverHosts(
  run: Run,
  status: ExitStatus,
  hosts: HostsFile,
  hostsPath: string,
  log: (level: "info" | "error", message: string) => void,
): Promise<void> {
  const ips = leftoverIps(run, status);
  if (ips.length === 0) return;
  const pid = run.handle?.pid;
  const list = ips.join(", ");
  try {
    const removed = await hosts.removeEntries(ips);
    log("info", `removed ${removed} leftover hosts name(s) of kubefwd pid ${pid} (addresses ${list})`);
  } catch (e) {
    log(
      "error",
      `could not remove leftover hosts entries (${list}) from ${hostsPath}: ${(e as Error).message}`,
    );
  }
}

/** How the policy treats an unplanned exit, and the error text the user sees (not-root: the sudoers hint). */
export function exitVerdict(
  run: Run,
  status: ExitStatus,
  settings: KubefwdSettings,
  env: Record<string, string>,
): { kind: ExitKind; reason: string; errorText: string } {
  const { kind, reason } = classifyExit(status, run.lastFatal, run.sawNotRoot);
  if (kind !== "not_root") return { kind, reason, errorText: reason };
  const errorText = notRootMessage({
    settings,
    viaSudo: run.plan.viaSudo,
    user: currentUserName(env),
    kubefwdPath: run.plan.kubefwdPath,
    detail: run.lastFatal && /^sudo: /.test(run.lastFatal) ? run.lastFatal : undefined,
    managedHelper: env[ROOT_HELPER_ENV] || undefined,
  });
  return { kind, reason, errorText };
}
