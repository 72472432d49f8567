/**
 * The metrics snapshot: the `metrics --json` document and the one input of the Prometheus exposition, so the
 * CLI and the endpoint can never disagree. Counters (`restarts`, `failures`, `forwardLosses`, histograms)
 * count since the daemon started, as Prometheus counters do; `status` keeps the persisted totals.
 */
import type { ForwardState, ProfileState, RestartReason } from "../supervisor/types.ts";

/** A histogram with fixed bucket bounds, in seconds. */
export interface HistogramSnapshot {
  /** Upper bounds of the buckets (`le`), ascending; `+Inf` is implied. */
  bounds: number[];
  /** Observations ≤ each bound (cumulative), one per bound. */
  cumulative: number[];
  /** All observations. */
  count: number;
  /** Sum of all observations, seconds. */
  sum: number;
}

/** One forward of a profile's current kubefwd. */
export interface ForwardMetrics {
  /** The hostname kubefwd announced (the service, or `pod.service` for headless services). */
  service: string;
  /** Its namespace. */
  namespace: string;
  /** Local address. */
  ip: string;
  /** Local port. */
  port: number;
  /** The forward's state (`status`). */
  state: ForwardState;
  /** When `state` last changed, ISO 8601. */
  since: string;
  /** How long the newest probe of ip:port took, seconds; null before the first probe. */
  lastProbeSeconds: number | null;
  /** Whether the newest probe connected; null before the first probe. */
  lastProbeOk: boolean | null;
}

/** One profile. */
export interface ProfileMetrics {
  /** The profile's name. */
  name: string;
  /** Current state. */
  state: ProfileState;
  /** True while `running`: kubefwd runs and every forward answers. */
  up: boolean;
  /** Seconds the current kubefwd has run. */
  uptimeSeconds: number;
  /** Seconds this profile's kubefwd children ran, across runs and daemon restarts (persisted). */
  totalUptimeSeconds: number;
  /** Restarts since the daemon started, by reason (every reason present, 0 included). */
  restarts: Record<RestartReason, number>;
  /** Unrequested exits and failed starts since the daemon started. */
  failures: number;
  /** Forward losses kubefwd reported (its own reconnects, 1.24+) since the daemon started. */
  forwardLosses: number;
  /** Forwards of the current kubefwd by state. */
  forwards: Record<ForwardState, number>;
  /** Fault seen (the profile left `running` unasked) → `running` again, seconds. */
  recovery: HistogramSnapshot;
  /** First sign of a fault (a failed probe; 0 for kubefwd's own report or its exit) → the daemon's verdict. */
  detection: HistogramSnapshot;
  /** The newest recovery, seconds; null before the first. */
  lastRecoverySeconds: number | null;
  /** Each forward of the current kubefwd. */
  forwardList: ForwardMetrics[];
}

/** The daemon process. */
export interface DaemonMetrics {
  /** Program version. */
  version: string;
  /** Deno version running the daemon. */
  deno: string;
  /** When the daemon started, ISO 8601. */
  startedAt: string;
  /** Seconds since the daemon started. */
  uptimeSeconds: number;
  /** Resident set size, bytes; null where /proc is missing. */
  residentMemoryBytes: number | null;
  /** Unique set size (private clean + private dirty of /proc/self/smaps_rollup), bytes; null where unavailable. */
  privateMemoryBytes: number | null;
  /** Open connections on the control socket (this request's included). */
  controlConnections: number;
  /** Where the Prometheus endpoint listens (`host:port`), or null when it is off. */
  endpoint: string | null;
}

/** The whole snapshot (`metrics --json`). */
export interface MetricsSnapshot {
  /** The daemon itself. */
  daemon: DaemonMetrics;
  /** Every configured profile, in config order. */
  profiles: ProfileMetrics[];
}
