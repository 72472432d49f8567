/**
 * One spawned kubefwd child and everything learned from it: its plan, its forwards (a ForwardTracker), its
 * timers, the lines that decide how its exit is classified. A run lives exactly as long as one child; the
 * runner holds the current one.
 */
import type { Clock } from "../clock.ts";
import type { KubefwdSettings, ProfileSpec } from "../config/types.ts";
import { classifyExit, OutputAssembler } from "../kubefwd/output.ts";
import type { KubefwdLine } from "../kubefwd/types.ts";
import { kubefwdSupports } from "../kubefwd/version.ts";
import type { FileWatch } from "./file_watcher.ts";
import { ForwardTracker } from "./forward_tracker.ts";
import type { LaunchPlan } from "./launch_plan.ts";
import { NamedTimers } from "./named_timers.ts";
import type { ExitKind } from "./policy.ts";
import { currentUserName, notRootMessage } from "./privilege.ts";
import type { ChildHandle, ExitStatus } from "./spawner.ts";
import type { RunnerTuning } from "./tuning.ts";

/**
 * The timers of one run: probes, the startup grace, the 1.22.x dead-forward debounce, the start stagger, the
 * slow retry of a failure the restart throttle holds.
 */
export type RunTimer = "probe" | "grace" | "deadForward" | "gate" | "heldRetry";

/** One spawned child; see the module comment. */
export interface Run {
  plan: LaunchPlan;
  handle?: ChildHandle;
  tracker: ForwardTracker;
  spawnedAt: number;
  runningSince?: number;
  exit?: ExitStatus;
  /** The runner is stopping this child: its exit is no failure. */
  stopping: boolean;
  restartRequested: boolean;
  sawNotRoot: boolean;
  sawCleanExit: boolean;
  sawForcedShutdown: boolean;
  lastFatal?: string;
  stdout: OutputAssembler;
  stderr: OutputAssembler;
  timers: NamedTimers<RunTimer>;
  probing: boolean;
  kubeconfigWatch?: FileWatch;
  releaseGate?: () => void;
  /** Resolves when the exit has been fully handled (hosts cleaned, state updated). */
  done: Promise<void>;
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
  });
  return { kind, reason, errorText };
}
