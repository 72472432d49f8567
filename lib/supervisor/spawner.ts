/**
 * Starting kubefwd children behind an interface, so the state machine is tested with scripted fake children
 * and runs real processes in production. The real spawner follows
 * docs/kubefwd-compatibility.md#output-streams and #signals-and-shutdown: own session and process group (a
 * terminal hang-up or Ctrl-C of the daemon never reaches kubefwd), stdin /dev/null, both pipes drained until
 * EOF (a full pipe stalls kubefwd, a closed one kills it with SIGPIPE), and a parent-death signal where Linux
 * offers one.
 */
import { deadline, valueOnTimeout } from "../util/async.ts";

/** How a child ended: `signal` is set (and `code` null) when it was killed by a signal. */
export interface ExitStatus {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  /** Signal name (e.g. `SIGKILL`), or null on a normal exit. */
  signal: string | null;
}

/** Which pipe a chunk came from. */
export type OutputStreamName = "stdout" | "stderr";

/** What to run. `argv[0]` should be an absolute path: the pid's /proc cmdline is compared with it later. */
export interface SpawnRequest {
  /** Program and arguments, never through a shell. */
  argv: string[];
  /** The complete environment of the child (nothing is inherited). */
  env: Record<string, string>;
  /** Working directory (default the daemon's). */
  cwd?: string;
  /** Called for every chunk read from either pipe, in order per pipe, until EOF. */
  onOutput: (stream: OutputStreamName, chunk: Uint8Array) => void;
}

/** A running child. */
export interface ChildHandle {
  /** The spawned process (sudo when via sudo): the one that gets signals. */
  pid: number;
  /**
   * The command line the process at `pid` runs once any wrapper has exec'd (the request's argv), used to
   * recognise it in /proc after a daemon crash.
   */
  argv: string[];
  /** Resolves once the child has exited and its pipes were read to the end. Never rejects. */
  exited: Promise<ExitStatus>;
  /**
   * Sends `signal` to the child, or to its whole process group with `group: true` (the child leads its own
   * group). A no-op once the child has exited, so a recycled pid is never signalled.
   */
  kill(signal: Deno.Signal, opts?: { group?: boolean }): void;
}

/** Starts children. Throws (e.g. Deno.errors.NotFound) when the program cannot be started at all. */
export interface Spawner {
  /** Starts `req` now; output flows to `req.onOutput` until EOF. */
  spawn(req: SpawnRequest): ChildHandle;
}

/** Options of {@link DenoSpawner}. */
export interface DenoSpawnerOptions {
  /**
   * Wrap the command in `setpriv --pdeathsig TERM --` (Linux with util-linux setpriv only), so kubefwd gets
   * SIGTERM and cleans up if the daemon is SIGKILLed. When kubefwd runs via sudo the wrapper goes before sudo,
   * but the kernel clears the parent-death signal when a set-user-ID program (sudo) is exec'd, so there the
   * guard is inert and only the orphan cleanup at the next daemon start (killOrphans) helps. Default true.
   */
  parentDeathGuard?: boolean;
  /** Path of setpriv; default /usr/bin/setpriv. */
  setprivPath?: string;
  /**
   * After the child exits, how long to keep reading pipes that a grandchild (credential plugin) may still
   * hold open before giving up on them. Default 2000 ms.
   */
  drainAfterExitMs?: number;
}

function fileExists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** The production spawner: Deno.Command with `detached: true` (setsid) and piped, always-drained output. */
export class DenoSpawner implements Spawner {
  readonly #wrapper: string[];
  readonly #drainAfterExitMs: number;

  /**
   * `parentDeathGuard` (default true) and `drainAfterExitMs` are the knobs; see {@link DenoSpawnerOptions}.
   */
  constructor(opts: DenoSpawnerOptions = {}) {
    const setpriv = opts.setprivPath ?? "/usr/bin/setpriv";
    const guard = (opts.parentDeathGuard ?? true) && Deno.build.os === "linux" && fileExists(setpriv);
    this.#wrapper = guard ? [setpriv, "--pdeathsig", "TERM", "--"] : [];
    this.#drainAfterExitMs = opts.drainAfterExitMs ?? 2000;
  }

  /** Whether children get the parent-death wrapper on this machine. */
  get parentDeathGuard(): boolean {
    return this.#wrapper.length > 0;
  }

  spawn(req: SpawnRequest): ChildHandle {
    if (req.argv.length === 0) throw new Error("spawn: empty argv");
    if (this.#wrapper.length > 0 && req.argv[0].includes("/") && !fileExists(req.argv[0])) {
      // Behind the wrapper a missing program would surface as setpriv's exit 127; keep the direct-spawn error.
      throw new Deno.errors.NotFound(`No such file or directory: ${req.argv[0]}`);
    }
    const full = [...this.#wrapper, ...req.argv];
    const child = new Deno.Command(full[0], {
      args: full.slice(1),
      env: req.env,
      clearEnv: true,
      cwd: req.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    }).spawn();
    return new DenoChild(child, [...req.argv], req.onOutput, this.#drainAfterExitMs);
  }
}

class DenoChild implements ChildHandle {
  readonly pid: number;
  readonly argv: string[];
  readonly exited: Promise<ExitStatus>;
  readonly #child: Deno.ChildProcess;
  #done = false;

  constructor(
    child: Deno.ChildProcess,
    argv: string[],
    onOutput: SpawnRequest["onOutput"],
    drainAfterExitMs: number,
  ) {
    this.#child = child;
    this.pid = child.pid;
    this.argv = argv;
    const readers = [
      child.stdout.getReader(),
      child.stderr.getReader(),
    ] as const;
    const pumps = [pump(readers[0], "stdout", onOutput), pump(readers[1], "stderr", onOutput)];
    this.exited = (async () => {
      const status = await child.status;
      this.#done = true;
      const drained = await deadline(Promise.all(pumps), drainAfterExitMs)
        .then(() => true, valueOnTimeout(false));
      if (!drained) {
        // A grandchild still holds the pipe; the child is gone, so closing our end now is harmless.
        await Promise.all(readers.map((r) => r.cancel().catch(() => {})));
        await Promise.all(pumps);
      }
      return status.signal !== null
        ? { code: null, signal: status.signal }
        : { code: status.code, signal: null };
    })();
  }

  kill(signal: Deno.Signal, opts: { group?: boolean } = {}): void {
    if (this.#done) return;
    try {
      if (opts.group) Deno.kill(-this.pid, signal);
      else this.#child.kill(signal);
    } catch {
      // Exited between the check and the call (ESRCH): nothing to signal.
    }
  }
}

async function pump(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  stream: OutputStreamName,
  onOutput: SpawnRequest["onOutput"],
): Promise<void> {
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      try {
        onOutput(stream, value);
      } catch {
        // A consumer bug must not stop the draining: an unread pipe stalls kubefwd.
      }
    }
  } catch {
    // Reader cancelled after exit.
  } finally {
    reader.releaseLock();
  }
}
