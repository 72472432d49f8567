/**
 * Runs a short-lived helper process (kubefwd `version quiet`, `sudo -n tee`, the `config resolve` and
 * `kube list-services` subprocesses, exec credential plugins) with stdin closed or fed, both pipes
 * drained, and a SIGKILL after a deadline: a hung helper must never hang the daemon. Dependency-free, so
 * the daemon can use it.
 */

/** What a finished helper printed. `timedOut` is true when the deadline killed it. */
export interface CommandResult {
  /** Exit code, as Deno reports it. */
  code: number;
  /** Everything printed on stdout. */
  stdout: string;
  /** Everything printed on stderr. */
  stderr: string;
  /** True when the deadline killed it. */
  timedOut: boolean;
}

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  /** Deadline after which the helper is SIGKILLed. */
  timeoutMs: number;
  /** Bytes written to stdin, which is then closed; default: stdin is /dev/null. */
  input?: Uint8Array;
  /** The complete environment (default: inherited). */
  env?: Record<string, string>;
  /** Discard stdout (e.g. `tee`'s echo of what it wrote). */
  discardStdout?: boolean;
}

/** Run `argv` to completion (or the deadline). Spawn errors such as NotFound propagate to the caller. */
export async function runCommand(argv: string[], opts: RunCommandOptions): Promise<CommandResult> {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env: opts.env,
    stdin: opts.input ? "piped" : "null",
    stdout: opts.discardStdout ? "null" : "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, opts.timeoutMs);
  try {
    if (opts.input) {
      const writer = child.stdin.getWriter();
      try {
        await writer.write(opts.input);
        await writer.close();
      } catch {
        // the child died early; its exit status tells why
      }
    }
    const out = await child.output();
    const dec = new TextDecoder();
    return {
      code: out.code,
      stdout: opts.discardStdout ? "" : dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
      timedOut,
    };
  } finally {
    clearTimeout(timer);
  }
}
