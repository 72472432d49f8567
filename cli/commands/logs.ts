/** `logs [PROFILE] [-f] [-n N]`: daemon events and kubefwd output, each line prefixed with its profile. */
import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import { withClient } from "../connect.ts";
import { UserError } from "../../lib/errors.ts";
import type { LogEntry } from "../../lib/supervisor/types.ts";
import { painter } from "../render.ts";
import { escapeControl, jsonWithoutRawControls } from "../../lib/util/terminal_text.ts";

/**
 * One human log line: `time profile/stream level message`. Control characters from kubefwd's output
 * (terminal escape sequences) are shown escaped, never sent to the terminal.
 */
export function formatLogEntry(e: LogEntry, color: boolean): string {
  const p = painter(color);
  const who = escapeControl(e.profile ? `${e.profile}/${e.source}` : e.source);
  const level = e.level === "error"
    ? p.red("ERROR")
    : e.level === "warn"
    ? p.yellow("WARN ")
    : e.level === "debug"
    ? p.dim("DEBUG")
    : "INFO ";
  return `${p.dim(escapeControl(e.at))} ${level} ${p.cyan(who)} ${escapeControl(e.message)}`;
}

/** Register `logs`. */
export function registerLogsCommand(program: Command, ctx: CliContext): void {
  program.command("logs")
    .description("show daemon events and kubefwd output (prefixed with the profile)")
    .argument("[profile]", "only this profile")
    .option("-f, --follow", "keep printing new lines until interrupted")
    .option("-n, --lines <n>", "how many past lines", "100")
    .action(async (profile: string | undefined, opts: { follow?: boolean; lines: string }) => {
      const lines = Number(opts.lines);
      if (!Number.isInteger(lines) || lines < 0) {
        throw new UserError("usage", `--lines must be a whole number, got ${JSON.stringify(opts.lines)}`);
      }
      const g = ctx.globals();
      const print = (e: LogEntry) =>
        g.json ? ctx.out(jsonWithoutRawControls(JSON.stringify(e))) : ctx.out(formatLogEntry(e, g.color));
      await withClient(ctx, async (client) => {
        if (!opts.follow) {
          const { entries } = await client.request({ type: "logs", profile, lines, follow: false });
          entries.forEach(print);
          return;
        }
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        Deno.addSignalListener("SIGINT", onSignal);
        try {
          await client.stream({ type: "logs", profile, lines, follow: true }, print, { signal: stop.signal });
        } finally {
          Deno.removeSignalListener("SIGINT", onSignal);
        }
      });
    });
}
