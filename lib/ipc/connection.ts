/**
 * One client connection of the control socket: the hello handshake, framing limits, per-connection timeouts,
 * concurrent requests with serialised replies, error mapping, and isolating a misbehaving client (slow,
 * silent or speaking garbage) from the rest of the daemon.
 */
import { UserError } from "../errors.ts";
import { deadline, Mutex, valueOnTimeout } from "../util/async.ts";
import type { LogEntry } from "../supervisor/types.ts";
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
/** Requests of one connection that may run at once; the next frame is read when one finishes. */
export const MAX_IN_FLIGHT_PER_CONNECTION = 16;
/** Frames queued for one slow client before it is disconnected. */
export const MAX_PENDING_WRITES = 1000;
/** Per-connection read buffer: requests are a few hundred bytes, and 200 clients × 64 KiB would be 13 MB. */
const CONNECTION_READ_BUFFER_BYTES = 4 * 1024;
/** How long a goodbye frame to a client that does not read may take before we just hang up. */
export const GOODBYE_WRITE_MS = 1000;
/** Wait for `promise` at most `ms`: running out of time is not an error, a rejection of `promise` is. */
export function atMost(promise: Promise<unknown>, ms: number): Promise<void> {
  return deadline(promise, ms).then(() => {}, valueOnTimeout(undefined));
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
/** What every connection of one server shares. */
export interface ConnectionSettings {
  daemonVersion: string;
  pid: number;
  handle: RequestHandler;
  idleTimeoutMs: number;
  handshakeTimeoutMs: number;
  onError?: (error: unknown, request?: Request) => void;
}

/** One client connection: handshake, read loop, concurrent requests, serialised writes. */
export class Connection {
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
