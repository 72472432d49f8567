/**
 * One profile = one kubefwd child and the state machine around it: disabled, stopped, starting, running,
 * degraded, backoff, failed, stopping. Each start is planned afresh (launch_plan.ts); the child's output
 * and the probes feed a ForwardTracker (forward_tracker.ts), whose restart requests and forward states this
 * runner applies; failures go through the retry schedule (retry_schedule.ts, over the pure policy.ts).
 * Every transition is one TransitionEvent, worded and delivered by profile_journal.ts.
 *
 * Concurrency: public operations (start, stop, restart, update, dispose) run one at a time through a
 * SerialQueue; child output, exits and timers are handled synchronously and act only while their run is
 * still the live one (`#isLive`). The Supervisor owns the runners.
 */
import type { KubefwdSettings, ProfileSpec } from "../config/types.ts";
import type { KubefwdLine, KubefwdVersion } from "../kubefwd/types.ts";
import { endRunTimers, exitVerdict, readChildLine, type Run } from "./child_run.ts";
import { type FileWatch, watchFile } from "./file_watcher.ts";
import type { TrackerUpdate } from "./forward_tracker.ts";
import { spawnRun } from "./child_launch.ts";
import type { ActionOutcome } from "./outcome.ts";
import { childLogEntry, OutputLimiter, suppressedNotice } from "./output_limiter.ts";
import { type RetryPort, RetrySchedule } from "./retry_schedule.ts";
import { kubefwdPidOf, stopChild } from "./process_control.ts";
import { ForwardRestarts, type RestartPort } from "./forward_restarts.ts";
import { ForwardedServices } from "./pod_return_watch.ts";
import { beginRun, type EndedRun, type RunLifecyclePort } from "./run_lifecycle.ts";
import { emptyVerdict, forwardsVerdict, profileFacts } from "./run_view.ts";
import { SerialQueue } from "../util/async.ts";
import type { ProfileState, ProfileStatus, RestartReason } from "./types.ts";
import type { RunnerDeps } from "./runner_deps.ts";
import { profileStatus } from "./profile_status.ts";
import { ProfileJournal } from "./profile_journal.ts";

/** The per-profile state machine. Created and driven by the Supervisor only. */
export class ProfileRunner {
  /** The profile's name, fixed for the runner's life. */
  readonly name: string;
  #spec: ProfileSpec;
  #settings: KubefwdSettings;
  readonly #deps: RunnerDeps;
  readonly #journal: ProfileJournal;
  #state: ProfileState;
  #run: Run | undefined;
  /** The current failure (cleared once the profile is healthy again; the events keep it) and when it happened. */
  #lastError: { text: string; at: number } | null = null;
  readonly #retry: RetrySchedule;
  readonly #lifecycle: RunLifecyclePort;
  /** Every address any of this runner's children announced, for the final sweep at shutdown. */
  readonly #ipsEverAnnounced = new Set<string>();
  readonly #forwardRestarts: ForwardRestarts;
  /** The services this profile's children forwarded: a kubefwd without a pod watch may need a nudge. */
  readonly #forwarded = new ForwardedServices();
  #version: KubefwdVersion | undefined;
  readonly #queue = new SerialQueue();
  /** Bumped by every launch and stop: a start still being planned for an older generation is dropped. */
  #generation = 0;
  #cleanup: Promise<void> = Promise.resolve();
  /** The start being planned in the background, if any: shutdown waits for it to give up (it writes files). */
  #launching: Promise<void> | undefined;
  #disposed = false;
  #totalReconnects = 0;
  readonly #output: OutputLimiter;

