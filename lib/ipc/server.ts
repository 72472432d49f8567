/**
 * The daemon side of the control socket. It owns everything a handler should not have to think about:
 * socket placement and permissions (never reachable by another user, not even between listen and chmod),
 * stale-socket replacement, the hello handshake, framing limits, per-connection timeouts, error mapping,
 * and isolating one misbehaving client from the rest of the daemon.
 *
 * Single instance is NOT decided here: take the state-directory lock (lib/state/lock.ts) before calling
 * {@link startIpcServer}, so two daemons starting at once cannot both replace the same stale socket.
 */
import { UserError } from "../errors.ts";
import { dirname } from "../util/path.ts";
import { deadline, delay, Mutex, valueOnTimeout } from "../util/async.ts";
import type { LogEntry } from "../supervisor/types.ts";
import { probeSocket } from "./client.ts";
import { encodeFrame, FrameError, FrameReader, writeAll } from "./framing.ts";
import {
  type ErrorBody,
  type HelloResponse,
  MAX_FRAME_BYTES,
  parseHello,
  parseRequestFrame,
  PROTOCOL_VERSION,
  ProtocolError,
  type Request,
  type RequestFrame,
  type ResponseFrame,
} from "./protocol.ts";

/** What a handler gets besides the request. */
export interface HandlerContext {
  /** Aborts when the client disconnects or the server closes; follow streams end on it. */
  signal: AbortSignal;
  /**
   * Send an extra frame before the reply (the `{id, log}` frames of `logs --follow`). Never rejects: on a
   * dead connection it resolves and `signal` is aborted. A client that falls more than
   * {@link MAX_PENDING_WRITES} frames behind is disconnected rather than buffered without bound.
   */
  send(frame: ResponseFrame): Promise<void>;
  /** `send({id, log: entry})` with this request's id: the usual way to stream a log entry. */
  sendLog(entry: LogEntry): Promise<void>;
  /** The id of the request being handled; `send` stamps it on every frame regardless of what it carries. */
  requestId: number;
}

/** Answers one request; the resolved value becomes `result`, a thrown UserError becomes `error`. */
export type RequestHandler = (request: Request, ctx: HandlerContext) => Promise<unknown>;

/** Options of {@link startIpcServer}. */
export interface IpcServerOptions {
  /** Where to listen; the parent directory is created private to the user. */
  socketPath: string;
  /** Sent in the hello reply. */
  daemonVersion: string;
  /** Sent in the hello reply. */
  pid: number;
  /** Runs one request; a thrown UserError becomes an error reply with its code. */
  handle: RequestHandler;
  /** Close a connection that sends no frame for this long while no request of it is running; default 30 s. */
  idleTimeoutMs?: number;
  /** Close a connection that does not say hello within this long; default 5 s. */
  handshakeTimeoutMs?: number;
  /** Connections beyond this are answered with an error and closed; default {@link DEFAULT_MAX_CONNECTIONS}. */
  maxConnections?: number;
  /** How long `close()` lets running requests finish and replies drain; default 1 s. */
  closeGraceMs?: number;
  /** Called for handler failures that are not UserErrors (bugs) and for accept errors, to log them. */
  onError?: (error: unknown, request?: Request) => void;
}

/** A running control server. */
export interface IpcServer {
  /**
   * Stop accepting, abort handler signals, give running requests {@link IpcServerOptions.closeGraceMs} to
   * reply, close every connection and remove the socket file. Idempotent.
   */
  close(): Promise<void>;
  /** Open connections right now (for tests and diagnostics). */
  readonly connections: number;
  /** The socket path it listens on. */
  readonly socketPath: string;
}

/** Requests of one connection that may run at once; the next frame is read when one finishes. */
export const MAX_IN_FLIGHT_PER_CONNECTION = 16;
/** Frames queued for one slow client before it is disconnected. */
export const MAX_PENDING_WRITES = 1000;
/** Default connection cap: far above any real CLI use, far below the file-descriptor limit. */
export const DEFAULT_MAX_CONNECTIONS = 1000;
/** Per-connection read buffer: requests are a few hundred bytes, and 200 clients × 64 KiB would be 13 MB. */
const CONNECTION_READ_BUFFER_BYTES = 4 * 1024;
/** Longest socket path the kernel accepts (sun_path is 108 bytes including the NUL). */
const MAX_SOCKET_PATH_BYTES = 107;
/** How long a goodbye frame to a client that does not read may take before we just hang up. */
const GOODBYE_WRITE_MS = 1000;

function octal(mode: number): string {
  return "0" + (mode & 0o777).toString(8);
}

