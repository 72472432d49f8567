/**
 * Newline-delimited JSON framing for the control socket. One frame = one JSON value on one line. The
 * reader enforces a byte limit per frame so a hostile or broken peer cannot make either side buffer
 * without bound, and it copies each byte at most twice so long frames split over many reads stay linear.
 */
import { MAX_FRAME_BYTES } from "./protocol.ts";

/** What can go wrong with a frame; the server answers each with a `protocol` error and hangs up. */
export type FrameErrorKind = "oversized" | "invalid_utf8" | "invalid_json" | "truncated";

/** A frame that cannot be decoded. The connection's byte stream stays in sync: `next()` may be called again. */
export class FrameError extends Error {
  /** Which rule the frame broke. */
  readonly kind: FrameErrorKind;

  /** `message` is safe to send back to the client. */
  constructor(kind: FrameErrorKind, message: string) {
    super(message);
    this.name = "FrameError";
    this.kind = kind;
  }
}

/** The read half of a connection (a `Deno.Conn` fits); narrow so tests can feed chosen chunk splits. */
export interface ByteSource {
  /** Like `Deno.Conn.read`: bytes read into `buffer`, or null at end of stream. */
  read(buffer: Uint8Array): Promise<number | null>;
}

/** The write half of a connection (a `Deno.Conn` fits). */
export interface ByteSink {
  /** Like `Deno.Conn.write`: bytes written (possibly fewer than given). */
  write(data: Uint8Array): Promise<number>;
}

const NEWLINE = 0x0a;
/** Default read buffer; the server uses a smaller one per connection (requests are tiny). */
export const DEFAULT_READ_BUFFER_BYTES = 64 * 1024;
const encoder = new TextEncoder();

/**
 * Errors that mean "the peer or we closed the connection": reported as end of stream, because for a
 * line protocol a reset after the last frame carries no extra information.
 */
function isClosedError(err: unknown): boolean {
  return err instanceof Deno.errors.ConnectionReset ||
    err instanceof Deno.errors.BadResource ||
    err instanceof Deno.errors.Interrupted ||
    err instanceof Deno.errors.BrokenPipe ||
    err instanceof Deno.errors.NotConnected;
}

/**
 * Reads frames one at a time. Bytes of a frame that spans reads are kept as separate pieces and joined
 * once when its newline arrives, so buffering is linear in the frame size.
 */
export class FrameReader {
  readonly #source: ByteSource;
  readonly #maxBytes: number;
  readonly #buffer: Uint8Array;
  readonly #decoder = new TextDecoder("utf-8", { fatal: true });
  #start = 0;
  #end = 0;
  #pieces: Uint8Array[] = [];
  #pieceBytes = 0;
  #discarding = false;
  #eof = false;

  /** `maxBytes` caps one frame (default {@link MAX_FRAME_BYTES}); `bufferBytes` is the read chunk size. */
  constructor(source: ByteSource, options: { maxBytes?: number; bufferBytes?: number } = {}) {
    this.#source = source;
    this.#maxBytes = options.maxBytes ?? MAX_FRAME_BYTES;
    this.#buffer = new Uint8Array(options.bufferBytes ?? DEFAULT_READ_BUFFER_BYTES);
  }

  /**
   * The next decoded frame, or undefined at end of stream. Throws FrameError for a frame that is too
   * long (raised as soon as the limit is passed; the rest of that line is skipped by the next call), not
   * UTF-8, not JSON, or cut off by end of stream. Blank lines are skipped.
   */
  async next(): Promise<unknown | undefined> {
    for (;;) {
      const newline = this.#buffer.subarray(this.#start, this.#end).indexOf(NEWLINE);
      if (newline >= 0) {
        const lineEnd = this.#start + newline;
        const tail = this.#buffer.subarray(this.#start, lineEnd);
        this.#start = lineEnd + 1;
        if (this.#discarding) {
          this.#discarding = false;
          this.#dropPieces();
          continue;
        }
        const total = this.#pieceBytes + tail.length;
        if (total > this.#maxBytes) {
          this.#dropPieces();
          throw this.#oversized(total);
        }
        const bytes = this.#pieces.length === 0 ? tail : this.#join(tail, total);
        this.#dropPieces();
        const frame = this.#decode(bytes);
        if (frame === BLANK) continue;
        return frame;
      }

      const rest = this.#buffer.subarray(this.#start, this.#end);
      if (!this.#discarding && rest.length > 0) {
        if (this.#pieceBytes + rest.length > this.#maxBytes) {
          const seen = this.#pieceBytes + rest.length;
          this.#dropPieces();
          this.#discarding = true;
          this.#start = this.#end = 0;
          throw this.#oversized(seen);
        }
        this.#pieces.push(rest.slice());
        this.#pieceBytes += rest.length;
      }
      this.#start = this.#end = 0;

      if (this.#eof) return this.#finish();
      const n = await this.#read();
      if (n === null) {
        this.#eof = true;
        return this.#finish();
      }
      this.#end = n;
    }
  }

  async #read(): Promise<number | null> {
    try {
      return await this.#source.read(this.#buffer);
    } catch (err) {
      if (isClosedError(err)) return null;
      throw err;
    }
  }

  #finish(): undefined {
    const pending = this.#pieceBytes;
    const wasDiscarding = this.#discarding;
    this.#dropPieces();
    this.#discarding = false;
    if (pending > 0 && !wasDiscarding) {
      throw new FrameError("truncated", `connection closed in the middle of a frame (${pending} bytes)`);
    }
    return undefined;
  }

  #oversized(seen: number): FrameError {
    return new FrameError("oversized", `frame exceeds ${this.#maxBytes} bytes (at least ${seen} bytes)`);
  }

  #join(tail: Uint8Array, total: number): Uint8Array {
    const joined = new Uint8Array(total);
    let offset = 0;
    for (const piece of this.#pieces) {
      joined.set(piece, offset);
      offset += piece.length;
    }
    joined.set(tail, offset);
    return joined;
  }

  #dropPieces(): void {
    this.#pieces = [];
    this.#pieceBytes = 0;
  }

  #decode(bytes: Uint8Array): unknown {
    let text: string;
    try {
      text = this.#decoder.decode(bytes);
    } catch {
      throw new FrameError("invalid_utf8", "frame is not valid UTF-8");
    }
    if (text.trim() === "") return BLANK;
    try {
      return JSON.parse(text);
    } catch {
      throw new FrameError("invalid_json", "frame is not valid JSON");
    }
  }
}

const BLANK = Symbol("blank line");

/** Encode one frame: JSON plus newline. Throws FrameError when it would exceed the peer's limit. */
export function encodeFrame(value: unknown, maxBytes: number = MAX_FRAME_BYTES): Uint8Array {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError("frame value is not JSON-serialisable");
  const bytes = encoder.encode(json + "\n");
  if (bytes.length - 1 > maxBytes) {
    throw new FrameError("oversized", `frame of ${bytes.length - 1} bytes exceeds ${maxBytes} bytes`);
  }
  return bytes;
}

/** Write all of `bytes`; a socket write may accept only part of a buffer. */
export async function writeAll(sink: ByteSink, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    offset += await sink.write(bytes.subarray(offset));
  }
}

/**
 * Write one frame completely. Callers that write from several tasks to one connection must serialise
 * the calls themselves (the server does), or frames could interleave.
 */
export async function writeFrame(
  sink: ByteSink,
  value: unknown,
  maxBytes: number = MAX_FRAME_BYTES,
): Promise<void> {
  await writeAll(sink, encodeFrame(value, maxBytes));
}
