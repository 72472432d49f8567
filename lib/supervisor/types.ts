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

/** pending: announced, not yet proven; up: listener answers; down: lost and not (yet) reconnected. */
export type ForwardState = "pending" | "up" | "down";

/** One forwarded service port as the user sees it. Timestamps are ISO 8601. */
export interface ForwardStatus {
  hostname: string;
  namespace: string;
  ip: string;
  port: number;
  pod: string;
  podPort: string;
  state: ForwardState;
  since: string;
}

/** Where the effective `enabled` value comes from. */
export type EnabledSource = "config" | "cli";

/** One state transition: the unit of the event log. */
export interface TransitionEvent {
  at: string;
  profile: string;
  from: ProfileState;
  to: ProfileState;
  reason: string;
  detail?: string;
}

/** One line of the daemon log: daemon events and child output, attributed to a profile. */
export interface LogEntry {
  at: string;
  level: "debug" | "info" | "warn" | "error";
  /** Absent for daemon-wide lines. */
  profile?: string;
  /** `daemon` for the daemon's own lines; `stdout`/`stderr` for the child's raw output. */
  source: "daemon" | "stdout" | "stderr";
  message: string;
}

/** Persisted per-profile counters (survive daemon restarts). */
export interface ProfileCounters {
  restarts: number;
  failures: number;
  totalUptimeMs: number;
}

/** The status of one profile, exactly the `status --json` shape documented in README.md (`status --json`). */
export interface ProfileStatus {
  name: string;
  enabled: boolean;
  enabledSource: EnabledSource;
  state: ProfileState;
  pid: number | null;
  startedAt: string | null;
  uptimeSeconds: number;
  restarts: number;
  failures: number;
  lastError: string | null;
  nextRetryAt: string | null;
  context: string | null;
  namespaces: string[];
  kubefwdVersion: string | null;
  forwards: ForwardStatus[];
  /** Only in single-profile detail requests: the last events, oldest first. */
  events?: TransitionEvent[];
  /** Total uptime across runs, seconds. */
  totalUptimeSeconds?: number;
  /** kubefwd's own reconnect attempts (`Scheduling reconnection`, v1.24+) since the daemon started. */
  reconnects?: number;
  /** The profile's `baseUnreservedIP` (its 127.N.x.x range). */
  baseIp?: string;
}
