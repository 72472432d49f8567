/**
 * The `events` request: the event history's newest transitions, or with `follow` those and then every new
 * one until the client goes away. A profile no longer configured is still known while it has history.
 */
import type { HandlerContext } from "../../ipc/server.ts";
import type { Request, ResultMap } from "../../ipc/protocol.ts";
import { UserError } from "../../errors.ts";
import type { TransitionEvent } from "../../supervisor/types.ts";
import type { DaemonContext } from "./context.ts";
import { fitInFrame } from "./logs.ts";

/** Answers an `events` request. */
export async function handleEvents(
  daemon: Pick<DaemonContext, "history" | "supervisor">,
  req: Extract<Request, { type: "events" }>,
  ctx: HandlerContext,
): Promise<ResultMap["events"]> {
  const { profile, sinceMs } = req;
  const wanted = (e: TransitionEvent) =>
    (profile === undefined || e.profile === profile) &&
    (sinceMs === undefined || Date.parse(e.at) >= sinceMs);
  // Subscribed before the backlog is read, so nothing that happens meanwhile is lost.
  const live: TransitionEvent[] = [];
  let forward: ((e: TransitionEvent) => void) | undefined;
  const unsubscribe = req.follow
    ? daemon.history.subscribe((e) => wanted(e) && (forward ? forward(e) : live.push(e)))
    : () => {};
  try {
    const { events: past, error } = await daemon.history.read({ profile, sinceMs, limit: req.lines });
    if (
      profile !== undefined && !daemon.supervisor.hasProfile(profile) && past.length === 0 &&
      (await daemon.history.read({ profile, limit: 1 })).events.length === 0
    ) {
      throw new UserError(
        "unknown_profile",
        `unknown profile ${JSON.stringify(profile)} (not configured, no history)`,
      );
    }
    const health = daemon.history.health;
    const problems = [
      ...(health.ok ? [] : [
        `event history failing since ${health.since}: ${health.error} (new events are kept in memory only)`,
      ]),
      ...(error ? [`${error} (showing the events still in memory)`] : []),
    ];
    const warnings = problems.length > 0 ? problems : undefined;
    if (!req.follow) return { events: fitInFrame(past), ...(warnings ? { warnings } : {}) };
    const sent = new Set(past.map((e) => JSON.stringify(e)));
    const send = (event: TransitionEvent) => ctx.send({ id: ctx.requestId, event });
    for (const e of past) if (!ctx.signal.aborted) await send(e);
    for (let e = live.shift(); e !== undefined && !ctx.signal.aborted; e = live.shift()) {
      if (!sent.has(JSON.stringify(e))) await send(e);
    }
    forward = (e) => void send(e);
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) return resolve();
      ctx.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    return { events: [] };
  } finally {
    unsubscribe();
  }
}