/** Wait for `promise` at most `ms`: running out of time is not an error, a rejection of `promise` is. */
function atMost(promise: Promise<unknown>, ms: number): Promise<void> {
  return deadline(promise, ms).then(() => {}, valueOnTimeout(undefined));
}

/**
 * Make sure the socket's directory exists, is a directory we own and is 0700. A directory owned by
 * someone else is refused: they could swap the socket under us.
 */
export async function prepareSocketDir(dir: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    info = await Deno.stat(dir);
  }
  if (!info.isDirectory) throw new UserError("error", `socket directory ${dir} is not a directory`);
  const uid = Deno.uid();
  if (uid !== null && info.uid !== null && info.uid !== uid) {
    throw new UserError(
      "error",
      `socket directory ${dir} belongs to uid ${info.uid}, not to us (uid ${uid}); choose another socket path`,
    );
  }
  if (info.mode !== null && (info.mode & 0o777) !== 0o700) {
    // Our own directory is tightened; a general one (say $HOME, or /tmp) is never re-moded behind the
    // user's back: the socket must not live there.
    if (!isOwnSocketDir(dir)) {
      throw new UserError(
        "error",
        `socket directory ${dir} is accessible by others (mode ${octal(info.mode)}); put socket_path in a ` +
          `private directory, e.g. ${dir.replace(/\/$/, "")}/kubefwd-daemon/daemon.sock`,
      );
    }
    await Deno.chmod(dir, 0o700);
  }
}

/** A directory this program owns by name (the XDG defaults end in `kubefwd-daemon`). */
function isOwnSocketDir(dir: string): boolean {
  return /(^|\/)kubefwd-daemon[^/]*\/?$/.test(dir);
}

/**
 * Clear the way for a new socket: refuse when a daemon answers on it, remove a stale socket file left by
 * a crashed daemon, and refuse to delete anything that is not a socket.
 */
async function clearStaleSocket(socketPath: string): Promise<void> {
  const probe = await probeSocket(socketPath);
  if (probe === "live") {
    throw new UserError("error", `daemon already running (socket ${socketPath} accepts connections)`);
  }
  if (probe === "absent") return;
  const info = await Deno.lstat(socketPath);
  if (info.isSocket !== true) {
    throw new UserError("error", `${socketPath} exists and is not a socket; refusing to replace it`);
  }
  await Deno.remove(socketPath);
}

function errorBody(err: unknown): ErrorBody {
  if (err instanceof UserError) {
    return err.details === undefined
      ? { code: err.code, message: err.message }
      : { code: err.code, message: err.message, details: err.details };
  }
  if (err instanceof ProtocolError) return { code: "protocol", message: err.message };
  return { code: "error", message: err instanceof Error ? err.message : String(err) };
}

/** The id of a frame that failed validation, when it has one, so the client can match the error. */
function frameIdOf(value: unknown): number {
  if (typeof value === "object" && value !== null && "id" in value) {
    const id = (value as { id: unknown }).id;
    if (typeof id === "number" && Number.isSafeInteger(id)) return id;
  }
  return 0;
}

interface ConnectionSettings {
  daemonVersion: string;
  pid: number;
  handle: RequestHandler;
  idleTimeoutMs: number;
  handshakeTimeoutMs: number;
  onError?: (error: unknown, request?: Request) => void;
}

