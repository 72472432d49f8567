/**
 * What the request handlers may use of the running daemon. The daemon composes it; each handler takes only
 * the parts it needs, so a handler test builds just those.
 */
import type { PersistenceStatus, ResultMap } from "../../ipc/protocol.ts";
import type { DaemonLog } from "../../log/logger.ts";
import type { EventHistory } from "../../state/event_history.ts";
import type { Supervisor } from "../../supervisor/supervisor.ts";
import type { MetricsSnapshot } from "../../metrics/types.ts";

/** The running daemon as the handlers see it. */
export interface DaemonContext {
  /** Owns the profiles; the verbs and `status` go through it. */
  supervisor: Supervisor;
  /** The daemon log, read by `logs` and followed by `logs -f`. */
  log: DaemonLog;
  /** The event history, read by `events` and followed by `events -f`; `status` reports its health. */
  history: EventHistory;
  /** The config file in use, reported by `status`. */
  configPath: string;
  /** The socket the daemon listens on, reported by `status`. */
  socketPath: string;
  /** When the daemon started: `status` reports it and the uptime. */
  startedAt: Date;
  /** Whether the state file can be written right now. */
  persistence(): PersistenceStatus;
  /** Re-reads the config and applies it; rejects with a UserError when it is invalid. */
  reload(): Promise<ResultMap["reload"]>;
  /** Starts the graceful shutdown; does not wait for it. */
  requestShutdown(why: string): void;
  /** The metrics model's snapshot (`metrics`, and the additive fields of `status`). */
  metrics(): MetricsSnapshot;
}
