/**
 * One profile = one kubefwd child, and the state machine of ../shared/DESIGN.md around it (issue #3 items 6–9):
 * disabled, stopped, starting, running, degraded, backoff, failed, stopping. Each (re)start resolves the
 * version, the excluded services and the `-z` file afresh, spawns through the injected Spawner, parses the
 * child's output into forward records, probes them, restarts the child when forwards die for good, and
 * classifies exits into backoff / failed / stopped. Every transition is one TransitionEvent.
 *
 * Concurrency model: public operations (start, stop, restart, update) run one at a time through a per-runner
 * queue; child output, exits and timers are handled synchronously and check that they still belong to the
 * current run (`#run`) before acting. The Supervisor owns the runners and serialises nothing else.
 */
import type { Clock, TimerHandle } from "../clock.ts";
import type { KubefwdSettings, ProfileSpec } from "../config/types.ts";
import type { Prober } from "../health/tcp_probe.ts";
import {
  buildKubefwdArgs,
  DEFAULT_HOSTS_PATH,
  KubefwdArgsError,
  kubefwdArgsWarnings,
} from "../kubefwd/argv.ts";
import {
  buildExcludeFieldSelector,
  resolveExcludedServices,
  type ServiceLister,
} from "../kubefwd/exclude.ts";
import { writeFwdConf } from "../kubefwd/fwdconf.ts";
import { addressesWithNames, type HostsFile } from "../kubefwd/hosts.ts";
import { classifyExit, OutputAssembler, parseKubefwdLine, splitServiceKey } from "../kubefwd/output.ts";
import type { KubefwdEvent, KubefwdLine, KubefwdVersion } from "../kubefwd/types.ts";
import { kubefwdSupports } from "../kubefwd/version.ts";
import type { LogSink } from "../log/types.ts";
import { MAX_PERSISTED_EVENTS, type PersistedProfile } from "../state/types.ts";
import { attemptsAfterStableRun, decideAfterExit, type ExitKind, restartDelayMs } from "./policy.ts";
import {
  childEnvironment,
  currentUserName,
  notRootMessage,
  planInvocation,
  resolveExecutable,
} from "./privilege.ts";
import { cmdlineOf, stopChild, type StopOptions } from "./process_control.ts";
import type { ChildHandle, ExitStatus, Spawner } from "./spawner.ts";
import type { ForwardStatus, LogEntry, ProfileState, ProfileStatus, TransitionEvent } from "./types.ts";

/** Tunables with production defaults; tests shorten them. */
export interface RunnerTuning {
  /** A child alive this long without announcing forwards counts as running (no matching services). */
  startupGraceMs: number;
  /** First probe of a newly announced forward (kubefwd listens only after the pod is found). */
  firstProbeDelayMs: number;
  /** How often a `failed` (permanent) profile checks whether its kubeconfig changed. */
  kubeconfigPollMs: number;
  /** How long a forward of kubefwd ≥ 1.24 may stay down (its own reconnects) before the child restarts. */
  autoReconnectGraceMs: number;
  /** Child output forwarded to the log: sustained lines per second per profile … */
  logLinesPerSecond: number;
  /** … and the burst allowed above it. */
  logBurst: number;
  /** Cap of remembered announced IPs/hostnames and forward records per child (IP churn, floods). */
  maxAnnounced: number;
  /** Wait before spawning while another profile's kubefwd is starting (/etc/hosts has no locking). */
  startStaggerMs: number;
  /**
   * kubefwd's informers retry a failing list forever without exiting; when `failed to list` lines keep
   * coming for this long (no gap longer than {@link listFailureGapMs}), the child is restarted: a fresh
   * process re-reads credentials and builds new clients, or fails its start and goes to backoff.
   */
  listFailureRestartMs: number;
  /** A quiet period this long ends a run of list failures (client-go's relist backoff caps at 30 s). */
  listFailureGapMs: number;
  /**
   * kubefwd ≥ 1.23 gives a replaced pod a new address and never reuses one; at 255 in a /24 it runs out.
   * Once it has handed out this many in one /24 in a run, and some of them only because pods were
   * replaced (more addresses than hostnames), the child is restarted while every forward still works.
   */
  ipChurnRestartAt: number;
}

/** Production tuning. */
export const DEFAULT_TUNING: RunnerTuning = {
  startupGraceMs: 20_000,
  firstProbeDelayMs: 500,
  kubeconfigPollMs: 5_000,
  autoReconnectGraceMs: 30_000,
  logLinesPerSecond: 200,
  logBurst: 400,
  maxAnnounced: 4096,
  startStaggerMs: 1_500,
  listFailureRestartMs: 90_000,
  listFailureGapMs: 45_000,
  ipChurnRestartAt: 240,
};

/** Everything a runner needs from outside; the Supervisor builds it. */
export interface RunnerDeps {
  spawner: Spawner;
  clock: Clock;
  log: LogSink;
  prober: Prober;
  serviceLister: ServiceLister;
  hostsFile: (settings: KubefwdSettings) => HostsFile;
  /** Version of the kubefwd at an absolute path (cached by the Supervisor per path + mtime). */
  resolveVersion: (path: string) => Promise<KubefwdVersion>;
  isRoot: boolean;
  /** Directory of the generated `-z` files. */
  fwdConfDir: string;
  /** The daemon's environment, the base of the child's. */
  env: Record<string, string>;
  home: string;
  random: () => number;
  /** This profile's slice of the persisted state, mutated in place. */
  persisted: PersistedProfile;
  persist: () => void;
  emit: (event: TransitionEvent) => void;
  /** Serialises child starts across profiles; resolves with a release function. */
  startGate: () => Promise<() => void>;
  /** Fingerprint of a file (mtime + size), "missing" when absent: detects kubeconfig edits. */
  fingerprint: (path: string) => Promise<string>;
  /**
   * Reads the hosts file for the health probes: a forward whose address lost its hosts line counts as a
   * failed probe. Undefined: probes check the listener only.
   */
  readHosts?: (path: string) => Promise<string>;
  /** Overrides of the stop escalation (tests, sudo kill). */
  stopOptions?: Partial<Pick<StopOptions, "secondTermWaitMs" | "killWaitMs" | "sudoKill" | "findChildren">>;
  tuning: RunnerTuning;
}

