/**
 * The `logs` request: the newest log entries, or with `follow` the backlog and then every new entry until
 * the client goes away.
 */
import type { HandlerContext } from "../../ipc/server.ts";
import { MAX_FRAME_BYTES, type Request, type ResultMap } from "../../ipc/protocol.ts";
import { UserError } from "../../errors.ts";
import type { DaemonLog } from "../../log/logger.ts";
import type { LogEntry } from "../../supervisor/types.ts";
import type { DaemonContext } from "./context.ts";

/** Answers a `logs` request. */
export async function handleLogs(
  daemon: Pick<DaemonContext, "log" | "supervisor">,
  req: Extract<Request, { type: "logs" }>,
  ctx: HandlerContext,
): Promise<ResultMap["logs"]> {
  if (req.profile !== undefined && !daemon.supervisor.hasProfile(req.profile)) {
    throw new UserError("unknown_profile", `unknown profile ${JSON.stringify(req.profile)}`);
  }
  const entries = daemon.log.tail(req.lines, req.profile);
  if (!req.follow) return { entries: fitInFrame(entries) };
  return await followLog(daemon.log, req.profile, entries, ctx);
}

/** The newest entries (log lines, events) whose JSON fits well inside one protocol frame (the oldest are dropped first). */
export function fitInFrame<T>(entries: T[], budget = MAX_FRAME_BYTES - 64 * 1024): T[] {
  let size = 0;
  let first = entries.length;
  while (first > 0) {
    const next = JSON.stringify(entries[first - 1]).length + 1;
    if (size + next > budget) break;
    size += next;
    first--;
  }
  return entries.slice(first);
}

/**
 * Streams past entries, then every new one, until the client goes away or the daemon stops. The
 * subscription starts before the first past entry is sent, so nothing logged meanwhile is lost.
 */
export async function followLog(
  log: Pick<DaemonLog, "subscribe">,
  profile: string | undefined,
  past: LogEntry[],
  ctx: HandlerContext,
): Promise<{ entries: LogEntry[] }> {
  const backlog = [...past];
  let live = false;
  const unsubscribe = log.subscribe((e) => {
    if (profile !== undefined && e.profile !== profile) return;
    if (live) void ctx.sendLog(e);
    else backlog.push(e);
  });
  try {
    for (let i = 0; i < backlog.length && !ctx.signal.aborted; i++) await ctx.sendLog(backlog[i]);
    live = true;
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) return resolve();
      ctx.signal.addEventListener("abort", () => resolve(), { once: true });
    });
  } finally {
    unsubscribe();
  }
  return { entries: [] };
}
