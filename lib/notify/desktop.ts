/**
 * Desktop notifications through the platform's own helper: `notify-send` (libnotify) on Linux, `osascript`
 * on macOS. No shell is involved anywhere: every string is one argv element. `notify-send` gets `--` before
 * the texts (a text starting with `-` is no option) and its body is escaped for the markup notification
 * servers apply to bodies; `osascript` runs a fixed script that reads the texts from its `argv`, so a
 * profile name or a kubefwd message containing quotes, backslashes or newlines is data, never script.
 */
import { runCommand } from "../run_command.ts";
import type { Notification } from "./policy.ts";
import type { NotificationSender, SendOutcome } from "./sender.ts";

/** Longest a helper may run before it is killed: a hung notification service must not pile up helpers. */
export const HELPER_TIMEOUT_MS = 5000;

/** Longest text passed on; notification bubbles show a few lines at most. */
const MAX_TEXT = 400;

/** The script `osascript` runs; the title and body arrive as its arguments. */
export const APPLESCRIPT = [
  "on run argv",
  "display notification (item 2 of argv) with title (item 1 of argv)",
  "end run",
];

/** C0 controls except tab and newline, DEL and C1: never passed to a desktop helper. */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Control characters other than newline and tab shown as `\xNN`; clipped to {@link MAX_TEXT}. */
export function plainText(text: string): string {
  const clean = text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return clean.length <= MAX_TEXT ? clean : clean.slice(0, MAX_TEXT - 1) + "…";
}

/** Bodies are markup for most notification servers: `&`, `<`, `>` must arrive as text. */
function markupEscaped(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** The `notify-send` command line for `n`. */
export function notifySendArgv(n: Notification): string[] {
  return [
    "notify-send",
    "--app-name=kubefwd-daemon",
    `--urgency=${n.urgency}`,
    "--",
    plainText(n.title),
    markupEscaped(plainText(n.body)),
  ];
}

/** The `osascript` command line for `n`: a constant script, the texts as its arguments. */
export function osascriptArgv(n: Notification): string[] {
  return ["osascript", ...APPLESCRIPT.flatMap((line) => ["-e", line]), plainText(n.title), plainText(n.body)];
}

/** Options of {@link DesktopSender}. */
export interface DesktopSenderOptions {
  /** `darwin` uses osascript, anything else notify-send. */
  platform: string;
  /** The helper's environment (PATH, the session bus). */
  env: Record<string, string>;
  /** Deadline of one helper run (default {@link HELPER_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** Whether a path exists (default: Deno.stat); finds the session bus socket. */
  exists?: (path: string) => Promise<boolean>;
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The real sender: the platform's helper, under a deadline, with problems reported as outcomes. */
export class DesktopSender implements NotificationSender {
  readonly #opts: DesktopSenderOptions;

  /** A sender for `opts.platform`. */
  constructor(opts: DesktopSenderOptions) {
    this.#opts = opts;
  }

  async send(n: Notification): Promise<SendOutcome> {
    const { platform, env } = this.#opts;
    const darwin = platform === "darwin";
    if (!darwin && !(await this.#hasSession())) {
      return {
        ok: false,
        problem: "no_session",
        message: "no desktop session (neither DBUS_SESSION_BUS_ADDRESS nor $XDG_RUNTIME_DIR/bus)",
      };
    }
    const argv = darwin ? osascriptArgv(n) : notifySendArgv(n);
    const timeoutMs = this.#opts.timeoutMs ?? HELPER_TIMEOUT_MS;
    try {
      const r = await runCommand(argv, { timeoutMs, env, discardStdout: true });
      if (r.timedOut) {
        return { ok: false, problem: "failed", message: `${argv[0]} did not finish within ${timeoutMs} ms` };
      }
      if (r.code !== 0) {
        const why = plainText(r.stderr.trim().split("\n").pop() ?? "");
        return {
          ok: false,
          problem: "failed",
          message: `${argv[0]} exited with ${r.code}${why ? `: ${why}` : ""}`,
        };
      }
      return { ok: true };
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        const hint = darwin ? "" : " (install libnotify: the libnotify-bin or libnotify package)";
        return { ok: false, problem: "missing_helper", message: `${argv[0]} is not on PATH${hint}` };
      }
      return { ok: false, problem: "failed", message: `cannot run ${argv[0]}: ${(e as Error).message}` };
    }
  }

  async #hasSession(): Promise<boolean> {
    const { env } = this.#opts;
    if (env.DBUS_SESSION_BUS_ADDRESS) return true;
    const runtime = env.XDG_RUNTIME_DIR;
    return runtime !== undefined && runtime !== "" &&
      await (this.#opts.exists ?? pathExists)(`${runtime}/bus`);
  }
}