/** One client connection: handshake, read loop, concurrent requests, serialised writes. */
class Connection {
  readonly #conn: Deno.Conn;
  readonly #settings: ConnectionSettings;
  readonly #reader: FrameReader;
  readonly #abort = new AbortController();
  readonly #forced = Promise.withResolvers<void>();
  readonly #inFlight = new Set<Promise<void>>();
  /** Frames are written one at a time, in the order they were queued. */
  readonly #writes = new Mutex();
  #pendingWrites = 0;
  #closed = false;
  #draining = false;
  #waitingForFrame = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(conn: Deno.Conn, settings: ConnectionSettings) {
    this.#conn = conn;
    this.#settings = settings;
    this.#reader = new FrameReader(conn, {
      maxBytes: MAX_FRAME_BYTES,
      bufferBytes: CONNECTION_READ_BUFFER_BYTES,
    });
  }

  async serve(): Promise<void> {
    try {
      if (await this.#handshake()) await this.#requestLoop();
    } catch (err) {
      this.#settings.onError?.(err);
    } finally {
      this.shutdown();
    }
  }

  /** Server closing: end follow streams and refuse new requests; running ones may still reply. */
  drain(): void {
    this.#draining = true;
    this.#abort.abort();
  }

  /** Resolves when no request is running and every queued frame is written. */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
    await this.#writes.run(() => {}); // every frame queued so far is written
  }

  /** Close now. Pending reads and writes fail, and their tasks end. */
  shutdown(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#disarm();
    this.#abort.abort();
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    this.#forced.resolve();
  }

  async #handshake(): Promise<boolean> {
    const seconds = this.#settings.handshakeTimeoutMs / 1000;
    this.#arm(this.#settings.handshakeTimeoutMs, `no hello within ${seconds} s`);
    const value = await this.#nextFrame();
    if (value === undefined || this.#closed) return false;
    let clientVersion: string;
    let clientProtocol: number;
    try {
      ({ clientVersion, protocolVersion: clientProtocol } = parseHello(value));
    } catch (err) {
      await this.#goodbye(0, (err as Error).message);
      return false;
    }
    const ok = clientProtocol === PROTOCOL_VERSION;
    const reply: HelloResponse = {
      type: "hello",
      ok,
      protocolVersion: PROTOCOL_VERSION,
      daemonVersion: this.#settings.daemonVersion,
      pid: this.#settings.pid,
    };
    if (!ok) {
      reply.message = `daemon speaks protocol ${PROTOCOL_VERSION}, CLI speaks ${clientProtocol} — ` +
        `restart the daemon: kubefwd-daemon restart (daemon ${this.#settings.daemonVersion}, CLI ${clientVersion})`;
    }
    await this.#write(reply);
    return ok && !this.#closed;
  }

  async #requestLoop(): Promise<void> {
    const idleSeconds = this.#settings.idleTimeoutMs / 1000;
    for (;;) {
      while (this.#inFlight.size >= MAX_IN_FLIGHT_PER_CONNECTION && !this.#closed) {
        await Promise.race([...this.#inFlight, this.#forced.promise]);
      }
      if (this.#closed) return;
      this.#waitingForFrame = true;
      if (this.#inFlight.size === 0) this.#armIdle(idleSeconds);
      const value = await this.#nextFrame();
      if (this.#closed) return;
      if (value === undefined) {
        // The client hung up (or only shut down its write side): streams end, running requests still
        // get to reply in case the client is still reading.
        this.#abort.abort();
        await Promise.race([Promise.all(this.#inFlight), this.#forced.promise]);
        return;
      }
      let frame: RequestFrame;
      try {
        frame = parseRequestFrame(value);
      } catch (err) {
        await this.#goodbye(frameIdOf(value), (err as Error).message);
        return;
      }
      if (this.#draining) {
        await this.#send({
          id: frame.id,
          ok: false,
          error: { code: "error", message: "the daemon is shutting down" },
        });
        continue;
      }
      this.#dispatch(frame);
    }
  }

  /**
   * The next frame's value; `undefined` at the end of the stream, and after a frame that cannot be decoded
   * (answered with a goodbye, which closes the connection). Either way the timer armed for it is off.
   */
  async #nextFrame(): Promise<unknown> {
    try {
      return await this.#reader.next();
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      await this.#goodbye(0, err.message);
      return undefined;
    } finally {
      this.#waitingForFrame = false;
      this.#disarm();
    }
  }

  #dispatch(frame: RequestFrame): void {
    const task = this.#run(frame);
    this.#inFlight.add(task);
    task.then(() => {
      this.#inFlight.delete(task);
      if (this.#inFlight.size === 0 && this.#waitingForFrame && !this.#closed) {
        this.#armIdle(this.#settings.idleTimeoutMs / 1000);
      }
    });
  }

  async #run(frame: RequestFrame): Promise<void> {
    let reply: ResponseFrame;
    try {
      const result = await this.#settings.handle(frame.request, {
        signal: this.#abort.signal,
        send: (extra) => this.#send({ ...extra, id: frame.id }),
        sendLog: (log) => this.#send({ id: frame.id, log }),
        requestId: frame.id,
      });
      reply = { id: frame.id, ok: true, result: result ?? null };
    } catch (err) {
      reply = { id: frame.id, ok: false, error: errorBody(err) };
      if (!(err instanceof UserError)) {
        try {
          this.#settings.onError?.(err, frame.request);
        } catch {
          // a failing error reporter must not take the connection down
        }
      }
    }
    await this.#send(reply);
  }

  /** Queue a reply or stream frame; replies too large for the client become an error reply. */
  #send(frame: ResponseFrame): Promise<void> {
    if (this.#closed) return Promise.resolve();
    let bytes: Uint8Array;
    try {
      bytes = encodeFrame(frame);
    } catch (err) {
      if ("log" in frame || "event" in frame) return Promise.resolve();
      bytes = encodeFrame({
        id: frame.id,
        ok: false,
        error: { code: "error", message: `the reply could not be sent: ${(err as Error).message}` },
      });
    }
    return this.#enqueue(bytes);
  }

  #write(value: unknown): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return this.#enqueue(encodeFrame(value));
  }

  #enqueue(bytes: Uint8Array): Promise<void> {
    if (this.#pendingWrites >= MAX_PENDING_WRITES) {
      this.shutdown();
      return Promise.resolve();
    }
    this.#pendingWrites++;
    return this.#writes.run(async () => {
      try {
        if (!this.#closed) await writeAll(this.#conn, bytes);
      } catch {
        this.shutdown(); // before the next frame's turn: it then sees #closed and writes nothing
      } finally {
        this.#pendingWrites--;
      }
    });
  }

  /** Send a connection-level error (id 0 unless the bad frame had an id) and hang up. */
  async #goodbye(id: number, message: string): Promise<void> {
    await atMost(this.#send({ id, ok: false, error: { code: "protocol", message } }), GOODBYE_WRITE_MS);
    this.shutdown();
  }

  #armIdle(idleSeconds: number): void {
    this.#arm(this.#settings.idleTimeoutMs, `idle for ${idleSeconds} s`);
  }

  #arm(ms: number, message: string): void {
    this.#disarm();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#goodbye(0, message);
    }, ms);
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * Listen on the control socket and serve until `close()`. Throws a UserError when another daemon answers
 * on the socket, when the directory belongs to another user, or when the path is not a socket.
 */