/** A start that failed before or at spawn, with how to treat it. */
class StartError extends Error {
  readonly kind: ExitKind;
  constructor(kind: ExitKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

interface ForwardRecord {
  status: ForwardStatus;
  probeFailures: number;
  /** Was up at least once: a forward that never came up may still be waiting for its pod. */
  everUp: boolean;
}

/** One spawned child and everything learned from it. */
interface Run {
  gen: number;
  handle?: ChildHandle;
  viaSudo: boolean;
  kubefwdPath: string;
  version?: KubefwdVersion;
  spawnedAt: number;
  runningSince?: number;
  exit?: ExitStatus;
  stoppedByUs: boolean;
  sawNotRoot: boolean;
  sawCleanExit: boolean;
  sawForcedShutdown: boolean;
  lastFatal?: string;
  stdout?: OutputAssembler;
  stderr?: OutputAssembler;
  announcedIps: Set<string>;
  announcedHostnames: Set<string>;
  forwards: Map<string, ForwardRecord>;
  serviceFailures: Map<string, number[]>;
  /** Addresses and hostnames announced per /24 ("127.3.27"): how close kubefwd is to running out. */
  ipBlocks: Map<string, { ips: Set<string>; hostnames: Set<string> }>;
  /** The current run of `failed to list` lines: first and latest. */
  listFailures?: { since: number; last: number };
  reconnects: number;
  restartRequested: boolean;
  probeTimer?: TimerHandle;
  probeDueAt?: number;
  probing: boolean;
  graceTimer?: TimerHandle;
  deadForwardTimer?: TimerHandle;
  /** Polls the kubeconfig while the child lives: kubefwd never re-reads it, so a change needs a restart. */
  kubeconfigTimer?: TimerHandle;
  releaseGate?: () => void;
  gateTimer?: TimerHandle;
  /** Resolves when the exit has been fully handled (hosts cleaned, state updated). */
  done: Promise<void>;
  resolveDone: () => void;
}

/** What the user verbs report per profile. */
export type ActionOutcome = string;

const LEVEL_OF: Record<string, LogEntry["level"]> = {
  FATA: "error",
  ERRO: "error",
  WARN: "warn",
  DEBU: "debug",
  INFO: "info",
};

/** The per-profile state machine. Created and driven by the Supervisor only. */
export class ProfileRunner {
  readonly name: string;
  #spec: ProfileSpec;
  #settings: KubefwdSettings;
  readonly #deps: RunnerDeps;
  #state: ProfileState;
  #attempt = 0;
  #gen = 0;
  #run: Run | undefined;
  #lastError: string | null = null;
  #nextRetryAt: number | null = null;
  #retryTimer: TimerHandle | undefined;
  #watchTimer: TimerHandle | undefined;
  /** Every address any of this runner's children announced, for the final sweep at shutdown. */
  #ipsEverAnnounced = new Set<string>();
  /** When recent restarts for dead forwards happened (loop guard). */
  #forwardRestarts: number[] = [];
  #failedFingerprint: string | undefined;
  #version: KubefwdVersion | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #pending = 0;
  #cleanup: Promise<void> = Promise.resolve();
  #disposed = false;
  #totalReconnects = 0;
  // Log rate limit (token bucket on the injected clock).
  #tokens: number;
  #tokensAt: number;
  #suppressed = 0;
  #suppressTimer: TimerHandle | undefined;

  constructor(spec: ProfileSpec, settings: KubefwdSettings, deps: RunnerDeps) {
    this.name = spec.name;
    this.#spec = spec;
    this.#settings = settings;
    this.#deps = deps;
    this.#state = this.enabled ? "stopped" : "disabled";
    this.#tokens = deps.tuning.logBurst;
    this.#tokensAt = deps.clock.now();
  }

  /** Current state. */
  get state(): ProfileState {
    return this.#state;
  }

  /** The profile's config. */
  get spec(): ProfileSpec {
    return this.#spec;
  }

  /** The kubefwd settings in effect. */
  get settings(): KubefwdSettings {
    return this.#settings;
  }

  /** Effective enabled: the CLI's persisted choice, else the config's. */
  get enabled(): boolean {
    return this.#deps.persisted.enabledOverride ?? this.#spec.enabled;
  }

  /** True while a child process exists (spawned and not yet exited). */
  get childAlive(): boolean {
    const run = this.#run;
    return run !== undefined && run.handle !== undefined && run.exit === undefined;
  }

  /** True in the states where a child is being started or runs. */
  get active(): boolean {
    return this.#state === "starting" || this.#state === "running" || this.#state === "degraded";
  }

  // -------------------------------------------------------------------------------------------------------
  // Public operations (queued)

  /**
   * Starts the child now unless it already runs. Resets the attempt counter (a user start, an enable or a
   * config change re-arms a failed profile). Resolves once the start is under way, not when it is up.
   */
  start(reason: string): Promise<ActionOutcome> {
    return this.#enqueue(async () => {
      if (this.#disposed) return "shutting down";
      if (this.#state === "stopping") await this.#run?.done;
      if (this.active) return this.#state === "starting" ? "already starting" : "already running";
      const was = this.#state;
      this.#attempt = 0;
      this.#launch(reason);
      if (was === "failed") return "started (was failed)";
      if (was === "backoff") return "started now (was waiting to retry)";
      if (!this.enabled) return "started (disabled in config: until stopped or the daemon restarts)";
      return "started";
    });
  }

  /** Stops the child (escalating as needed) and settles in `stopped`, or `disabled` when not enabled. */
  stop(reason: string): Promise<ActionOutcome> {
    return this.#enqueue(async () => {
      const target: ProfileState = this.enabled ? "stopped" : "disabled";
      if (this.#state === target) return target === "disabled" ? "already disabled" : "already stopped";
      await this.#stopNow(reason, target);
      return "stopped";
    });
  }

  /** Stops (if running) and starts again with a fresh attempt counter. */
  restart(reason: string): Promise<ActionOutcome> {
    return this.#enqueue(async () => {
      if (this.#disposed) return "shutting down";
      const wasAlive = this.childAlive;
      if (wasAlive) {
        this.#deps.persisted.counters.restarts++;
        this.#deps.persist();
      }
      await this.#stopNow(`restarting: ${reason}`, "stopped", true);
      this.#attempt = 0;
      this.#launch(reason);
      return wasAlive ? "restarted" : "started";
    });
  }

