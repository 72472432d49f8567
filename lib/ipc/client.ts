/**
 * The CLI side of the control socket: connect, handshake, then request/reply by id. Every failure the user
 * can act on surfaces as a UserError with the CLI contract's code (daemon not running → exit 3), so verbs
 * only render. Daemon-safe (no node:* imports) because the daemon's start-up probe uses {@link probeSocket}.
 */
import { UserError } from "../errors.ts";
import { isRecord } from "../util/is_record.ts";
import { deadline, isTimeoutError, Mutex } from "../util/async.ts";
import type { LogEntry, TransitionEvent } from "../supervisor/types.ts";
import { FrameReader, writeFrame } from "./framing.ts";
import {
  type ErrorBody,
  type HelloResponse,
  PROTOCOL_VERSION,
  type Request,
  type RequestType,
  type ResultMap,
} from "./protocol.ts";

/** Default wait for the handshake and for each reply. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** What is at a socket path: a daemon that accepts connections, a leftover file, or nothing. */
export type SocketProbe = "live" | "stale" | "absent";

/**
 * Connect once and hang up. Used by the server (refuse to start twice, replace a stale file) and by
 * {@link isDaemonRunning}. Permission problems are thrown, not guessed about.
 */
export async function probeSocket(socketPath: string): Promise<SocketProbe> {
  try {
    const conn = await Deno.connect({ transport: "unix", path: socketPath });
    conn.close();
    return "live";
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return "absent";
    if (err instanceof Deno.errors.ConnectionRefused) return "stale";
    throw err;
  }
}

/** True when a daemon accepts connections on the socket; for `start` (already running?) and scripts. */
export async function isDaemonRunning(socketPath: string): Promise<boolean> {
  return await probeSocket(socketPath) === "live";
}

/** An open, handshaken connection to the daemon. */
export interface DaemonClient {
  /** Send one request and wait for its reply; error replies are thrown as UserError. */
  request<T extends RequestType>(
    req: Extract<Request, { type: T }>,
    options?: { timeoutMs?: number },
  ): Promise<ResultMap[T]>;
  /**
   * Follow the log: `onLog` gets every streamed entry until the daemon ends the stream, the connection
   * closes, or `signal` aborts (then the connection is closed, which tells the daemon to stop).
   */
  stream(
    req: Extract<Request, { type: "logs" }>,
    onLog: (entry: LogEntry) => void,
    options?: { signal?: AbortSignal },
  ): Promise<void>;
  /** Follow the event history: like {@link DaemonClient.stream}, with every new transition. */
  streamEvents(
    req: Extract<Request, { type: "events" }>,
    onEvent: (event: TransitionEvent) => void,
    options?: { signal?: AbortSignal },
  ): Promise<void>;
  /** Close the connection; resolves when no read or write on it is pending any more. */
  close(): Promise<void>;
  /** The daemon's program version, from the handshake. */
  readonly daemonVersion: string;
  /** The daemon's pid from the handshake. */
  readonly daemonPid: number;
}

/** Options of {@link connectDaemon}. */
export interface ConnectOptions {
  /** This CLI's version, sent in the hello. */
  clientVersion: string;
  /** Handshake and per-request timeout; default {@link DEFAULT_REQUEST_TIMEOUT_MS}. */
  timeoutMs?: number;
}

function notRunning(socketPath: string, cause?: unknown): UserError {
  return new UserError(
    "daemon_not_running",
    `daemon is not running (socket ${socketPath}) — start it with: kubefwd-daemon start`,
    { cause },
  );
}

function userErrorFrom(body: ErrorBody): UserError {
  return new UserError(body.code, body.message, { details: body.details });
}

function asErrorBody(value: unknown): ErrorBody {
  if (isRecord(value) && typeof value.code === "string" && typeof value.message === "string") {
    return { code: value.code as ErrorBody["code"], message: value.message, details: value.details };
  }
  return { code: "protocol", message: "daemon sent a malformed error reply" };
}

/** Like {@link deadline}, but a timeout rejects with `onTimeout()` (a message for the user). */
async function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  try {
    return await deadline(promise, ms);
  } catch (e) {
    throw isTimeoutError(e) ? onTimeout() : e;
  }
}

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
  onLog?: (entry: LogEntry) => void;
  onEvent?: (event: TransitionEvent) => void;
}

class Client implements DaemonClient {
  readonly daemonVersion: string;
  readonly daemonPid: number;
  readonly #conn: Deno.Conn;
  readonly #reader: FrameReader;
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;
  #closeReason: Error | undefined;
  /** Requests are written one at a time, in call order. */
  readonly #writes = new Mutex();
  readonly #readLoop: Promise<void>;

  constructor(conn: Deno.Conn, reader: FrameReader, hello: HelloResponse, timeoutMs: number) {
    this.#conn = conn;
    this.#reader = reader;
    this.#timeoutMs = timeoutMs;
    this.daemonVersion = hello.daemonVersion;
    this.daemonPid = hello.pid;
    this.#readLoop = this.#runReadLoop();
  }