export async function startIpcServer(options: IpcServerOptions): Promise<IpcServer> {
  const { socketPath } = options;
  if (new TextEncoder().encode(socketPath).length > MAX_SOCKET_PATH_BYTES) {
    throw new UserError(
      "error",
      `socket path ${socketPath} is too long for a Unix socket (limit ${MAX_SOCKET_PATH_BYTES} bytes)`,
    );
  }
  await prepareSocketDir(dirname(socketPath));
  await clearStaleSocket(socketPath);

  let listener: Deno.Listener;
  try {
    listener = Deno.listen({ transport: "unix", path: socketPath });
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) {
      throw new UserError("error", `daemon already running (socket ${socketPath} is in use)`, { cause: err });
    }
    throw err;
  }
  try {
    // Inside a 0700 directory the socket was never reachable by others; 0600 keeps it so if the
    // directory's mode is ever widened.
    await Deno.chmod(socketPath, 0o600);
  } catch (err) {
    listener.close();
    throw err;
  }
  const dirInfo = await Deno.stat(dirname(socketPath));
  if (dirInfo.mode !== null && (dirInfo.mode & 0o077) !== 0) {
    listener.close();
    throw new UserError("error", `socket directory mode changed to ${octal(dirInfo.mode)} while starting`);
  }

  const settings: ConnectionSettings = {
    daemonVersion: options.daemonVersion,
    pid: options.pid,
    handle: options.handle,
    idleTimeoutMs: options.idleTimeoutMs ?? 30_000,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5_000,
    onError: options.onError,
  };
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const closeGraceMs = options.closeGraceMs ?? 1_000;
  const connections = new Set<Connection>();
  const tasks = new Set<Promise<void>>();
  let closing = false;

  const track = (task: Promise<void>) => {
    tasks.add(task);
    task.finally(() => tasks.delete(task));
  };

  const refuse = (conn: Deno.Conn) => {
    const bytes = encodeFrame({
      id: 0,
      ok: false,
      error: { code: "error", message: `too many connections (limit ${maxConnections})` },
    });
    track(
      atMost(writeAll(conn, bytes), GOODBYE_WRITE_MS).catch(() => {}).finally(() => {
        try {
          conn.close();
        } catch {
          // already closed
        }
      }),
    );
  };

  const acceptLoop = (async () => {
    while (!closing) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (closing || err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted) {
          return;
        }
        options.onError?.(err);
        // e.g. out of file descriptors: back off instead of spinning.
        await delay(100);
        continue;
      }
      if (closing) {
        conn.close();
        return;
      }
      if (connections.size >= maxConnections) {
        refuse(conn);
        continue;
      }
      const connection = new Connection(conn, settings);
      connections.add(connection);
      track(connection.serve().finally(() => connections.delete(connection)));
    }
  })();

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      try {
        listener.close();
      } catch {
        // already closed
      }
      await acceptLoop;
      for (const c of connections) c.drain();
      await atMost(Promise.all([...connections].map((c) => c.settled())), closeGraceMs);
      for (const c of connections) c.shutdown();
      while (tasks.size > 0) await Promise.all(tasks);
      await removeIfSocket(socketPath);
    })();
    return closed;
  };

  return {
    close,
    get connections() {
      return connections.size;
    },
    socketPath,
  };
}

/** Deno unlinks the socket when the listener closes, but asynchronously if an accept was pending. */
async function removeIfSocket(path: string): Promise<void> {
  try {
    const info = await Deno.lstat(path);
    if (info.isSocket === true) await Deno.remove(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}
