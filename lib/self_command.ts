/**
 * How the program runs itself as a subprocess. The daemon delegates work that needs CLI-only libraries
 * (yaml for kubeconfigs) to a short-lived child of the same program, so those libraries never occupy the
 * daemon's memory. Under `deno run` that child is `deno run -A --no-prompt <main.ts>`; in a `deno compile`
 * binary it is the binary itself.
 */
import { type CommandResult, runCommand } from "./run_command.ts";

/** True when running as a `deno compile` binary rather than under `deno run`. */
export function isStandalone(): boolean {
  const build = Deno.build as { standalone?: boolean };
  if (typeof build.standalone === "boolean") return build.standalone;
  const base = Deno.execPath().split("/").pop() ?? "";
  return base !== "deno" && base !== "deno.exe";
}

/** Absolute path of this program's main.ts (next to lib/). */
export function mainModulePath(): string {
  return decodeURIComponent(new URL("../main.ts", import.meta.url).pathname);
}

/**
 * The argv prefix that runs this program again; append the verb and its options. `--no-prompt` makes a
 * missing permission an error instead of a blocking prompt on a terminal.
 */
export function selfCommand(): string[] {
  if (isStandalone()) return [Deno.execPath()];
  return [Deno.execPath(), "run", "-A", "--no-prompt", mainModulePath()];
}

/**
 * V8 flags of the daemon: it idles most of the time, so V8's memory-saving lite mode (no optimizing
 * compilers) and a 1 MB young generation cost nothing noticeable and save ~2.5 MB of RSS. `deno compile`
 * bakes the same flags into the binary (deno.json `compile` task).
 */
export const DAEMON_V8_FLAGS = "--lite-mode,--max-semi-space-size=1";

/**
 * The argv that starts the daemon role. Under `deno run` it adds `--no-config`: the daemon imports no npm
 * package, and skipping deno.json (import map, npm resolver, lockfile) saves another ~2.5 MB of RSS.
 */
export function daemonCommand(): string[] {
  if (isStandalone()) return [Deno.execPath(), "daemon"];
  return [
    Deno.execPath(),
    "run",
    "-A",
    "--no-prompt",
    "--no-config",
    `--v8-flags=${DAEMON_V8_FLAGS}`,
    mainModulePath(),
    "daemon",
  ];
}

/** What {@link runSelf} needs of a finished subprocess (a test's stand-in may leave out `timedOut`). */
export type SelfRunResult = Pick<CommandResult, "code" | "stdout" | "stderr"> & { timedOut?: boolean };

/** Options of {@link runSelf}. */
export interface RunSelfOptions {
  /** The subprocess is killed after this long. */
  timeoutMs: number;
  /** argv prefix that runs this program (default {@link selfCommand}). */
  command?: string[];
  /** Replaces the process runner (tests); it may throw, e.g. when the program cannot be started. */
  run?: (argv: string[], timeoutMs: number) => Promise<SelfRunResult>;
}

/**
 * Why {@link runSelf} got no usable answer: `timeout` (killed at the deadline), `exit` (non-zero exit
 * code; `stderr` holds what it said), `not_json` (stdout is not one JSON document) or `invalid` (the JSON
 * is not what the caller expects). Callers turn it into their own error with their own wording.
 */
export class SelfCommandError extends Error {
  /** Which of the failures above it was; callers choose their wording by it. */
  readonly reason: "timeout" | "exit" | "not_json" | "invalid";
  /** The exit code, when the subprocess exited. */
  readonly code: number | undefined;
  /** What the subprocess printed on stdout, for the caller's diagnostics. */
  readonly stdout: string;
  /** What the subprocess printed on stderr: usually the reason it failed. */
  readonly stderr: string;

  /** An error of `reason`; `result` carries what the subprocess left, when it ran at all. */
  constructor(
    reason: SelfCommandError["reason"],
    message: string,
    result: { code?: number; stdout?: string; stderr?: string } = {},
  ) {
    super(message);
    this.name = "SelfCommandError";
    this.reason = reason;
    this.code = result.code;
    this.stdout = result.stdout ?? "";
    this.stderr = result.stderr ?? "";
  }
}

async function runProcess(argv: string[], timeoutMs: number): Promise<SelfRunResult> {
  return await runCommand(argv, { timeoutMs });
}

/**
 * Runs this program's `verb` (e.g. `["config", "resolve", path]`) as a short-lived subprocess and returns
 * its stdout parsed as JSON, once `validate` accepts it: the daemon never trusts a child's output by its
 * type alone, since a child of another version or a crash halfway through can print anything. Throws
 * {@link SelfCommandError} when there is no valid answer; an error starting the process propagates.
 */
export async function runSelf<T>(
  verb: string[],
  validate: (value: unknown) => value is T,
  options: RunSelfOptions,
): Promise<T> {
  const argv = [...(options.command ?? selfCommand()), ...verb];
  const name = verb.slice(0, 2).join(" "); // "config resolve", "kube list-services"
  const result = await (options.run ?? runProcess)(argv, options.timeoutMs);
  if (result.timedOut) {
    throw new SelfCommandError("timeout", `${name} did not finish within ${options.timeoutMs} ms`, result);
  }
  if (result.code !== 0) {
    throw new SelfCommandError("exit", `${name} exited with code ${result.code}`, result);
  }
  let value: unknown;
  try {
    value = JSON.parse(result.stdout);
  } catch {
    throw new SelfCommandError("not_json", `${name} printed no JSON`, result);
  }
  if (!validate(value)) throw new SelfCommandError("invalid", `${name} printed an unexpected result`, result);
  return value;
}
