/**
 * The inputs and outputs of a ForwardTracker (forward_tracker.ts): its settings, probe targets and results,
 * the API server's reachability, and the updates and restart requests it answers with.
 */
import type { ForwardFailurePolicy } from "../config/types.ts";
import type { ProbeMode, ProbeOutcome } from "../health/probe.ts";
import type { ProbeModeRules } from "../health/probe_mode.ts";
import type { ForwardAnnouncement } from "../kubefwd/types.ts";

/** The rules a tracker applies; fixed for the life of one child. */
export interface TrackerSettings {
  /** kubefwd ≥ 1.24 reconnects lost forwards itself (`-a`). */
  autoReconnect: boolean;
  /** The profile's namespaces: a forward's namespace is read from its hostname. */
  namespaces: string[];
  /** How many failures of one service within a window restart an auto-reconnecting child. */
  forwardFailures: ForwardFailurePolicy;
  /** Consecutive failed probes that make a forward `down`. */
  failureThreshold: number;
  /** How long a forward of an auto-reconnecting kubefwd may stay down before the child restarts. */
  autoReconnectGraceMs: number;
  /** Cap of remembered addresses, forwards and failure keys (IP churn, floods). */
  maxAnnounced: number;
  /** Addresses handed out in one /24, with pod churn, that trigger a planned restart. */
  ipChurnRestartAt: number;
  /** A quiet period this long ends a run of `failed to list` lines. */
  listFailureGapMs: number;
  /** A run of `failed to list` lines this long restarts the child. */
  listFailureRestartMs: number;
  /** Which forwards get an HTTP probe (the profile's `health.http` / `health.tcp`). */
  probeRules: ProbeModeRules;
  /** Probe timeouts in a row, while the API server answers, that mean kubefwd stalled (restart). */
  stallProbes: number;
}

/** What the daemon's own check of the profile's API server says (api_watch.ts). */
export type ApiReachability =
  | { state: "unknown" }
  | { state: "reachable" }
  | { state: "unreachable"; since: number; why: string };

/** Which failure a restart is for, so that a restart that did not fix it is not repeated at once. */
export interface RestartCause {
  /** The same key after a restart means the same failure came back (a pod, a service, a port, `list`). */
  key: string;
  /** The forwards (`host:port`) it concerns: shown `failed` when restarting stops helping. */
  forwards: string[];
}

/**
 * What the runner should do about the forwards: restart the child now, or — for a kubefwd that never
 * re-forwards (1.22.x) — after the profile's `forward_failures.debounce`. Planned restarts (IP churn) have
 * no cause: they fix what they are for.
 */
export type RestartRequest =
  | {
    kind: "now";
    reason: string;
    cause?: RestartCause;
    /** The world changed (the API server came back, the machine woke up): held failures get a fresh chance. */
    fresh?: boolean;
  }
  | { kind: "debounced"; why: string; cause?: RestartCause };

/** The consequences of one input. Empty when nothing changed. */
export interface TrackerUpdate {
  /** Forward states changed; why, for the profile's running/degraded transition. */
  changed?: string;
  /** A forward was announced (probe it soon). */
  announced?: ForwardAnnouncement;
  /** The address is new for this child (its hosts lines must be cleaned if the child is orphaned). */
  newIp?: string;
  /** kubefwd scheduled one of its own reconnects. */
  reconnect?: boolean;
  /** The forwards want the child restarted, now or debounced. */
  restart?: RestartRequest;
  /** Something worth a warning in the log. */
  warning?: string;
  /** Probe every forward now (the API server came back, the machine woke up). */
  probeNow?: boolean;
  /** The machine woke up: failures held before the sleep get a fresh chance (the world changed). */
  fresh?: boolean;
  /** The node is back: a restart held for the failure is tried now instead of after the slow retry. */
  retryHeld?: boolean;
}

/** The forwards of one child at a glance: how many, and which are down or not yet proven (`host:port`). */
export interface ForwardSummary {
  /** Forwards announced by this child. */
  total: number;
  /** The ones down (`host:port`). */
  down: string[];
  /** The ones announced but not yet answering a probe (`host:port`). */
  pending: string[];
  /** The ones that were up but cannot be verified now (`host:port`). */
  unverified?: string[];
  /** Why forwards are not up, in one phrase: the API server, the pod, or kubefwd itself. */
  cause?: string;
}

/** One forward to probe; `id` tells whether the forward was replaced while the probe ran. */
export interface ProbeTarget {
  /** `host:port`, the forward's key in the tracker. */
  key: string;
  /** Identifies this announcement of the forward; a re-announced forward gets a new one. */
  id: number;
  /** The local address kubefwd gave the forward. */
  ip: string;
  /** The local port kubefwd listens on. */
  port: number;
  /** HTTP request or quiet TCP connection. */
  mode: ProbeMode;
  /** The forward's hostname, for the HTTP probe's `Host` header. */
  host: string;
}

/** The outcome of probing one {@link ProbeTarget}. */
export interface ProbeResult {
  /** The forward that was probed. */
  target: ProbeTarget;
  /** What the probe saw; `unnamed`: the address lost its hosts line (the name no longer resolves). */
  outcome: ProbeOutcome | "unnamed";
}

/** How a child ended, for {@link ForwardTracker.leftoverIps}. */
export interface ExitFacts {
  /** Exit code; `null` when a signal ended the child. */
  code: number | null;
  /** The child logged `Clean exit`. */
  sawCleanExit: boolean;
  /** The child logged `Forced shutdown`. */
  sawForcedShutdown: boolean;
  /** kubefwd ≥ 1.23 (pod informer): cleans every line on a graceful or forced exit. */
  informer: boolean;
}
