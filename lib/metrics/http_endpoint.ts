/**
 * The Prometheus endpoint: `GET /metrics` over plain HTTP/1.x on a TCP address. Every request is bounded
 * before the daemon spends anything on it: at most {@link MAX_CONNECTIONS} at once (more get 503), a
 * request head of at most {@link MAX_HEAD_BYTES} (431), sent within {@link HEAD_TIMEOUT_MS} (408); other
 * paths get 404, other methods 405; each response closes its connection. Deno.serve has no header-read
 * timeout (a client that never finishes its headers holds its connection forever; see docs/decisions.md),
 * which is why this is a small responder on Deno.listen rather than Deno.serve.
 */
import { deadline, delay, isTimeoutError } from "../util/async.ts";
import { EXPOSITION_CONTENT_TYPE } from "./exposition.ts";

/** Connections served at once; scrapers use one. */
export const MAX_CONNECTIONS = 16;
/** Largest request head (request line and headers); Prometheus sends about 300 bytes. */
export const MAX_HEAD_BYTES = 8192;
/** How long a client may take to send its request head. */
export const HEAD_TIMEOUT_MS = 5000;
/** How long writing a response may take before the connection is dropped. */
export const WRITE_TIMEOUT_MS = 5000;
/** After the response: how long, and how much, the rest of a request is read and dropped. */
const DRAIN_TIMEOUT_MS = 1000;
const MAX_DRAIN_BYTES = 1024 * 1024;
/** Pause after a failed accept (out of file descriptors), so the loop does not spin. */
const ACCEPT_RETRY_MS = 100;

/** Options of {@link MetricsEndpoint.listen}. */
export interface EndpointOptions {
  /** Address to bind: an IP literal (the config validates it). */
  hostname: string;
  /** Port; 0 picks a free one (see {@link MetricsEndpoint.address}). */
  port: number;
  /** The exposition text, rendered per scrape. */
  render: () => string;
  /** A failure worth a log line (render errors); client misbehaviour is never reported. */
  onError?: (error: unknown) => void;
  /** Overrides of the bounds (tests). */
  limits?: Partial<{ maxConnections: number; maxHeadBytes: number; headTimeoutMs: number }>;
}

/** One HTTP response, always with `Connection: close`. */
interface Reply {
  status: number;
  reason: string;
  body: string;
  headers?: Record<string, string>;
}

const plain = (status: number, reason: string, body: string, headers?: Record<string, string>): Reply => ({
  status,
  reason,
  body: body + "\n",
  headers,
});

/** What to answer to a request head (pure; `render` only runs for a scrape). */
export function replyTo(head: string, render: () => string): Reply & { head?: boolean } {
  const line = head.split(/\r?\n/, 1)[0];
  const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(line);
  if (!m) return plain(400, "Bad Request", "bad request");
  const [, method, target] = m;
  const path = target.split("?", 1)[0];
  if (path !== "/metrics") return plain(404, "Not Found", "not found: kubefwd-daemon serves only /metrics");
  if (method !== "GET" && method !== "HEAD") {
    return plain(405, "Method Not Allowed", "method not allowed: use GET", { Allow: "GET, HEAD" });
  }
  return {
    status: 200,
    reason: "OK",
    body: render(),
    headers: { "Content-Type": EXPOSITION_CONTENT_TYPE },
    head: method === "HEAD",
  };
}

function encodeReply(reply: Reply & { head?: boolean }): Uint8Array {
  const body = new TextEncoder().encode(reply.body);
  const headers = {
    "Content-Type": "text/plain; charset=utf-8",
    ...reply.headers,
    "Content-Length": String(body.length),
    Connection: "close",
  };
  const head = `HTTP/1.1 ${reply.status} ${reply.reason}\r\n` +
    Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n";
  const headBytes = new TextEncoder().encode(head);
  if (reply.head) return headBytes;
  const out = new Uint8Array(headBytes.length + body.length);
  out.set(headBytes);
  out.set(body, headBytes.length);
  return out;
}

/** Index just past the blank line that ends a request head, or -1. */
function headEnd(bytes: Uint8Array, length: number): number {
  for (let i = 3; i < length; i++) {
    if (bytes[i] === 10 && bytes[i - 1] === 13 && bytes[i - 2] === 10 && bytes[i - 3] === 13) return i + 1;
  }
  for (let i = 1; i < length; i++) if (bytes[i] === 10 && bytes[i - 1] === 10) return i + 1;
  return -1;
}

