/**
 * The real prober: a socket through the forward. HTTP mode sends one small GET and waits for the first
 * bytes of any answer; TCP mode sends nothing and holds the connection for a short window, watching whether
 * kubefwd closes it (it does so at once when it cannot open its streams to the pod). Never throws.
 */
import { isSelfConnect, type ProbeOutcome, type Prober, type ProbeSpec } from "./probe.ts";

/** The longest a TCP probe holds its connection to see whether kubefwd closes it. */
export const MAX_HOLD_MS = 1000;

/** How long a TCP probe with `timeoutMs` holds its connection: half the timeout, at most {@link MAX_HOLD_MS}. */
export function holdWindowMs(timeoutMs: number): number {
  return Math.max(1, Math.min(MAX_HOLD_MS, Math.floor(timeoutMs / 2)));
}

/** The request an HTTP probe sends: one GET of `/`, closed after the answer. */
export function httpProbeRequest(host: string, port: number): string {
  const hostHeader = port === 80 ? host : `${host}:${port}`;
  return `GET / HTTP/1.1\r\nHost: ${hostHeader}\r\nUser-Agent: kubefwd-daemon-probe\r\nAccept: */*\r\n` +
    "Connection: close\r\n\r\n";
}

type Connected = { conn: Deno.TcpConn } | { outcome: ProbeOutcome };

/** Probes through real sockets; see the module comment. */
export class SocketProber implements Prober {
  async probe(spec: ProbeSpec, timeoutMs: number): Promise<ProbeOutcome> {
    const started = performance.now();
    const connected = await connect(spec, timeoutMs);
    if ("outcome" in connected) return connected.outcome;
    const left = Math.max(1, timeoutMs - (performance.now() - started));
    if (spec.mode === "tcp") return await watch(connected.conn, holdWindowMs(timeoutMs), "held");
    const outcome = await httpExchange(connected.conn, spec, left);
    if (outcome !== "closed") return outcome;
    // A server that is not HTTP after all may close on our request; a quiet connection tells it apart
    // from kubefwd failing to reach the pod (that closes a quiet connection too).
    const again = await connect(spec, timeoutMs);
    if ("outcome" in again) return again.outcome === "timeout" ? "closed" : again.outcome;
    return await watch(again.conn, holdWindowMs(timeoutMs), "held");
  }
}

async function connect(spec: ProbeSpec, timeoutMs: number): Promise<Connected> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), Math.max(1, timeoutMs));
  try {
    const conn = await Deno.connect({ hostname: spec.ip, port: spec.port, signal: abort.signal });
    if (isSelfConnect(conn.localAddr, conn.remoteAddr)) {
      conn.close();
      return { outcome: "refused" };
    }
    return { conn };
  } catch {
    return { outcome: abort.signal.aborted ? "timeout" : "refused" };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits up to `ms` for the first bytes on `conn`, then closes it: bytes → `answered`; EOF or a reset →
 * `closed`; nothing within `ms` → `quiet`.
 */
async function watch(conn: Deno.TcpConn, ms: number, quiet: ProbeOutcome): Promise<ProbeOutcome> {
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    close(conn);
  }, ms);
  try {
    const n = await conn.read(new Uint8Array(64));
    if (expired) return quiet;
    return n === null || n === 0 ? "closed" : "answered";
  } catch {
    return expired ? quiet : "closed";
  } finally {
    clearTimeout(timer);
    close(conn);
  }
}

async function httpExchange(conn: Deno.TcpConn, spec: ProbeSpec, timeoutMs: number): Promise<ProbeOutcome> {
  const request = new TextEncoder().encode(httpProbeRequest(spec.host, spec.port));
  try {
    let off = 0;
    while (off < request.length) off += await conn.write(request.subarray(off));
  } catch {
    close(conn);
    return "closed";
  }
  return await watch(conn, timeoutMs, "timeout");
}

function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // closed already
  }
}
