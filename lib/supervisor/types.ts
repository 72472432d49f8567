/** Types shared by the supervisor, the daemon handlers, the state store and the protocol. */

/** The per-profile state machine (docs/architecture.md#profile-states). */
export type ProfileState =
  | "disabled"
  | "stopped"
  | "starting"
  | "running"
  | "degraded"
  | "backoff"
  | "failed"
  | "stopping";

/** All states, for validation and rendering. */
export const PROFILE_STATES: readonly ProfileState[] = [
  "disabled",
  "stopped",
  "starting",
  "running",
  "degraded",
  "backoff",
  "failed",
  "stopping",
];

/**
 * pending: announced, not yet proven; up: the probe went through (docs/health-probes.md); unverified: was up,
 * but cannot be proven now (the API server is out of reach, or probes time out; see `reason`); down: lost
 * or failing and not (yet) reconnected; failed: the same failure came back after a restart, so the daemon
 * stopped restarting for it (see `reason`).
 */
export type ForwardState = "pending" | "up" | "unverified" | "down" | "failed";

/** One forwarded service port as the user sees it. Timestamps are ISO 8601. */
export interface ForwardStatus {
  /** The hostname kubefwd announced (`svc`, `svc.ns`, `pod.svc`…). */
  hostname: string;
  /** The namespace it belongs to. */
  namespace: string;
  /** The local address. */
  ip: string;
  /** The local port. */
  port: number;
  /** The pod behind it. */
  pod: string;
  /** The pod's port (number or name). */
  podPort: string;
  /** Whether it answers. */
  state: ForwardState;
  /** When `state` last changed. */
  since: string;
  /** How the daemon probes it: `http` (a request; any response proves the path) or `tcp` (a held connection). */
  probe?: "http" | "tcp";
  /** Why it is not up: kubefwd's words when `failed`, the probe's or the API server's when `down` or `unverified`. */
  reason?: string;
}

/**
 * Why the daemon restarted a profile's kubefwd (the restarts counted in `restarts`), for metrics by reason:
 * an unrequested exit or failed start retried after the backoff (`crash`), the API out of reach
 * (`unreachable`), dead forwards, persistent list failures, running out of addresses (`ip_addresses`), a
 * Ready pod again for a service a kubefwd without a pod watch does not forward (`pod_returned`), a
 * changed kubeconfig, a config reload, or the user's `restart`.
 */
export type RestartReason =
  | "crash"
  | "unreachable"
  | "dead_forward"
  | "list_failures"
  | "ip_addresses"
  | "pod_returned"
  | "kubeconfig_change"
  | "config_change"
  | "manual";

/** All restart reasons, so every counter can be shown (at 0) before its first restart. */
export const RESTART_REASONS: readonly RestartReason[] = [
  "crash",
  "unreachable",
  "dead_forward",
  "list_failures",
  "ip_addresses",
  "pod_returned",
  "kubeconfig_change",
  "config_change",
  "manual",
];

/** Where the effective `enabled` value comes from. */
export type EnabledSource = "config" | "cli";

/** One state transition: the unit of the event log. */
export interface TransitionEvent {
  /** When it happened, ISO 8601. */
  at: string;
  /** The profile. */
  profile: string;
  /** State before. */
  from: ProfileState;
  /** State after. */
  to: ProfileState;
  /** Why, in a few words (shown in `status NAME` and the log). */
  reason: string;
  /** Specifics, e.g. the retry delay or the forwards that are down. */
  detail?: string;
  /** On the transition that begins a counted restart: why the daemon restarts kubefwd. */
  restart?: RestartReason;
  /** What the forwards did to cause a running/degraded change (e.g. `pod api-1: forward down`), when known. */
  cause?: string;
}

/** One line of the daemon log: daemon events and child output, attributed to a profile. */
export interface LogEntry {
  /** When it was written, ISO 8601. */
  at: string;
  /** Severity; the log level setting filters on it. */
  level: "debug" | "info" | "warn" | "error";
  /** Absent for daemon-wide lines. */
  profile?: string;
  /** `daemon` for the daemon's own lines; `stdout`/`stderr` for the child's raw output. */
  source: "daemon" | "stdout" | "stderr";
  /** The text, secrets masked. */
  message: string;
}

/** Persisted per-profile counters (survive daemon restarts). */
export interface ProfileCounters {
  /** Child restarts, by the user, a reload, a retry or the daemon's forward checks. */
  restarts: number;
  /** Unrequested exits and failed starts. */
  failures: number;
  /** Time children of this profile have run, in milliseconds. */
  totalUptimeMs: number;
}

/** The status of one profile, exactly the `status --json` shape documented in README.md (`status --json`). */
export interface ProfileStatus {
  /** The profile's name. */
  name: string;
  /** Effective enabled: the CLI's persisted choice, else the config's. */
  enabled: boolean;
  /** Whether `enabled` comes from the config or the CLI. */
  enabledSource: EnabledSource;
  /** Current state. */
  state: ProfileState;
  /** The child's pid while it runs: the process the daemon spawned (sudo when kubefwd runs through sudo). */
  pid: number | null;
  /**
   * kubefwd's own pid: `pid` when it runs directly; through sudo, the kubefwd under sudo (found in /proc), or
   * null while there is none (sudo not yet past its checks, or no /proc: macOS).
   */
  kubefwdPid?: number | null;
  /** When the current child was spawned, ISO 8601. */
  startedAt: string | null;
  /** Seconds the current child has run. */
  uptimeSeconds: number;
  /** Persisted restart counter. */
  restarts: number;
  /** Persisted failure counter. */
  failures: number;
  /** Why the current failure happened, with what to do about it; null again once the profile is healthy. */
  lastError: string | null;
  /** When `lastError` happened, ISO 8601. */
  lastErrorAt?: string | null;
  /** What the state means right now (forwards pending or down, nothing forwarded), or null. */
  stateDetail?: string | null;
  /** The profile's `allow_empty`: forwarding nothing counts as healthy. */
  allowEmpty?: boolean;
  /** When `backoff` ends, ISO 8601. */
  nextRetryAt: string | null;
  /** The profile's context (null: the kubeconfig's current-context). */
  context: string | null;
  /** The profile's namespaces. */
  namespaces: string[];
  /** The detected kubefwd version. */
  kubefwdVersion: string | null;
  /** The forwards of the current child, sorted by hostname and port. */
  forwards: ForwardStatus[];
  /** Only in single-profile detail requests: the last events, oldest first. */
  events?: TransitionEvent[];
  /** Total uptime across runs, seconds. */
  totalUptimeSeconds?: number;
  /** kubefwd's own reconnect attempts (`Scheduling reconnection`, v1.24+) since the daemon started. */
  reconnects?: number;
  /** The profile's `baseUnreservedIP` (its 127.N.x.x range). */
  baseIp?: string;
  /** Restarts since the daemon started, by reason (from the metrics model). */
  restartsByReason?: Record<RestartReason, number>;
  /** The daemon's own check of the profile's API server (absent while a child is not running). */
  apiserver?: ApiServerStatus;
}

/** What the daemon's check of a profile's API server says, as `status --json` shows it. */
export interface ApiServerStatus {
  /** `reachable`, `unreachable`, or `unknown` (not checked: credentials could not be resolved, or not yet). */
  state: "reachable" | "unreachable" | "unknown";
  /** When the current state began, ISO 8601. */
  since: string | null;
  /** Why unreachable or unknown. */
  error?: string;
}
