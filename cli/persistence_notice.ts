/** The line `status` prints while the daemon cannot write its state file (see the daemon's `persistence`). */
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
