/**
 * The bookkeeping at the two ends of a run. Right after the spawn: the run's health checks, the start gate,
 * the owned child in the record, the startup grace, the kubeconfig watch and the exit hook. Once the child
 * has exited: its buffered output flushed (the last lines decide how the exit is classified), its uptime,
 * the log line, and its leftover hosts lines cleaned before the record forgets it. What these moments mean
 * for the profile's state stays with the runner, which hears of them through {@link RunLifecyclePort}.
 */
import type { KubefwdSettings, ProfileSpec } from "../config/types.ts";
import { cleanLeftoverHosts, endRunTimers, releaseGate, type Run } from "./child_run.ts";
import type { FileWatch } from "./file_watcher.ts";
import type { TrackerUpdate } from "./forward_tracker.ts";
import type { ForwardedServices } from "./pod_return_watch.ts";
import { cmdlineOf } from "./process_control.ts";
import { RunHealth } from "./run_health.ts";
import type { RunnerDeps } from "./runner_deps.ts";
import type { ExitStatus } from "./spawner.ts";
import type { LogEntry } from "./types.ts";
import { isoTime } from "../util/iso_time.ts";

/** What the bookkeeping needs of the runner that owns the run. */
export interface RunLifecyclePort {
  deps: RunnerDeps;
  /** The profile's config in effect now. */
  spec(): ProfileSpec;
  /** The kubefwd settings in effect now. */
  settings(): KubefwdSettings;
  /** The services the profile's children forwarded, kept across runs (see pod_return_watch.ts). */
  forwarded: ForwardedServices;
  /** The run is the current child, alive, and not being stopped. */
  isLive(run: Run): boolean;
  /** Applies what the run's tracker concluded. */
  apply(run: Run, update: TrackerUpdate): void;
  log(level: LogEntry["level"], message: string): void;
  internalError(where: string, e: unknown): void;
  /** Calls `onChange` once the profile's kubeconfig changed. */
  watchKubeconfig(onChange: () => void): FileWatch;
  /** The startup grace of `run` is over. */
  graceOver(run: Run): void;
  /** The kubeconfig changed while the child ran: kubefwd keeps the clients it built at startup. */
  kubeconfigChanged(run: Run): void;
  /** The child exited and its end is booked; what it means for the profile is the runner's to decide. */
  exited(run: Run, ended: EndedRun): void;
}

/** A run whose child has exited, as booked at its end. */
export interface EndedRun {
  status: ExitStatus;
  /** How long the child lived. */
  ranMs: number;
  /** How much of that the profile counted as running or degraded (0 when it never did). */
  runningMs: number;
  /** Settles once the leftover hosts lines are gone and the record forgot the child; never rejects. */
  cleanup: Promise<void>;
}

/** Everything a freshly spawned run needs; `release` opens the start gate for the next profile. */
export function beginRun(run: Run, release: () => void, port: RunLifecyclePort): void {
  const { clock, tuning, record } = port.deps;
  const handle = run.handle!;
  run.spawnedAt = clock.now();
  run.releaseGate = release;
  run.health = new RunHealth(run, port.spec(), port.settings(), port.deps, {
    isLive: () => port.isLive(run),
    apply: (update) => port.apply(run, update),
    internalError: (where, e) => port.internalError(where, e),
  }, port.forwarded);
  if (tuning.startStaggerMs > 0) {
    run.timers.set("gate", tuning.startStaggerMs, () => releaseGate(run));
  } else releaseGate(run);
  record.childSpawned({
    pid: handle.pid,
    cmdline: cmdlineOf(handle.argv),
    startedAt: isoTime(run.spawnedAt),
    viaSudo: run.plan.viaSudo,
  });
  port.log("info", `spawned kubefwd ${run.plan.version.raw} pid ${handle.pid}: ${run.plan.argv.join(" ")}`);
  run.timers.set("grace", tuning.startupGraceMs, () => port.graceOver(run));
  run.kubeconfigWatch = port.watchKubeconfig(() => port.kubeconfigChanged(run));
  handle.exited.then((status) => {
    try {
      port.exited(run, endRun(run, status, port));
    } catch (e) {
      port.internalError("exit handling", e);
      run.resolveDone();
    }
  });
}

/** Books the end of the run's child; `run.done` resolves once its hosts lines are cleaned. */
function endRun(run: Run, status: ExitStatus, port: RunLifecyclePort): EndedRun {
  // Flush buffered output first: the FATA line or the not-root text decides the classification.
  run.stdout.close();
  run.stderr.close();
  run.exit = status;
  endRunTimers(run);
  const { clock, record } = port.deps;
  const now = clock.now();
  const ranMs = Math.max(0, now - run.spawnedAt);
  const runningMs = run.runningSince === undefined ? 0 : now - run.runningSince;
  record.addUptime(ranMs);
  const what = status.signal !== null ? `killed by ${status.signal}` : `exit code ${status.code}`;
  const pid = run.handle?.pid;
  port.log(run.stopping ? "info" : "warn", `kubefwd pid ${pid} ended (${what}) after ${ranMs} ms`);
  const settings = port.settings();
  const hosts = port.deps.hostsFile(settings);
  const cleanup = cleanLeftoverHosts(run, status, hosts, settings.hostsPath, (level, m) => port.log(level, m))
    .finally(() => record.childGone(pid));
  cleanup.then(() => run.resolveDone());
  return { status, ranMs, runningMs, cleanup };
}
