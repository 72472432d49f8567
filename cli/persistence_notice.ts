/** The lines `status` prints while the daemon cannot write its state file or its event history. */
import type { StatusResult } from "../lib/ipc/protocol.ts";
import { painter } from "./render.ts";

/** "warning: persistence failing …", or undefined while the state file is written normally. */
export function persistenceNotice(status: StatusResult, color: boolean): string | undefined {
  const p = status.daemon.persistence;
  if (p === undefined || p.ok) return undefined;
  return painter(color).red(
    `warning: persistence failing since ${p.since ?? "?"}: ${p.error ?? "state file not writable"} — ` +
      "enable/disable choices and counters are kept in memory only and are lost when the daemon stops",
  );
}

/** "warning: event history failing …", or undefined while the history file is written normally. */
export function historyNotice(status: StatusResult, color: boolean): string | undefined {
  const h = status.daemon.eventHistory;
  if (h === undefined || h.ok) return undefined;
  return painter(color).red(
    `warning: event history failing since ${h.since ?? "?"}: ${h.error ?? "history file not writable"} — ` +
      "new events are kept in memory only and are lost when the daemon stops",
  );
}
