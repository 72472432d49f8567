/**
 * What a ProfileRunner is built from: its outside dependencies (the Supervisor supplies them, tests supply
 * fakes) and its timing and size limits (production uses DEFAULT_TUNING; tests shorten what they exercise).
 */
import type { Clock } from "../clock.ts";
import type { KubefwdSettings } from "../config/types.ts";
import type { Prober } from "../health/probe.ts";
import type { HostsFile } from "../kubefwd/hosts.ts";
import type { ApiProbeFactory } from "../kube/api_check.ts";
import { type ApiWatchTiming, DEFAULT_API_WATCH_TIMING } from "../kube/api_watch.ts";
import type { LogSink } from "../log/types.ts";
import type { LaunchDeps } from "./launch_plan.ts";
import type { StopOptions } from "./process_control.ts";
import type { ProfileRecord } from "./profile_record.ts";
import { DEFAULT_POD_RETURN_TIMING, type PodReturnTiming } from "./pod_return_watch.ts";
import type { Spawner } from "./spawner.ts";
import type { TransitionEvent } from "./types.ts";

/** Everything a runner needs from outside; the Supervisor builds it. */
export interface RunnerDeps extends LaunchDeps {
  /** Starts the kubefwd children. */
  spawner: Spawner;
  /** All timing goes through it, so tests run on a fake clock. */
  clock: Clock;
  /** Receives the runner's log lines and the child's output. */
  log: LogSink;
  /** Connects to the forwards in the health probes. */
  prober: Prober;
  /** Checks each profile's API server with its own credentials; undefined: not checked. */
  apiProbes?: ApiProbeFactory;
  /** The hosts file to clean after a child that left its lines behind. */
  hostsFile: (settings: KubefwdSettings) => HostsFile;
  /** Backoff jitter, in [0, 1); injected so tests are exact. */
  random: () => number;
  /** This profile's persisted counters, events and owned child. */
  record: ProfileRecord;
  /** Every state transition, for the Supervisor's listeners. */
  emit: (event: TransitionEvent) => void;
  /** Serialises child starts across profiles; resolves with a release function. */
  startGate: () => Promise<() => void>;
  /** Fingerprint of a file (mtime + size), "missing" when absent: detects kubeconfig edits. */
  fingerprint: (path: string) => Promise<string>;
  /** Reads the hosts file: a forward whose address lost its hosts line fails its probe. Undefined: not checked. */
  readHosts?: (path: string) => Promise<string>;
  /** Overrides of the stop escalation (tests, sudo kill). */
  stopOptions?: Partial<Pick<StopOptions, "secondTermWaitMs" | "killWaitMs" | "sudoKill" | "findChildren">>;
  /** Timings and caps; tests shorten them. */
  tuning: RunnerTuning;
}

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
  /** Probe timeouts in a row, while the API server answers, after which kubefwd counts as stalled. */
  stallProbes: number;
  /** How often and how patiently the API server is checked. */
  apiWatch: ApiWatchTiming;
  /**
   * The graceful stop of a kubefwd restarted with no forward up: nothing to keep, and a kubefwd whose
   * forwards broke can hang in it (measured: 1.22.3 after a node outage, 5 s until the second SIGTERM).
   */
  quickStopMs: number;
  /** kubefwd without a pod watch (1.22.x): how services whose pod came back are looked for. */
  podReturn: PodReturnTiming;
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
  stallProbes: 4,
  apiWatch: DEFAULT_API_WATCH_TIMING,
  quickStopMs: 1000,
  podReturn: DEFAULT_POD_RETURN_TIMING,
};
