/**
 * `logs [PROFILE] [-f] [-n N]`: daemon events and kubefwd output, each line prefixed with its profile.
 * When the daemon is not running (that is when people need its log most), the log file is read instead.
 */
import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import { locateDaemon, withClientOrOffline } from "../connect.ts";
import { UserError } from "../../lib/errors.ts";
import type { DaemonClient } from "../../lib/ipc/client.ts";
import { isRecord } from "../../lib/util/is_record.ts";
import type { LogEntry } from "../../lib/supervisor/types.ts";
import { untilInterrupted } from "../interrupt.ts";
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

function isLogEntry(v: unknown): v is LogEntry {
  return isRecord(v) && typeof v.at === "string" && typeof v.level === "string" &&
    typeof v.source === "string" && typeof v.message === "string";
}

/** The parseable entries of JSON-lines log text (other lines are skipped). */
export function parseLogLines(text: string): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const v = JSON.parse(line);
      if (isLogEntry(v)) entries.push(v);
    } catch { /* a torn last line or foreign text */ }
  }
  return entries;
}

/**
 * The newest `lines` entries of the daemon's log file and its first rotation (`path.1`), oldest first,
 * limited to `profile` when given. A file that does not exist counts as empty.
 */
export async function readLogFile(path: string, lines: number, profile?: string): Promise<LogEntry[]> {
  const read = (p: string) =>
    Deno.readTextFile(p).catch((e) => {
      if (e instanceof Deno.errors.NotFound) return "";
      throw e;
    });
  const all = [...parseLogLines(await read(`${path}.1`)), ...parseLogLines(await read(path))];
  const mine = profile === undefined ? all : all.filter((e) => e.profile === profile);
  return lines === 0 ? [] : mine.slice(-lines);
}

/** Register `logs`. */
export function registerLogsCommand(program: Command, ctx: CliContext): void {
  program.command("logs")
    .description(
      "show daemon events and kubefwd output (prefixed with the profile); reads the log file when the " +
        "daemon is not running",
    )
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
      const location = await locateDaemon(ctx);
      await withClientOrOffline(ctx, location, show, async () => {
        const file = location.settings.logFile;
        ctx.err(`the daemon is not running; showing its log file ${file}`);
        (await readLogFile(file, lines, profile)).forEach(print);
      });
      async function show(client: DaemonClient): Promise<void> {
        if (!opts.follow) {
          const { entries } = await client.request({ type: "logs", profile, lines, follow: false });
          entries.forEach(print);
          return;
        }
        await untilInterrupted((signal) =>
          client.stream({ type: "logs", profile, lines, follow: true }, print, { signal })
        );
      }
    });
}
