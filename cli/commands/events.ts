/**
 * `events [PROFILE] [--since D] [-f] [-n N]`: the event history — state transitions, restarts with their
 * trigger, forward losses and recoveries with their reasons — newest last, with relative times. The history
 * outlives the daemon, so when it is not running its file is read instead.
 */
import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import { locateDaemon, withClientOrOffline } from "../connect.ts";
import { UserError } from "../../lib/errors.ts";
import { tryParseDuration } from "../../lib/config/duration.ts";
import type { DaemonClient } from "../../lib/ipc/client.ts";
import type { EventsResult } from "../../lib/ipc/protocol.ts";
import { readHistoryFiles } from "../../lib/state/event_history.ts";
import type { TransitionEvent } from "../../lib/supervisor/types.ts";
import { escapeControl, jsonWithoutRawControls } from "../../lib/util/terminal_text.ts";
import { untilInterrupted } from "../interrupt.ts";
import { painter, paintState, relativeTime, table } from "../render.ts";

/** What a transition was, in one or two words: the column people scan for. */
export function transitionKind(e: TransitionEvent): string {
  switch (e.to) {
    case "backoff":
      return e.reason.startsWith("restarting") ? "restart" : "failure";
    case "failed":
      return "failed";
    case "degraded":
      return "forwards lost";
    case "running":
      return e.from === "degraded" ? "recovered" : e.from === "starting" ? "up" : "running";
    case "stopping":
      return e.reason.startsWith("restarting") ? "restart" : "stop";
    case "starting":
      return e.from === "backoff" || e.from === "stopping" ? "restart" : "start";
    default:
      return e.to;
  }
}

/** The cells of one event: age, profile, kind, `from → to`, reason (detail; cause). */
export function eventCells(e: TransitionEvent, now: number, color: boolean): string[] {
  const p = painter(color);
  const extra = [e.detail, e.cause].filter((x) => x !== undefined && x !== "").join("; ");
  const why = escapeControl(extra ? `${e.reason} (${extra})` : e.reason);
  return [
    p.dim(relativeTime(e.at, now)),
    p.cyan(escapeControl(e.profile)),
    transitionKind(e),
    `${e.from} → ${paintState(e.to, p)}`,
    why,
  ];
}

/** `--since`: a duration back from `now` (`30m`, `2h`) or an ISO 8601 time. */
export function parseSince(text: string, now: number): number {
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const at = Date.parse(text);
    if (!Number.isNaN(at)) return at;
  }
  const d = tryParseDuration(text);
  if (!d.ok || d.ms <= 0) {
    throw new UserError(
      "usage",
      `--since must be a duration such as 30m or 2h, or an ISO 8601 time; got ${JSON.stringify(text)}`,
    );
  }
  return now - d.ms;
}

/** Register `events`. */
export function registerEventsCommand(program: Command, ctx: CliContext): void {
  program.command("events")
    .description(
      "show the event history: state transitions, restarts and their trigger, forwards lost and recovered " +
        "(kept across daemon restarts; read from its file when the daemon is not running)",
    )
    .argument("[profile]", "only this profile")
    .option("--since <duration>", "only events of the last DURATION (30m, 2h) or since an ISO 8601 time")
    .option("-f, --follow", "keep printing new events until interrupted")
    .option("-n, --lines <n>", "at most this many past events", "100")
    .action(
      async (profile: string | undefined, opts: { since?: string; follow?: boolean; lines: string }) => {
        const lines = Number(opts.lines);
        if (!Number.isInteger(lines) || lines < 0 || lines > 100_000) {
          throw new UserError(
            "usage",
            `--lines must be a whole number up to 100000, got ${JSON.stringify(opts.lines)}`,
          );
        }
        const sinceMs = opts.since === undefined ? undefined : parseSince(opts.since, Date.now());
        const g = ctx.globals();
        const printList = (result: EventsResult) => {
          for (const w of result.warnings ?? []) if (!g.json) ctx.err(`warning: ${w}`);
          if (g.json) return ctx.json(result);
          const now = Date.now();
          if (result.events.length > 0) ctx.out(table(result.events.map((e) => eventCells(e, now, g.color))));
        };
        const printOne = (e: TransitionEvent) =>
          g.json
            ? ctx.out(jsonWithoutRawControls(JSON.stringify(e)))
            : ctx.out(eventCells(e, Date.now(), g.color).join("  "));
        const location = await locateDaemon(ctx);
        await withClientOrOffline(ctx, location, show, async (notRunning) => {
          const file = `${location.settings.stateDir}/events.jsonl`;
          ctx.err(`the daemon is not running; showing its event history file ${file}`);
          const events = await readHistoryFiles(file, { profile, sinceMs, limit: lines });
          if (opts.follow) {
            events.forEach(printOne);
            throw notRunning; // following needs the daemon: exit 3
          }
          printList({ events });
        });
        async function show(client: DaemonClient): Promise<void> {
          const request = {
            type: "events" as const,
            profile,
            lines,
            ...(sinceMs !== undefined ? { sinceMs } : {}),
          };
          if (!opts.follow) return printList(await client.request({ ...request, follow: false }));
          await untilInterrupted((signal) =>
            client.streamEvents({ ...request, follow: true }, printOne, { signal })
          );
        }
      },
    );
}
