import type { LogEntry } from "../supervisor/types.ts";

/**
 * Where the supervisor and daemon send every log line (own events and child output). The real sink
 * masks secrets, writes JSON lines to the log file, human lines to stderr, and keeps a bounded ring
 * buffer for the `logs` verb.
 */
export interface LogSink {
  /** Takes one entry; never throws and never blocks the caller. */
  write(entry: LogEntry): void;
}