  /** A runner for `spec`, stopped or disabled; nothing starts until the Supervisor calls start. */
  constructor(spec: ProfileSpec, settings: KubefwdSettings, deps: RunnerDeps) {
    this.name = spec.name;
    this.#spec = spec;
    this.#settings = settings;
    this.#deps = deps;
    this.#journal = new ProfileJournal(spec.name, deps);
    this.#state = this.enabled ? "stopped" : "disabled";
    this.#retry = new RetrySchedule(this.#retryPort());
    this.#lifecycle = this.#lifecyclePort();
    this.#forwardRestarts = new ForwardRestarts(this.#restartPort());
    const { logLinesPerSecond: linesPerSecond, logBurst: burst } = deps.tuning;
    this.#output = new OutputLimiter(deps.clock, { linesPerSecond, burst }, (n) => {
      this.#journal.log("warn", suppressedNotice(n, linesPerSecond));
    });
  }

  /** Current state. */
  get state(): ProfileState {
    return this.#state;
  }

  /** The profile's config. */
  get spec(): ProfileSpec {
    return this.#spec;
  }

  /** Effective enabled: the CLI's persisted choice, else the config's. */
  get enabled(): boolean {
    return this.#deps.record.enabledOverride ?? this.#spec.enabled;
  }

  /** True while a child process exists (spawned and not yet exited). */
  get childAlive(): boolean {
    return this.#run?.handle !== undefined && this.#run.exit === undefined;
  }

  /** True in the states where a child is being started or runs. */
  get active(): boolean {
    return this.#state === "starting" || this.#state === "running" || this.#state === "degraded";
  }

  /** Addresses any child of this profile announced since the daemon started (this profile's range). */
  get ipsEverAnnounced(): string[] {
    return [...this.#ipsEverAnnounced];
  }

  // -------------------------------------------------------------------------------------------------------
  // Public operations (queued)

  /** Starts the child now unless it already runs, with a fresh attempt counter (re-arms a failed profile). */
  start(reason: string): Promise<ActionOutcome> {
    return this.#queue.run(async () => {
      if (this.#disposed) return { kind: "shutting_down" };
      if (this.#state === "stopping") await this.#run?.done;
      if (this.active) return { kind: "already", state: this.#state === "starting" ? "starting" : "running" };
      const was = this.#state;
      this.#freshStart(reason);
      if (was === "failed" || was === "backoff") return { kind: "started", was };
      return this.enabled ? { kind: "started" } : { kind: "started", was: "disabled_in_config" };
    });
  }

  /** Stops the child (escalating as needed) and settles in `stopped`, or `disabled` when not enabled. */
  stop(reason: string): Promise<ActionOutcome> {
    return this.#queue.run(async () => {
      const target = this.enabled ? "stopped" : "disabled";
      if (this.#state === target) return { kind: "already", state: target };
      await this.#stopNow(reason, target);
      return { kind: "stopped" };
    });
  }

  /** Stops (if running) and starts again with a fresh attempt counter. */
  restart(reason: string): Promise<ActionOutcome> {
    return this.#queue.run(async () => {
      if (this.#disposed) return { kind: "shutting_down" };
      const wasAlive = this.childAlive;
      await this.#restartNow(`restarting: ${reason}`, reason, "manual");
      return { kind: wasAlive ? "restarted" : "started" };
    });
  }

  /**
   * New spec or kubefwd settings from a reload. When the effective `enabled` flipped, the profile starts or
   * stops into `disabled`; otherwise, when the spec changed, an active, backing-off or failed profile
   * restarts with it; stopped and disabled ones keep it for their next start. The new spec is the profile's
   * config at once (`spec`, `enabled`, status), even while an earlier operation still runs.
   */
  update(
    spec: ProfileSpec,
    settings: KubefwdSettings,
    change: { specChanged: boolean; enabledChanged: boolean },
  ): Promise<ActionOutcome> {
    this.#spec = spec;
    this.#settings = settings;
    return this.#queue.run(async () => {
      if (this.#disposed) return { kind: "shutting_down" };
      if (change.enabledChanged && !this.enabled) {
        if (this.#state !== "disabled") await this.#stopNow("disabled in the config", "disabled");
        return { kind: "disabled" };
      }
      if (change.enabledChanged && (this.#state === "disabled" || this.#state === "stopped")) {
        this.#freshStart("enabled in the config");
        return { kind: "started" };
      }
      if (change.specChanged && (this.active || this.#state === "backoff" || this.#state === "failed")) {
        await this.#restartNow("config changed", "config changed", "config_change");
        return { kind: "restarted" };
      }
      return { kind: "updated" };
    });
  }

  /** The machine woke up after `sleptMs` asleep: the live child's forwards and API server are checked now. */
  wake(sleptMs: number): void {
    const run = this.#run;
    if (run && this.#isLive(run)) run.health?.wake(sleptMs);
  }

  /** Stops for good (daemon shutdown or profile removed): no timer survives, nothing restarts. */
  dispose(reason: string): Promise<void> {
    this.#disposed = true;
    return this.#queue.run(async () => {
      await this.#stopNow(reason, this.enabled ? "stopped" : "disabled");
      this.#output.close();
      await this.#cleanup;
      if (this.#launching) {
        this.#journal.log("debug", "waiting for the start being planned to give up");
        await this.#launching;
      }
    });
  }

  // -------------------------------------------------------------------------------------------------------
  // Status

  /** The `status` view; `details` adds the last 20 transition events. */
  status(details = false): ProfileStatus {
    const run = this.childAlive ? this.#run : undefined;
    return profileStatus({
      name: this.name,
      spec: this.#spec,
      enabled: this.enabled,
      state: this.#state,
      record: this.#deps.record,
      run,
      kubefwdPid: run?.handle
        ? kubefwdPidOf(run.handle.pid, run.plan.viaSudo, this.#deps.stopOptions?.findChildren)
        : null,
      now: this.#deps.clock.now(),
      startupGraceMs: this.#deps.tuning.startupGraceMs,
      lastError: this.#lastError,
      nextRetryAt: this.#retry.nextRetryAt,
      version: this.#version,
      reconnects: this.#totalReconnects,
      details,
    });
  }

  // -------------------------------------------------------------------------------------------------------
  // Transitions

  #transition(to: ProfileState, reason: string, detail?: string, cause?: string): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.#journal.transitioned(from, to, reason, detail, cause);
  }

  /** The run is the current child, alive, and not being stopped by us. */
  #isLive(run: Run): boolean {
    return this.#run === run && run.exit === undefined && !run.stopping;
  }

  // -------------------------------------------------------------------------------------------------------
  // Starting

  /** A start by the user, a config change or a re-arm: the backoff starts from the beginning. */
  #freshStart(reason: string): void {
    this.#retry.reset();
    this.#launch(reason);
  }

  /** Enters `starting` and plans + spawns in the background. Synchronous state change. */
  #launch(reason: string): void {
    this.#retry.cancel();
    const generation = ++this.#generation;
    this.#transition("starting", reason);
    const launching = this.#planAndSpawn(generation).catch((e) => this.#journal.internalError("start", e))
      .finally(() => {
        if (this.#launching === launching) this.#launching = undefined;
      });
    this.#launching = launching;
  }

  async #planAndSpawn(generation: number): Promise<void> {
    const stale = () => generation !== this.#generation || this.#disposed;
    // Hosts lines of the previous child must be gone before the next one writes the same addresses.
    await this.#cleanup;
    if (stale()) return;
    const outcome = await spawnRun({
      spec: this.#spec,
      settings: this.#settings,
      deps: this.#deps,
      stale,
      onPlan: (plan) => {
        this.#version = plan.version;
        for (const note of plan.notes) this.#journal.log("debug", note);
        for (const warning of plan.warnings) this.#journal.log("warn", warning);
      },
      onLine: (run, line) => this.#onLine(run, line),
    });
    if (outcome.kind === "failed") return this.#retry.startFailed(outcome.error);
    if (outcome.kind === "stale") return;
    this.#run = outcome.run;
    beginRun(outcome.run, outcome.release, this.#lifecycle);
  }

  /** A child that announced nothing within the startup grace: `running` or `degraded` by the profile's terms. */
  #graceOver(run: Run): void {
    if (!this.#isLive(run) || this.#state !== "starting" || run.tracker.size > 0) return;
    run.runningSince = this.#deps.clock.now();
    const verdict = emptyVerdict(profileFacts(this.#spec));
    if (verdict.state === "running") this.#healthy(verdict.reason, verdict.detail);
    else this.#transition(verdict.state, verdict.reason, verdict.detail);
  }

  // -------------------------------------------------------------------------------------------------------
  // Output, forwards and probes

  #onLine(run: Run, line: KubefwdLine): void {
    try {
      if (this.#output.admit()) this.#deps.log.write(childLogEntry(this.name, line, this.#deps.clock.now()));
      const event = readChildLine(run, line);
      // Forward events count until the child is gone, also while it stops (its addresses need cleaning).
      if (event && this.#run === run && run.exit === undefined) {
        this.#apply(run, run.tracker.onEvent(event, this.#deps.clock.now()));
      }
    } catch (e) {
      this.#journal.internalError("output handling", e);
    }
  }

  /** Applies what the tracker concluded: forward states, probes, log lines, restarts. */
  #apply(run: Run, update: TrackerUpdate): void {
    if (update.announced) {
      if (this.#ipsEverAnnounced.size < this.#deps.tuning.maxAnnounced) {
        this.#ipsEverAnnounced.add(update.announced.ip);
      }
      if (update.newIp) this.#deps.record.childAnnounced(update.newIp);
      this.#deps.record.rememberForward(update.announced, run.plan.namespaces, this.#deps.clock.now());
      run.health?.schedule(this.#deps.tuning.firstProbeDelayMs);
    }
    if (update.probeNow) run.health?.schedule(0);
    if (update.retryHeld) run.timers.fireNow("heldRetry");
    if (update.fresh) this.#forwardRestarts.reset();
    if (update.reconnect) this.#totalReconnects++;
    if (update.changed) this.#refreshRunState(run, update.changed);
    if (update.warning) this.#journal.log("warn", update.warning);
    if (update.restart) this.#forwardRestarts.onRequest(run, update.restart);
  }

  /** starting/running/degraded from the forward states: `running` only once every forward answered. */
  #refreshRunState(run: Run, why: string): void {
    if (!this.#isLive(run) || !this.active) return;
    const verdict = forwardsVerdict(run.tracker.summary(), this.#state);
    if (verdict === undefined) return;
    run.runningSince ??= this.#deps.clock.now();
    if (verdict.state === "running") this.#healthy(verdict.reason, why);
    else this.#transition("degraded", verdict.reason, verdict.detail, why);
  }

  /** Enters `running` with every forward up: the failure that was is over (its events keep it). */
  #healthy(reason: string, detail: string): void {
    const cleared = this.#lastError;
    this.#lastError = null;
    this.#transition("running", reason, cleared ? `${detail}; clears last error: ${cleared.text}` : detail);
  }

  // -------------------------------------------------------------------------------------------------------
  // Stopping, restarting and exits

  /** Stops a live child (counted as a restart) and launches a new one with a fresh attempt counter. */
  async #restartNow(stopReason: string, startReason: string, why: RestartReason): Promise<void> {
    this.#forwardRestarts.reset(); // the user's restart or a config change: held failures get a fresh chance
    if (this.childAlive) this.#journal.countRestart(why);
    await this.#stopNow(stopReason, "stopped", true);
    if (this.#disposed) return;
    this.#freshStart(startReason);
  }

  /**
   * Stops whatever is going on: cancels timers and pending starts, stops the child with the escalation,
   * waits for its exit handling (hosts cleanup included), and settles in `target` — unless `transitional`,
   * where the caller moves on to `starting` itself.
   */
  async #stopNow(reason: string, target: ProfileState, transitional = false, stopMs?: number): Promise<void> {
    this.#retry.cancel();
    this.#generation++;
    const run = this.#run;
    if (run?.handle && run.exit === undefined) {
      run.stopping = true;
      endRunTimers(run);
      this.#transition("stopping", reason);
      const result = await stopChild(run.handle, {
        clock: this.#deps.clock,
        viaSudo: run.plan.viaSudo,
        stopTimeoutMs: Math.min(stopMs ?? Infinity, this.#settings.stopTimeoutMs),
        ...this.#deps.stopOptions,
        onStep: (m) => this.#journal.log("warn", m),
      });
      if (result.exit === null) {
        this.#journal.log(
          "error",
          `kubefwd pid ${run.handle.pid} did not exit even after SIGKILL; it stays recorded for the next daemon start`,
        );
        this.#run = undefined;
      } else {
        await run.done;
      }
    }
    if (!transitional) this.#transition(target, reason);
  }

  /** The child of `run` exited (booked by run_lifecycle.ts): an unplanned end goes to the retry schedule. */
  #onExit(run: Run, ended: EndedRun): void {
    this.#cleanup = this.#cleanup.then(() => ended.cleanup);
    if (run.stopping || this.#run !== run) return;

    const verdict = exitVerdict(run, ended.status, this.#settings, this.#deps.env);
    this.#run = undefined;
    this.#retry.childEnded(verdict, ended.ranMs, ended.runningMs);
  }

  // -------------------------------------------------------------------------------------------------------
  // What the collaborators get of the runner (each only what it needs)

  #lifecyclePort(): RunLifecyclePort {
    return {
      deps: this.#deps,
      spec: () => this.#spec,
      settings: () => this.#settings,
      forwarded: this.#forwarded,
      isLive: (run) => this.#isLive(run),
      apply: (run, update) => this.#apply(run, update),
      log: (level, message) => this.#journal.log(level, message),
      internalError: (where, e) => this.#journal.internalError(where, e),
      watchKubeconfig: (onChange) => this.#watchKubeconfig(onChange),
      graceOver: (run) => this.#graceOver(run),
      kubeconfigChanged: (run) => {
        this.#forwardRestarts.reset(); // a change: every held failure gets a fresh chance
        this.#forwardRestarts.request(run, "kubeconfig changed", undefined, false, "kubeconfig_change");
      },
      exited: (run, ended) => this.#onExit(run, ended),
    };
  }

  #retryPort(): RetryPort {
    return {
      clock: this.#deps.clock,
      random: () => this.#deps.random(),
      policy: () => this.#spec.retry,
      state: () => this.#state,
      disposed: () => this.#disposed,
      transition: (to, reason, detail) => this.#transition(to, reason, detail),
      setLastError: (text) => {
        this.#lastError = { text: this.#deps.record.mask(text), at: this.#deps.clock.now() };
      },
      countFailure: () => this.#deps.record.countFailure(),
      countRestart: (why) => this.#journal.countRestart(why),
      log: (level, message) => this.#journal.log(level, message),
      launch: (reason) => this.#launch(reason),
      enqueue: (job) => {
        this.#queue.run(() => {
          job();
          return Promise.resolve();
        }).catch((e) => this.#journal.internalError("re-arm", e));
      },
      watchKubeconfig: (onChange) => this.#watchKubeconfig(onChange),
    };
  }

  #restartPort(): RestartPort {
    return {
      spec: () => this.#spec,
      clock: this.#deps.clock,
      random: () => this.#deps.random(),
      isLive: (run) => this.#isLive(run),
      apply: (run, update) => this.#apply(run, update),
      log: (level, message) => this.#journal.log(level, message),
      internalError: (where, e) => this.#journal.internalError(where, e),
      enqueue: (run, job) => {
        this.#queue.run(async () => {
          if (!this.#isLive(run) || this.#disposed) return;
          await job();
        }).catch((e) => this.#journal.internalError("restart", e));
      },
      countRestart: (why) => this.#journal.countRestart(why),
      stop: (reason, stopMs) => this.#stopNow(reason, "stopped", true, stopMs),
      disposed: () => this.#disposed,
      launch: (reason) => this.#launch(reason),
      backoff: (delayMs, reason, detail, retry) => this.#retry.backoff(delayMs, reason, detail, retry),
      quickStopMs: this.#deps.tuning.quickStopMs,
    };
  }

  #watchKubeconfig(onChange: () => void): FileWatch {
    return watchFile({
      clock: this.#deps.clock,
      fingerprint: this.#deps.fingerprint,
      path: this.#spec.kubeconfig,
      intervalMs: this.#deps.tuning.kubeconfigPollMs,
      onChange,
      onError: (e) => this.#journal.internalError("kubeconfig watch", e),
    });
  }
}