/** A listening endpoint. */
export class MetricsEndpoint {
  readonly #listener: Deno.TcpListener;
  readonly #opts: EndpointOptions;
  readonly #limits: { maxConnections: number; maxHeadBytes: number; headTimeoutMs: number };
  readonly #open = new Set<Deno.TcpConn>();
  readonly #accepting: Promise<void>;
  #closed = false;

  private constructor(listener: Deno.TcpListener, opts: EndpointOptions) {
    this.#listener = listener;
    this.#opts = opts;
    this.#limits = {
      maxConnections: MAX_CONNECTIONS,
      maxHeadBytes: MAX_HEAD_BYTES,
      headTimeoutMs: HEAD_TIMEOUT_MS,
      ...opts.limits,
    };
    this.#accepting = this.#acceptLoop();
  }

  /** Binds and serves; rejects when the address cannot be bound (in use, not an address of this host). */
  static listen(opts: EndpointOptions): MetricsEndpoint {
    const listener = Deno.listen({ hostname: opts.hostname, port: opts.port, transport: "tcp" });
    return new MetricsEndpoint(listener, opts);
  }

  /** `host:port` as bound (the real port when 0 was asked for); IPv6 in brackets. */
  get address(): string {
    const { hostname, port } = this.#listener.addr;
    return `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
  }

  /** Connections open right now. */
  get connections(): number {
    return this.#open.size;
  }

  /** Stops listening and drops every open connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    for (const conn of this.#open) closeQuietly(conn);
    await this.#accepting;
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        if (this.#closed) return;
        await delay(ACCEPT_RETRY_MS); // e.g. too many open files for a moment: keep serving, without spinning
        continue;
      }
      if (this.#open.size >= this.#limits.maxConnections) {
        // Answered at once and not drained: a flood of connections must not pile up work here.
        void this.#answer(conn, plain(503, "Service Unavailable", "too many connections"), false);
        continue;
      }
      this.#open.add(conn);
      void this.#serve(conn).finally(() => this.#open.delete(conn));
    }
  }

  async #serve(conn: Deno.TcpConn): Promise<void> {
    const { maxHeadBytes, headTimeoutMs } = this.#limits;
    const buf = new Uint8Array(maxHeadBytes);
    let length = 0;
    const readHead = async (): Promise<Reply | string> => {
      while (length < maxHeadBytes) {
        const n = await conn.read(buf.subarray(length));
        if (n === null) return ""; // the client left
        length += n;
        const end = headEnd(buf, length);
        if (end >= 0) return new TextDecoder().decode(buf.subarray(0, end));
      }
      return plain(431, "Request Header Fields Too Large", "request head too large");
    };
    let head: Reply | string;
    try {
      head = await deadline(readHead(), headTimeoutMs);
    } catch (e) {
      if (isTimeoutError(e)) {
        head = plain(408, "Request Timeout", "too slow");
      } else return closeQuietly(conn);
    }
    if (head === "") return closeQuietly(conn);
    let reply: Reply & { head?: boolean };
    if (typeof head !== "string") reply = head;
    else {
      try {
        reply = replyTo(head, this.#opts.render);
      } catch (e) {
        this.#opts.onError?.(e);
        reply = plain(500, "Internal Server Error", "metrics could not be rendered (see the daemon log)");
      }
    }
    await this.#answer(conn, reply);
  }

  /** Writes the reply (bounded in time), drains what the client still sends unless told not to, closes. */
  async #answer(conn: Deno.TcpConn, reply: Reply & { head?: boolean }, drainAfter = true): Promise<void> {
    try {
      const bytes = encodeReply(reply);
      await deadline(
        (async () => {
          let offset = 0;
          while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
        })(),
        WRITE_TIMEOUT_MS,
      );
      // What the client still sends (a body, the rest of a huge head) is read and dropped for a moment:
      // closing with unread data would reset the connection, and the client could lose the answer.
      if (drainAfter) {
        await conn.closeWrite();
        await deadline(drain(conn), DRAIN_TIMEOUT_MS);
      }
    } catch { /* a client that does not read, keeps sending, or left: dropped */ }
    closeQuietly(conn);
  }
}

/** Reads and discards until the client closes, at most {@link MAX_DRAIN_BYTES}. */
async function drain(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(16 * 1024);
  for (let total = 0; total < MAX_DRAIN_BYTES;) {
    const n = await conn.read(buf);
    if (n === null) return;
    total += n;
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}