  /**
   * New spec or kubefwd settings from a reload. When the effective `enabled` flipped, the profile starts or
   * stops into `disabled`; otherwise, when the spec changed, an active, backing-off or failed profile
   * restarts with it (a changed config re-arms a permanent failure); stopped and disabled ones keep it for
   * their next start.
   */
  update(
    spec: ProfileSpec,
    settings: KubefwdSettings,
    change: { specChanged: boolean; enabledChanged: boolean },
  ): Promise<ActionOutcome> {
    return this.#enqueue(async () => {
      this.#spec = spec;
      this.#settings = settings;
      if (this.#disposed) return "shutting down";
      if (change.enabledChanged && !this.enabled) {
        if (this.#state === "disabled") return "disabled";
        await this.#stopNow("disabled in the config", "disabled");
        return "disabled";
      }
      if (
        change.enabledChanged && this.enabled && (this.#state === "disabled" || this.#state === "stopped")
      ) {
        this.#attempt = 0;
        this.#launch("enabled in the config");
        return "started";
      }
      if (change.specChanged && (this.active || this.#state === "backoff" || this.#state === "failed")) {
        if (this.childAlive) {
          this.#deps.persisted.counters.restarts++;
          this.#deps.persist();
        }
        await this.#stopNow("config changed", "stopped", true);
        this.#attempt = 0;
        this.#launch("config changed");
        return "restarted";
      }
      return "updated";
    });
  }

  /** Stops for good (daemon shutdown or profile removed): no timer survives, nothing restarts. */
  /** Addresses any child of this profile announced since the daemon started (this profile's range). */
  get ipsEverAnnounced(): string[] {
    return [...this.#ipsEverAnnounced];
  }

  dispose(reason: string): Promise<void> {
    this.#disposed = true;
    return this.#enqueue(async () => {
      await this.#stopNow(reason, this.enabled ? "stopped" : "disabled");
      this.#clearTimer("suppress");
      this.#flushSuppressed();
      await this.#cleanup;
    }).then(() => {});
  }

  /**
   * Runs operations one at a time. When nothing is queued the operation starts synchronously, so e.g. a
   * reconcile's start is visible as `starting` before reconcile returns.
   */
  #enqueue<T>(op: () => Promise<T>): Promise<T> {
    let next: Promise<T>;
    if (this.#pending === 0) {
      try {
        next = op();
      } catch (e) {
        next = Promise.reject(e);
      }
    } else {
      next = this.#queue.then(op, op);
    }
    this.#pending++;
    const settled = next.catch(() => {}).finally(() => this.#pending--);
    this.#queue = settled;
    return next;
  }

  // -------------------------------------------------------------------------------------------------------
  // Status

  /** The `status` view; `details` adds the last 20 transition events. */
  status(details = false): ProfileStatus {
    const now = this.#deps.clock.now();
    const run = this.#run;
    const alive = this.childAlive && run !== undefined;
    const counters = this.#deps.persisted.counters;
    const current = alive ? now - run.spawnedAt : 0;
    const forwards = alive
      ? [...run.forwards.values()].map((f) => ({ ...f.status })).sort((a, b) =>
        a.hostname === b.hostname ? a.port - b.port : a.hostname < b.hostname ? -1 : 1
      )
      : [];
    const status: ProfileStatus = {
      name: this.name,
      enabled: this.enabled,
      enabledSource: this.#deps.persisted.enabledOverride !== undefined ? "cli" : "config",
      state: this.#state,
      pid: alive ? run.handle!.pid : null,
      startedAt: alive ? iso(run.spawnedAt) : null,
      uptimeSeconds: Math.floor(current / 1000),
      restarts: counters.restarts,
      failures: counters.failures,
      lastError: this.#lastError,
      nextRetryAt: this.#nextRetryAt === null ? null : iso(this.#nextRetryAt),
      context: this.#spec.context ?? null,
      namespaces: [...this.#spec.namespaces],
      kubefwdVersion: this.#version?.raw ?? null,
      forwards,
      totalUptimeSeconds: Math.floor((counters.totalUptimeMs + current) / 1000),
      reconnects: this.#totalReconnects,
    };
    if (this.#deps.persisted.baseIp !== undefined) status.baseIp = this.#deps.persisted.baseIp;
    if (details) status.events = this.#deps.persisted.events.slice(-20);
    return status;
  }

  // -------------------------------------------------------------------------------------------------------
  // Transitions

  #transition(to: ProfileState, reason: string, detail?: string): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    if (to !== "backoff") this.#nextRetryAt = null;
    const event: TransitionEvent = { at: iso(this.#deps.clock.now()), profile: this.name, from, to, reason };
    if (detail !== undefined) event.detail = detail;
    const events = this.#deps.persisted.events;
    events.push(event);
    if (events.length > MAX_PERSISTED_EVENTS) events.splice(0, events.length - MAX_PERSISTED_EVENTS);
    this.#deps.persist();
    this.#daemonLog(
      to === "failed" ? "error" : to === "backoff" || to === "degraded" ? "warn" : "info",
      `${from} → ${to}: ${reason}${detail ? ` (${detail})` : ""}`,
    );
    try {
      this.#deps.emit(event);
    } catch {
      // A listener's bug must not break the state machine.
    }
  }

  /** A bug in this module: logged with its stack, never allowed to take the daemon down. */
  #internalError(where: string, e: unknown): void {
    const err = e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e);
    try {
      this.#daemonLog("error", `internal error in ${where}: ${err}`);
    } catch {
      // the log itself failed; nothing more to do
    }
  }

  #daemonLog(level: LogEntry["level"], message: string): void {
    this.#deps.log.write({
      at: iso(this.#deps.clock.now()),
      level,
      profile: this.name,
      source: "daemon",
      message,
    });
  }

  // -------------------------------------------------------------------------------------------------------
  // Starting

  /** Enters `starting` and prepares + spawns in the background. Synchronous state change. */
  #launch(reason: string): void {
    this.#clearTimer("retry");
    this.#clearTimer("watch");
    this.#failedFingerprint = undefined;
    const gen = ++this.#gen;
    this.#transition("starting", reason);
    this.#prepareAndSpawn(gen).catch((e) => this.#internalError("start", e));
  }

  async #prepareAndSpawn(gen: number): Promise<void> {
    const stale = () => gen !== this.#gen || this.#disposed;
    let run: Run;
    let argv: string[];
    let env: Record<string, string>;
    let release: (() => void) | undefined;
    try {
      // Hosts lines of the previous child must be gone before the next one writes the same addresses.
      await this.#cleanup;
      if (stale()) return;
      env = childEnvironment(this.#deps.env, this.#deps.home);
      const kubefwdPath = resolveExecutable(this.#settings.path, env.PATH);
      if (kubefwdPath === undefined) {
        throw new StartError("transient", `kubefwd not found: ${this.#settings.path} (PATH=${env.PATH})`);
      }
      let version: KubefwdVersion;
      try {
        version = await this.#deps.resolveVersion(kubefwdPath);
      } catch (e) {
        throw new StartError("transient", `cannot detect the kubefwd version: ${(e as Error).message}`);
      }
      if (stale()) return;
      this.#version = version;
      let fieldSelector: string | undefined;
      if (this.#spec.excludeServices.length > 0) {
        try {
          const excluded = await resolveExcludedServices(this.#deps.serviceLister, this.#spec);
          fieldSelector = buildExcludeFieldSelector(excluded);
          this.#daemonLog("debug", `exclude_services resolved to [${excluded.join(", ")}]`);
        } catch (e) {
          throw new StartError(
            "transient",
            `exclude_services could not be resolved, so kubefwd was not started: ${(e as Error).message}`,
          );
        }
        if (stale()) return;
      }
      const baseIp = this.#deps.persisted.baseIp;
      if (baseIp === undefined) throw new StartError("permanent", "internal: no IP range assigned");
      let fwdConfPath: string;
      try {
        fwdConfPath = await writeFwdConf(this.#deps.fwdConfDir, this.name, baseIp);
      } catch (e) {
        throw new StartError("transient", `cannot write the -z file: ${(e as Error).message}`);
      }
      if (stale()) return;
      let args: string[];
      try {
        args = buildKubefwdArgs(this.#spec, this.#settings, version, { fwdConfPath, fieldSelector });
      } catch (e) {
        if (e instanceof KubefwdArgsError) throw new StartError("permanent", e.message);
        throw e;
      }
      for (const w of kubefwdArgsWarnings(this.#settings, version)) this.#daemonLog("warn", w);
      const plan = planInvocation(this.#settings, this.#deps.isRoot);
      if (plan.viaSudo) {
        const sudo = resolveExecutable("sudo", env.PATH);
        if (sudo === undefined) {
          throw new StartError(
            "not_root",
            `kubefwd needs root and sudo was not found on PATH (${env.PATH}); install sudo or run the daemon as root`,
          );
        }
        argv = [sudo, ...plan.prefix.slice(1), kubefwdPath, ...args];
      } else {
        argv = [kubefwdPath, ...args];
      }
      release = await this.#deps.startGate();
      if (stale()) {
        release();
        return;
      }
      run = this.#newRun(gen, kubefwdPath, plan.viaSudo, version);
    } catch (e) {
      release?.();
      if (stale()) return;
      const err = e instanceof StartError
        ? e
        : new StartError("transient", `start failed: ${(e as Error).message}`);
      this.#startFailed(err);
      return;
    }

    const clock = this.#deps.clock;
    run.stdout = new OutputAssembler("stdout", (line) => this.#onLine(run, line), clock);
    run.stderr = new OutputAssembler("stderr", (line) => this.#onLine(run, line), clock);
    this.#run = run;
    let handle: ChildHandle;
    try {
      handle = this.#deps.spawner.spawn({
        argv,
        env,
        onOutput: (stream, chunk) => (stream === "stdout" ? run.stdout : run.stderr)?.push(chunk),
      });
    } catch (e) {
      release();
      run.stdout.close();
      run.stderr.close();
      this.#run = undefined;
      this.#startFailed(new StartError("transient", `cannot start ${argv[0]}: ${(e as Error).message}`));
      return;
    }
    run.handle = handle;
    run.spawnedAt = clock.now();
    run.releaseGate = release;
    if (this.#deps.tuning.startStaggerMs > 0) {
      run.gateTimer = clock.setTimeout(() => this.#releaseGate(run), this.#deps.tuning.startStaggerMs);
    } else {
      this.#releaseGate(run);
    }
    this.#deps.persisted.child = {
      pid: handle.pid,
      cmdline: cmdlineOf(handle.argv),
      startedAt: iso(run.spawnedAt),
      viaSudo: run.viaSudo,
      announcedIps: [],
      announcedHostnames: [],
    };
    this.#deps.persist();
    this.#daemonLog("info", `spawned kubefwd ${run.version?.raw ?? ""} pid ${handle.pid}: ${argv.join(" ")}`);
    run.graceTimer = clock.setTimeout(() => {
      run.graceTimer = undefined;
      if (this.#run === run && this.#state === "starting" && run.exit === undefined) {
        run.runningSince = clock.now();
        this.#transition(
          "running",
          "kubefwd is up but announced no forwards",
          "no service matches the namespaces/labels yet",
        );
      }
    }, this.#deps.tuning.startupGraceMs);
    this.#watchKubeconfigWhileRunning(run);
    handle.exited.then((status) => {
      try {
        this.#onExit(run, status);
      } catch (e) {
        this.#internalError("exit handling", e);
        run.resolveDone();
      }
    });
  }

  #newRun(gen: number, kubefwdPath: string, viaSudo: boolean, version: KubefwdVersion): Run {
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => resolveDone = r);
    return {
      gen,
      viaSudo,
      kubefwdPath,
      version,
      spawnedAt: this.#deps.clock.now(),
      stoppedByUs: false,
      sawNotRoot: false,
      sawCleanExit: false,
      sawForcedShutdown: false,
      announcedIps: new Set(),
      ipBlocks: new Map(),
      announcedHostnames: new Set(),
      forwards: new Map(),
      serviceFailures: new Map(),
      reconnects: 0,
      restartRequested: false,
      probing: false,
      done,
      resolveDone,
    };
  }

  #releaseGate(run: Run): void {
    if (run.gateTimer !== undefined) this.#deps.clock.clearTimeout(run.gateTimer);
    run.gateTimer = undefined;
    const release = run.releaseGate;
    run.releaseGate = undefined;
    release?.();
  }

  /** A start that never produced a child: counts as a failure and follows the restart policy. */
  #startFailed(err: StartError): void {
    this.#deps.persisted.counters.failures++;
    this.#deps.persist();
    this.#daemonLog("error", err.message);
    this.#applyDecision(err.kind, err.message, err.message);
  }

  /** backoff / failed after an unplanned end of a run (or of a start attempt). */
  #applyDecision(kind: ExitKind, reason: string, errorText: string): void {
    const decision = decideAfterExit({
      policy: this.#spec.retry,
      attempt: this.#attempt,
      exitKind: kind,
      stoppedByUs: false,
      random: this.#deps.random(),
    });
    if (decision.action === "restart") {
      this.#attempt = decision.attempt;
      this.#lastError = errorText;
      const at = this.#deps.clock.now() + decision.delayMs;
      this.#transition("backoff", reason, `retry ${decision.attempt} in ${decision.delayMs} ms`);
      this.#nextRetryAt = at;
      this.#retryTimer = this.#deps.clock.setTimeout(() => {
        this.#retryTimer = undefined;
        if (this.#state !== "backoff" || this.#disposed) return;
        this.#deps.persisted.counters.restarts++;
        this.#deps.persist();
        this.#launch(`retry ${this.#attempt} after backoff`);
      }, decision.delayMs);
      return;
    }
    if (decision.action === "fail") {
      this.#lastError = kind === "transient" ? `${decision.reason}; last error: ${errorText}` : errorText;
      this.#transition("failed", kind === "transient" ? decision.reason : reason);
      if (kind === "permanent") this.#watchKubeconfig();
      return;
    }
    this.#transition(this.enabled ? "stopped" : "disabled", reason);
  }

  /**
   * While a child runs, restart it gracefully when its kubeconfig changes (new context, credentials or
   * server): kubefwd keeps the clients it built at startup and would go on with stale ones.
   */
  #watchKubeconfigWhileRunning(run: Run): void {
    const path = this.#spec.kubeconfig;
    let baseline: string | undefined;
    const poll = async () => {
      run.kubeconfigTimer = undefined;
      if (this.#run !== run || run.exit !== undefined || this.#disposed) return;
      let fp: string;
      try {
        fp = await this.#deps.fingerprint(path);
      } catch {
        fp = "error";
      }
      if (this.#run !== run || run.exit !== undefined || this.#disposed) return;
      if (baseline === undefined) baseline = fp;
      else if (fp !== baseline) {
        this.#requestChildRestart(run, "kubeconfig changed");
        return;
      }
      run.kubeconfigTimer = this.#deps.clock.setTimeout(
        () => poll().catch((e) => this.#internalError("kubeconfig watch", e)),
        this.#deps.tuning.kubeconfigPollMs,
      );
    };
    poll().catch((e) => this.#internalError("kubeconfig watch", e));
  }

  /** While failed permanently, re-arm when the kubeconfig file changes (cheap periodic stat). */
  #watchKubeconfig(): void {
    const path = this.#spec.kubeconfig;
    const gen = this.#gen;
    const poll = async () => {
      this.#watchTimer = undefined;
      if (this.#state !== "failed" || gen !== this.#gen || this.#disposed) return;
      let fp: string;
      try {
        fp = await this.#deps.fingerprint(path);
      } catch {
        fp = "error";
      }
      if (this.#state !== "failed" || gen !== this.#gen || this.#disposed) return;
      if (this.#failedFingerprint === undefined) this.#failedFingerprint = fp;
      else if (fp !== this.#failedFingerprint) {
        this.#enqueue(() => {
          if (this.#state === "failed" && gen === this.#gen && !this.#disposed) {
            this.#attempt = 0;
            this.#launch("kubeconfig changed");
          }
          return Promise.resolve();
        }).catch((e) => this.#internalError("re-arm", e));
        return;
      }
      this.#watchTimer = this.#deps.clock.setTimeout(
        () => poll().catch((e) => this.#internalError("kubeconfig watch", e)),
        this.#deps.tuning.kubeconfigPollMs,
      );
    };
    poll().catch((e) => this.#internalError("kubeconfig watch", e));
  }

  // -------------------------------------------------------------------------------------------------------
  // Output

  #onLine(run: Run, line: KubefwdLine): void {
    try {
      this.#handleLine(run, line);
    } catch (e) {
      this.#internalError("output handling", e);
    }
  }

  #handleLine(run: Run, line: KubefwdLine): void {
    this.#logChildLine(line);
    if (line.stream === "stdout" && line.message.startsWith("Forced shutdown")) run.sawForcedShutdown = true;
    let event: KubefwdEvent;
    try {
      event = parseKubefwdLine(line);
    } catch {
      return;
    }
    this.#onEvent(run, event);
  }

  #logChildLine(line: KubefwdLine): void {
    const { clock, tuning } = this.#deps;
    const now = clock.now();
    this.#tokens = Math.min(
      tuning.logBurst,
      this.#tokens + ((now - this.#tokensAt) / 1000) * tuning.logLinesPerSecond,
    );
    this.#tokensAt = now;
    if (this.#tokens < 1) {
      this.#suppressed++;
      if (this.#suppressTimer === undefined) {
        this.#suppressTimer = clock.setTimeout(() => {
          this.#suppressTimer = undefined;
          this.#flushSuppressed();
        }, 1000);
      }
      return;
    }
    this.#tokens -= 1;
    this.#flushSuppressed();
    const level = line.stream === "stderr" ? "warn" : LEVEL_OF[line.level ?? "INFO"] ?? "info";
    this.#deps.log.write({
      at: iso(now),
      level,
      profile: this.name,
      source: line.stream,
      message: line.message,
    });
  }

  #flushSuppressed(): void {
    if (this.#suppressed === 0) return;
    const n = this.#suppressed;
    this.#suppressed = 0;
    this.#daemonLog(
      "warn",
      `${n} kubefwd output line${
        n === 1 ? "" : "s"
      } suppressed (more than ${this.#deps.tuning.logLinesPerSecond}/s)`,
    );
  }

  #onEvent(run: Run, event: KubefwdEvent): void {
    switch (event.kind) {
      case "fatal":
        run.lastFatal = event.message;
        return;
      case "not_root":
        run.sawNotRoot = true;
        return;
      case "clean_exit":
        run.sawCleanExit = true;
        return;
      case "shutting_down":
        return;
      case "version":
        return;
      default:
        break;
    }
    if (this.#run !== run || run.exit !== undefined) return;
    const autoReconnect = run.version !== undefined && kubefwdSupports(run.version, "autoReconnect");
    switch (event.kind) {
      case "forward":
        this.#onForward(run, event.forward);
        break;
      case "pod_deleted":
        this.#setForwardsOfPod(run, event.pod, undefined, "pending");
        break;
      case "lost_connection":
        if (event.pod) this.#setForwardsOfPod(run, event.pod, event.namespace, "down");
        if (!autoReconnect) {
          this.#scheduleDeadForwardRestart(run, `lost connection${event.pod ? ` to ${event.pod}` : ""}`);
        } else if (event.pod) this.#countServiceFailure(run, `pod ${event.namespace ?? ""}/${event.pod}`);
        break;
      case "portforward_error":
        this.#setForwardsOfPod(run, event.pod, event.namespace, "down");
        if (!autoReconnect) this.#scheduleDeadForwardRestart(run, `port-forward error on ${event.pod}`);
        break;
      case "stopped_forwarding":
        this.#setForwardsOfPod(run, event.pod, undefined, "down");
        if (!autoReconnect) this.#scheduleDeadForwardRestart(run, `stopped forwarding ${event.pod}`);
        break;
      case "reconnect_scheduled":
        run.reconnects++;
        this.#totalReconnects++;
        this.#countServiceFailure(run, `service ${event.serviceKey}`);
        break;
      case "no_running_pods":
        this.#setForwardsOfService(run, event.serviceKey, "down");
        break;
      case "listen_conflict":
        if (event.pod) this.#setForwardsOfPod(run, event.pod, event.namespace, "down");
        this.#daemonLog("warn", `local address conflict: ${event.error}`);
        // 1.22.x gives up on that forward for good; 1.24+ retries it about every second.
        if (!autoReconnect) this.#scheduleDeadForwardRestart(run, `local address conflict (${event.error})`);
        else this.#countServiceFailure(run, `listen ${event.error}`);
        break;
      case "ip_exhausted":
        this.#requestChildRestart(run, "kubefwd ran out of IP addresses");
        break;
      case "list_failed":
        this.#onListFailure(run, event.message);
        break;
      default:
        break;
    }
  }

  #onListFailure(run: Run, message: string): void {
    const now = this.#deps.clock.now();
    const { listFailureGapMs, listFailureRestartMs } = this.#deps.tuning;
    const streak = run.listFailures;
    if (!streak || now - streak.last > listFailureGapMs) {
      run.listFailures = { since: now, last: now };
      return;
    }
    streak.last = now;
    if (now - streak.since >= listFailureRestartMs) {
      const seconds = Math.round((now - streak.since) / 1000);
      this.#requestChildRestart(
        run,
        `kubefwd has failed to list from the API server for ${seconds} s (${message})`,
      );
    }
  }

  #onForward(
    run: Run,
    fwd: { ip: string; hostname: string; localPort: number; pod: string; podPort: string },
  ): void {
    const now = this.#deps.clock.now();
    const max = this.#deps.tuning.maxAnnounced;
    const child = this.#deps.persisted.child;
    if (!run.announcedIps.has(fwd.ip) && run.announcedIps.size < max) {
      run.announcedIps.add(fwd.ip);
      child?.announcedIps.push(fwd.ip);
    }
    if (this.#ipsEverAnnounced.size < max) this.#ipsEverAnnounced.add(fwd.ip);
    if (!run.announcedHostnames.has(fwd.hostname) && run.announcedHostnames.size < max) {
      run.announcedHostnames.add(fwd.hostname);
      child?.announcedHostnames.push(fwd.hostname);
    }
    this.#deps.persist();
    const key = `${fwd.hostname}:${fwd.localPort}`;
    const existing = run.forwards.get(key);
    if (existing || run.forwards.size < max) {
      run.forwards.set(key, {
        status: {
          hostname: fwd.hostname,
          namespace: forwardNamespace(fwd.hostname, this.#spec.namespaces),
          ip: fwd.ip,
          port: fwd.localPort,
          pod: fwd.pod,
          podPort: fwd.podPort,
          state: "pending",
          since: iso(now),
        },
        probeFailures: 0,
        everUp: false,
      });
    }
    this.#scheduleProbe(run, this.#deps.tuning.firstProbeDelayMs);
    this.#refreshRunState(run, `forward announced: ${key} → ${fwd.ip}`);
    this.#checkIpChurn(run, fwd.ip, fwd.hostname);
  }

  #checkIpChurn(run: Run, ip: string, hostname: string): void {
    const block = ip.slice(0, ip.lastIndexOf("."));
    let seen = run.ipBlocks.get(block);
    if (!seen) {
      if (run.ipBlocks.size >= this.#deps.tuning.maxAnnounced) return;
      seen = { ips: new Set(), hostnames: new Set() };
      run.ipBlocks.set(block, seen);
    }
    seen.ips.add(ip); // at most 256 per block
    if (seen.hostnames.size < this.#deps.tuning.maxAnnounced) seen.hostnames.add(hostname);
    if (seen.ips.size >= this.#deps.tuning.ipChurnRestartAt && seen.ips.size > seen.hostnames.size) {
      this.#requestChildRestart(
        run,
        `kubefwd has handed out ${seen.ips.size} addresses in ${block}.0/24 as pods were replaced and never ` +
          "reuses one (it runs out at 255): restarting while the forwards still work",
      );
    }
  }

  #setForward(rec: ForwardRecord, state: ForwardStatus["state"]): boolean {
    if (rec.status.state === state) return false;
    rec.status.state = state;
    rec.status.since = iso(this.#deps.clock.now());
    if (state !== "down") rec.probeFailures = 0;
    if (state === "up") rec.everUp = true;
    return true;
  }

  #setForwardsOfPod(
    run: Run,
    pod: string,
    namespace: string | undefined,
    state: ForwardStatus["state"],
  ): void {
    let matches = [...run.forwards.values()].filter((f) =>
      f.status.pod === pod && (namespace === undefined || f.status.namespace === namespace)
    );
    if (matches.length === 0 && namespace !== undefined) {
      matches = [...run.forwards.values()].filter((f) => f.status.pod === pod);
    }
    let changed = false;
    for (const f of matches) changed = this.#setForward(f, state) || changed;
    if (changed) this.#refreshRunState(run, `pod ${pod}: forward ${state}`);
  }

  #setForwardsOfService(run: Run, serviceKey: string, state: ForwardStatus["state"]): void {
    const parts = splitServiceKey(serviceKey);
    if (!parts) return;
    let changed = false;
    for (const f of run.forwards.values()) {
      const labels = f.status.hostname.split(".");
      const isService = labels[0] === parts.service || labels[1] === parts.service;
      if (isService && f.status.namespace === parts.namespace) {
        changed = this.#setForward(f, state) || changed;
      }
    }
    if (changed) this.#refreshRunState(run, `service ${serviceKey}: forwards ${state}`);
  }

  /** starting/running/degraded from the forward states. */
  #refreshRunState(run: Run, why: string): void {
    if (this.#run !== run || run.exit !== undefined || run.stoppedByUs || !this.active) return;
    const forwards = [...run.forwards.values()];
    if (forwards.length === 0) return;
    const down = forwards.filter((f) => f.status.state === "down").map((f) =>
      `${f.status.hostname}:${f.status.port}`
    );
    const target: ProfileState = down.length > 0 ? "degraded" : "running";
    if (target === this.#state) return;
    if (run.runningSince === undefined) run.runningSince = this.#deps.clock.now();
    if (target === "degraded") {
      this.#transition(
        "degraded",
        `${down.length} of ${forwards.length} forwards down`,
        down.slice(0, 10).join(", "),
      );
    } else {
      this.#transition(
        "running",
        this.#state === "starting" ? "first forward announced" : "all forwards up",
        why,
      );
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Health probes

  #scheduleProbe(run: Run, delayMs: number): void {
    if (run.exit !== undefined || run.stoppedByUs) return;
    const clock = this.#deps.clock;
    const due = clock.now() + delayMs;
    if (run.probeTimer !== undefined) {
      if (run.probeDueAt !== undefined && run.probeDueAt <= due) return;
      clock.clearTimeout(run.probeTimer);
    }
    run.probeDueAt = due;
    run.probeTimer = clock.setTimeout(() => {
      run.probeTimer = undefined;
      run.probeDueAt = undefined;
      this.#probeRound(run).catch((e) => this.#internalError("health probe", e));
    }, delayMs);
  }

  async #probeRound(run: Run): Promise<void> {
    if (run.probing || this.#run !== run || run.exit !== undefined || run.stoppedByUs) return;
    const health = this.#spec.health;
    run.probing = true;
    try {
      const targets = [...run.forwards.values()];
      const [named, ...listening] = await Promise.all([
        this.#addressesInHostsFile(run),
        ...targets.map((f) =>
          this.#deps.prober.probe(f.status.ip, f.status.port, health.timeoutMs).catch(() => false)
        ),
      ]);
      const results = targets.map((f, i) => listening[i] && (named === undefined || named.has(f.status.ip)));
      if (this.#run !== run || run.exit !== undefined || run.stoppedByUs) return;
      let changed = false;
      targets.forEach((f, i) => {
        if (run.forwards.get(`${f.status.hostname}:${f.status.port}`) !== f) return; // replaced meanwhile
        if (results[i]) {
          changed = this.#setForward(f, "up") || changed;
        } else {
          f.probeFailures++;
          if (f.probeFailures >= Math.max(1, health.failureThreshold)) {
            changed = this.#setForward(f, "down") || changed;
          }
        }
      });
      if (changed) this.#refreshRunState(run, "health probe");
      this.#restartIfForwardsStayDown(run);
    } finally {
      run.probing = false;
    }
    if (run.forwards.size > 0) this.#scheduleProbe(run, Math.max(100, health.intervalMs));
  }

  // -------------------------------------------------------------------------------------------------------
  // Dead forwards

  /**
   * Addresses with a line in the hosts file this child writes, or undefined when that cannot be checked:
   * no reader configured, an unreadable file, or 1.22.x with a custom hosts_path (1.22.x has no
   * --hosts-path and always writes the OS default file).
   */
  async #addressesInHostsFile(run: Run): Promise<Set<string> | undefined> {
    const read = this.#deps.readHosts;
    if (read === undefined || run.version === undefined) return undefined;
    const path = this.#settings.hostsPath;
    if (!kubefwdSupports(run.version, "hostsPath") && path !== DEFAULT_HOSTS_PATH) return undefined;
    try {
      return addressesWithNames(await read(path));
    } catch {
      return undefined;
    }
  }

  /**
   * A forward the probes find down, with no log line that said why, is dead all the same: 1.22.x never
   * re-forwards it, so restart at once; 1.24+ may still reconnect it, so give it a grace period first.
   */
  #restartIfForwardsStayDown(run: Run): void {
    if (this.#run !== run || run.exit !== undefined || run.restartRequested) return;
    const autoReconnect = run.version !== undefined && kubefwdSupports(run.version, "autoReconnect");
    const graceMs = autoReconnect ? this.#deps.tuning.autoReconnectGraceMs : 0;
    const now = this.#deps.clock.now();
    const dead = [...run.forwards.values()].find((f) =>
      f.everUp && f.status.state === "down" && now - Date.parse(f.status.since) >= graceMs
    );
    if (!dead) return;
    const what = `${dead.status.hostname}:${dead.status.port} down since ${dead.status.since}`;
    if (autoReconnect) this.#requestChildRestart(run, `forward ${what}`);
    else this.#scheduleDeadForwardRestart(run, `forward ${what}`);
  }

  /** kubefwd < 1.24 never re-forwards a dead forward: restart the child after a short debounce. */
  #scheduleDeadForwardRestart(run: Run, why: string): void {
    if (run.deadForwardTimer !== undefined || run.restartRequested) return;
    this.#daemonLog(
      "warn",
      `${why}: kubefwd ${run.version?.raw ?? ""} does not reconnect; restarting it soon`,
    );
    run.deadForwardTimer = this.#deps.clock.setTimeout(() => {
      run.deadForwardTimer = undefined;
      this.#requestChildRestart(run, `dead forward (${why})`);
    }, Math.max(0, this.#spec.forwardFailures.debounceMs));
  }

  /** kubefwd ≥ 1.24 reconnects itself; restart when one service keeps failing (N within T). */
  #countServiceFailure(run: Run, key: string): void {
    const policy = this.#spec.forwardFailures;
    const now = this.#deps.clock.now();
    let times = (run.serviceFailures.get(key) ?? []).filter((t) => now - t < policy.windowMs);
    times.push(now);
    if (times.length > 1000) times = times.slice(-1000);
    if (!run.serviceFailures.has(key) && run.serviceFailures.size >= 1000) return;
    run.serviceFailures.set(key, times);
    if (policy.maxFailures > 0 && times.length >= policy.maxFailures) {
      run.serviceFailures.clear();
      this.#requestChildRestart(
        run,
        `${key} failed ${times.length} times within ${Math.round(policy.windowMs / 1000)} s`,
      );
    }
  }

  /** Restart the child because of its forwards: a reconnect (restarts++), not a crash (no failures++, no backoff). */
  #requestChildRestart(run: Run, reason: string): void {
    if (run.restartRequested || this.#run !== run || run.exit !== undefined) return;
    run.restartRequested = true;
    this.#enqueue(async () => {
      if (this.#run !== run || run.exit !== undefined || run.stoppedByUs || this.#disposed) return;
      this.#deps.persisted.counters.restarts++;
      this.#deps.persist();
      const delayMs = this.#forwardRestartDelay();
      await this.#stopNow(`restarting: ${reason}`, "stopped", true);
      if (this.#disposed) return;
      if (delayMs === 0) {
        this.#launch(`restart: ${reason}`);
        return;
      }
      // Restarts for dead forwards keep coming (a port someone else holds, a pod that never answers):
      // slow down on the retry policy's schedule instead of restarting in a tight loop.
      const at = this.#deps.clock.now() + delayMs;
      this.#transition(
        "backoff",
        `restarting: ${reason}`,
        `frequent forward restarts; next start in ${delayMs} ms`,
      );
      this.#nextRetryAt = at;
      this.#retryTimer = this.#deps.clock.setTimeout(() => {
        this.#retryTimer = undefined;
        if (this.#state !== "backoff" || this.#disposed) return;
        this.#launch(`restart: ${reason}`);
      }, delayMs);
    }).catch((e) => this.#internalError("restart", e));
  }

  /**
   * 0 while restarts for dead forwards are rare; once `forward_failures.max_failures` of them fall within
   * `forward_failures.window`, the retry policy's delay for that many attempts.
   */
  #forwardRestartDelay(): number {
    const policy = this.#spec.forwardFailures;
    const now = this.#deps.clock.now();
    this.#forwardRestarts = this.#forwardRestarts.filter((t) => now - t < policy.windowMs);
    this.#forwardRestarts.push(now);
    const excess = this.#forwardRestarts.length - Math.max(1, policy.maxFailures);
    if (excess < 0) return 0;
    return restartDelayMs(this.#spec.retry, excess, this.#deps.random());
  }

  // -------------------------------------------------------------------------------------------------------
  // Stopping and exits

  /**
   * Stops whatever is going on: cancels timers and pending starts, stops the child with the escalation,
   * waits for its exit handling (hosts cleanup included), and settles in `target` — unless `transitional`,
   * where the caller moves on to `starting` itself.
   */
  async #stopNow(reason: string, target: ProfileState, transitional = false): Promise<void> {
    this.#clearTimer("retry");
    this.#clearTimer("watch");
    this.#gen++;
    const run = this.#run;
    if (run && run.handle && run.exit === undefined) {
      run.stoppedByUs = true;
      this.#clearRunTimers(run);
      this.#transition("stopping", reason);
      const settings = this.#settings;
      const result = await stopChild(run.handle, {
        clock: this.#deps.clock,
        viaSudo: run.viaSudo,
        stopTimeoutMs: settings.stopTimeoutMs,
        ...this.#deps.stopOptions,
        onStep: (m) => this.#daemonLog("warn", m),
      });
      if (result.exit === null) {
        this.#daemonLog(
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

  #clearRunTimers(run: Run): void {
    const clock = this.#deps.clock;
    for (const key of ["probeTimer", "graceTimer", "deadForwardTimer", "kubeconfigTimer"] as const) {
      const t = run[key];
      if (t !== undefined) clock.clearTimeout(t);
      run[key] = undefined;
    }
    this.#releaseGate(run);
  }

  #clearTimer(which: "retry" | "watch" | "suppress"): void {
    const clock = this.#deps.clock;
    if (which === "retry" && this.#retryTimer !== undefined) {
      clock.clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
    }
    if (which === "watch" && this.#watchTimer !== undefined) {
      clock.clearTimeout(this.#watchTimer);
      this.#watchTimer = undefined;
    }
    if (which === "suppress" && this.#suppressTimer !== undefined) {
      clock.clearTimeout(this.#suppressTimer);
      this.#suppressTimer = undefined;
    }
  }

  #onExit(run: Run, status: ExitStatus): void {
    // Flush buffered output first: the FATA line or the not-root text decides the classification.
    run.stdout?.close();
    run.stderr?.close();
    run.exit = status;
    this.#clearRunTimers(run);
    const now = this.#deps.clock.now();
    const ranMs = Math.max(0, now - run.spawnedAt);
    const runningMs = run.runningSince === undefined ? 0 : now - run.runningSince;
    const counters = this.#deps.persisted.counters;
    counters.totalUptimeMs += ranMs;
    const leftovers = this.#leftoverIps(run, status);
    const what = status.signal !== null ? `killed by ${status.signal}` : `exit code ${status.code}`;
    this.#daemonLog(
      run.stoppedByUs ? "info" : "warn",
      `kubefwd pid ${run.handle?.pid} ended (${what}) after ${ranMs} ms`,
    );

    const cleanup = this.#cleanHosts(run, leftovers).finally(() => {
      if (this.#deps.persisted.child?.pid === run.handle?.pid) {
        delete this.#deps.persisted.child;
        this.#deps.persist();
      }
    });
    this.#cleanup = this.#cleanup.then(() => cleanup);

    if (run.stoppedByUs || this.#run !== run) {
      this.#deps.persist();
      cleanup.then(() => run.resolveDone());
      return;
    }
    this.#attempt = attemptsAfterStableRun(this.#attempt, runningMs, this.#spec.retry);
    counters.failures++;
    this.#deps.persist();
    const cls = classifyExit(status, run.lastFatal, run.sawNotRoot, false);
    let errorText = cls.reason;
    if (cls.kind === "not_root") {
      const sudoText = run.lastFatal && /^sudo: /.test(run.lastFatal) ? run.lastFatal : undefined;
      errorText = notRootMessage({
        settings: this.#settings,
        viaSudo: run.viaSudo,
        user: currentUserName(this.#deps.env),
        kubefwdPath: run.kubefwdPath,
        detail: sudoText,
      });
    }
    this.#run = undefined;
    this.#applyDecision(cls.kind, cls.reason, errorText);
    cleanup.then(() => run.resolveDone());
  }

  /**
   * Addresses whose hosts lines this child left behind. kubefwd cleans its own lines only on a graceful exit
   * (`Clean exit`, exit 0) or, from 1.23 on, a forced second-signal exit; anything else (crash, SIGKILL, a
   * FATA after forwards began) leaves them all. 1.22.x also leaves the lines of forwards that died earlier
   * (kubefwd issue #291) even on a graceful exit.
   */
  #leftoverIps(run: Run, status: ExitStatus): string[] {
    const informer = run.version !== undefined && kubefwdSupports(run.version, "podInformer");
    const graceful = (status.code === 0 && run.sawCleanExit) ||
      (status.code === 1 && run.sawForcedShutdown && informer);
    if (!graceful) return [...run.announcedIps];
    if (informer) return [];
    const live = new Set<string>();
    const dead = new Set<string>();
    for (const f of run.forwards.values()) (f.status.state === "down" ? dead : live).add(f.status.ip);
    return [...dead].filter((ip) => !live.has(ip));
  }

  /**
   * Removes the hosts lines of exactly these addresses. Only addresses, not names: a name of ours that now
   * sits on another address's line was taken over by someone else (kubefwd moves a name, never copies it),
   * and removing it there would break that other forward.
   */
  async #cleanHosts(run: Run, ips: string[]): Promise<void> {
    if (ips.length === 0) return;
    try {
      const removed = await this.#deps.hostsFile(this.#settings).removeEntries(ips, []);
      this.#daemonLog(
        "info",
        `removed ${removed} leftover hosts name(s) of kubefwd pid ${run.handle?.pid} (addresses ${
          ips.join(", ")
        })`,
      );
    } catch (e) {
      this.#daemonLog(
        "error",
        `could not remove leftover hosts entries (${ips.join(", ")}) from ${this.#settings.hostsPath}: ${
          (e as Error).message
        }`,
      );
    }
  }
}

/** The namespace of a forward from its hostname (`svc`, `svc.ns`, `pod.svc.ns`…), default the first one. */
export function forwardNamespace(hostname: string, namespaces: string[]): string {
  const labels = hostname.split(".");
  for (const label of labels.slice(1, 3)) if (namespaces.includes(label)) return label;
  return namespaces[0] ?? "";
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
