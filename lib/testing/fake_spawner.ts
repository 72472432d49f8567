/** A {@link Spawner} for tests whose children are scripted objects instead of processes. */
import type { ChildHandle, ExitStatus, Spawner, SpawnRequest } from "../supervisor/spawner.ts";

/** A scripted child for state-machine tests: the test decides what it prints, when it exits, how it reacts. */
export class FakeChild implements ChildHandle {
  readonly pid: number;
  readonly argv: string[];
  /** A copy of the spawn request's environment, for assertions on what the child got. */
  readonly env: Record<string, string>;
  readonly exited: Promise<ExitStatus>;
  /** Every signal received, in order. */
  readonly signals: { signal: Deno.Signal; group: boolean }[] = [];
  /** When false, SIGTERM/SIGINT are recorded but ignored (a hung kubefwd). */
  exitOnTerm = true;
  /** Optional override of the reaction to a signal; return true when handled. */
  onSignal?: (signal: Deno.Signal, group: boolean) => boolean;
  #resolve!: (s: ExitStatus) => void;
  #onOutput: SpawnRequest["onOutput"];
  #status: ExitStatus | undefined;
  readonly #encoder = new TextEncoder();

  /** A child for `req`, alive until the test calls {@link exit} or a signal ends it. */
  constructor(pid: number, req: SpawnRequest) {
    this.pid = pid;
    this.argv = [...req.argv];
    this.env = { ...req.env };
    this.#onOutput = req.onOutput;
    this.exited = new Promise((resolve) => this.#resolve = resolve);
  }

  /** True until {@link exit}. */
  get alive(): boolean {
    return this.#status === undefined;
  }

  /** The exit status, once exited. */
  get status(): ExitStatus | undefined {
    return this.#status;
  }

  /** Writes raw text to stdout (include the "\n"). */
  stdout(text: string): void {
    if (this.alive) this.#onOutput("stdout", this.#encoder.encode(text));
  }

  /** Writes raw text to stderr (include the "\n"). */
  stderr(text: string): void {
    if (this.alive) this.#onOutput("stderr", this.#encoder.encode(text));
  }

  /** Exits with a code, or killed by `signal` when given. */
  exit(code: number | null, signal: string | null = null): void {
    if (!this.alive) return;
    this.#status = signal !== null ? { code: null, signal } : { code, signal: null };
    this.#resolve(this.#status);
  }

  kill(signal: Deno.Signal, opts: { group?: boolean } = {}): void {
    if (!this.alive) return;
    const group = opts.group ?? false;
    this.signals.push({ signal, group });
    if (this.onSignal?.(signal, group)) return;
    if (signal === "SIGKILL") this.exit(null, "SIGKILL");
    else if ((signal === "SIGTERM" || signal === "SIGINT") && this.exitOnTerm) this.exit(0);
  }
}

/** A spawner whose children are {@link FakeChild}ren; `onSpawn` scripts each new child. */
export class FakeSpawner implements Spawner {
  /** Every child spawned, oldest first. */
  readonly children: FakeChild[] = [];
  /** Called synchronously right after each spawn. */
  onSpawn?: (child: FakeChild) => void;
  /** When set, the next spawn throws it (then it is cleared). */
  failNext?: Error;
  #nextPid = 4000;

  spawn(req: SpawnRequest): ChildHandle {
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = undefined;
      throw e;
    }
    const child = new FakeChild(this.#nextPid++, req);
    this.children.push(child);
    this.onSpawn?.(child);
    return child;
  }

  /** The most recent child. */
  get last(): FakeChild | undefined {
    return this.children[this.children.length - 1];
  }

  /** Children that have not exited. */
  get alive(): FakeChild[] {
    return this.children.filter((c) => c.alive);
  }
}