  async #runReadLoop(): Promise<void> {
    let reason: Error = new UserError("error", "the daemon closed the connection");
    try {
      for (;;) {
        const frame = await this.#reader.next();
        if (frame === undefined) break;
        this.#dispatch(frame);
      }
    } catch (err) {
      reason = new UserError("protocol", `bad reply from the daemon: ${(err as Error).message}`, {
        cause: err,
      });
    }
    this.#shutdown(reason);
  }

  #dispatch(frame: unknown): void {
    if (!isRecord(frame) || typeof frame.id !== "number") return;
    if (frame.id === 0 && frame.ok === false) {
      // The daemon gave up on the whole connection (idle timeout, protocol error, shutting down).
      this.#shutdown(userErrorFrom(asErrorBody(frame.error)));
      return;
    }
    const pending = this.#pending.get(frame.id);
    if (pending === undefined) return;
    if ("log" in frame) {
      if (isRecord(frame.log)) pending.onLog?.(frame.log as unknown as LogEntry);
      return;
    }
    if ("event" in frame) {
      if (isRecord(frame.event)) pending.onEvent?.(frame.event as unknown as TransitionEvent);
      return;
    }
    this.#pending.delete(frame.id);
    if (frame.ok === true) pending.resolve(frame.result);
    else pending.reject(userErrorFrom(asErrorBody(frame.error)));
  }

  #shutdown(reason: Error): void {
    if (!this.#closed) {
      this.#closed = true;
      this.#closeReason = reason;
      try {
        this.#conn.close();
      } catch {
        // already closed
      }
    }
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      const follows = pending.onLog !== undefined || pending.onEvent !== undefined;
      if (follows && reason === CLOSED_BY_US) pending.resolve(undefined);
      else pending.reject(reason);
    }
  }

  #send(id: number, request: Request, pending: Pending): void {
    if (this.#closed) throw this.#closeReason ?? CLOSED_BY_US;
    this.#pending.set(id, pending);
    void this.#writes.run(async () => {
      try {
        await writeFrame(this.#conn, { id, request });
      } catch (err) {
        this.#shutdown(
          new UserError("error", `lost the connection to the daemon: ${(err as Error).message}`),
        );
      }
    });
  }

  async request<T extends RequestType>(
    req: Extract<Request, { type: T }>,
    options: { timeoutMs?: number } = {},
  ): Promise<ResultMap[T]> {
    const id = this.#nextId++;
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    this.#send(id, req, { resolve, reject });
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    try {
      return await withDeadline(
        promise,
        timeoutMs,
        () => new UserError("error", `the daemon did not answer "${req.type}" within ${timeoutMs / 1000} s`),
      ) as ResultMap[T];
    } finally {
      this.#pending.delete(id);
    }
  }

  stream(
    req: Extract<Request, { type: "logs" }>,
    onLog: (entry: LogEntry) => void,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    return this.#follow(req, { onLog }, options);
  }

  streamEvents(
    req: Extract<Request, { type: "events" }>,
    onEvent: (event: TransitionEvent) => void,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    return this.#follow(req, { onEvent }, options);
  }

  async #follow(
    req: Request,
    handlers: Pick<Pending, "onLog" | "onEvent">,
    options: { signal?: AbortSignal },
  ): Promise<void> {
    const id = this.#nextId++;
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    const onAbort = () => this.#shutdown(CLOSED_BY_US);
    if (options.signal?.aborted) return;
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      this.#send(id, req, { resolve, reject, ...handlers });
      await promise;
    } catch (err) {
      // The daemon going away ends a follow normally; only real error replies propagate.
      if (!(err instanceof UserError && this.#closed && err.code === "error")) throw err;
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  async close(): Promise<void> {
    this.#shutdown(CLOSED_BY_US);
    await this.#readLoop;
    await this.#writes.run(() => {}); // every request queued so far is written (or failed)
  }
}

const CLOSED_BY_US = new UserError("error", "connection closed");

/**
 * Connect to the daemon and handshake. A missing socket or a refused connection is `daemon_not_running`
 * (exit 3); a protocol mismatch is `version_mismatch` naming both versions and the fix.
 */
export async function connectDaemon(socketPath: string, options: ConnectOptions): Promise<DaemonClient> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  let conn: Deno.Conn;
  try {
    conn = await Deno.connect({ transport: "unix", path: socketPath });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.ConnectionRefused) {
      throw notRunning(socketPath, err);
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new UserError("error", `no permission to use the daemon socket ${socketPath}`, { cause: err });
    }
    throw err;
  }
  const reader = new FrameReader(conn);
  try {
    const hello = await withDeadline(
      handshake(conn, reader, options.clientVersion),
      timeoutMs,
      () =>
        new UserError(
          "error",
          `the daemon at ${socketPath} did not answer the handshake within ${timeoutMs / 1000} s`,
        ),
    );
    return new Client(conn, reader, hello, timeoutMs);
  } catch (err) {
    try {
      conn.close();
    } catch {
      // already closed
    }
    throw err;
  }
}

async function handshake(
  conn: Deno.Conn,
  reader: FrameReader,
  clientVersion: string,
): Promise<HelloResponse> {
  await writeFrame(conn, { type: "hello", protocolVersion: PROTOCOL_VERSION, clientVersion });
  const reply = await reader.next();
  if (reply === undefined) {
    throw new UserError("error", "the daemon closed the connection during the handshake");
  }
  if (isRecord(reply) && reply.ok === false && isRecord(reply.error)) {
    throw userErrorFrom(asErrorBody(reply.error));
  }
  if (
    !isRecord(reply) || reply.type !== "hello" || typeof reply.protocolVersion !== "number" ||
    typeof reply.daemonVersion !== "string" || typeof reply.pid !== "number"
  ) {
    throw new UserError("protocol", "the daemon sent an invalid handshake reply");
  }
  const hello = reply as unknown as HelloResponse;
  if (!hello.ok || hello.protocolVersion !== PROTOCOL_VERSION) {
    throw new UserError(
      "version_mismatch",
      `daemon ${hello.daemonVersion} speaks protocol ${hello.protocolVersion}, CLI ${clientVersion} speaks ` +
        `protocol ${PROTOCOL_VERSION} — restart the daemon: kubefwd-daemon restart`,
      {
        details: { daemonVersion: hello.daemonVersion, daemonProtocol: hello.protocolVersion, clientVersion },
      },
    );
  }
  return hello;
}
