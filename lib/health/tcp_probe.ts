/**
 * Readiness of a forward: kubefwd's `Port-Forward:` line means "attempting", not "up"
 * (docs/kubefwd-compatibility.md#forward-line), so the supervisor connects to ip:port itself. A successful
 * connect proves kubefwd's local listener; it does not prove the pod side.
 */

/** Checks whether something accepts TCP connections on ip:port within the timeout. */
export interface Prober {
  /** True when a TCP connect to `ip:port` succeeds within `timeoutMs`. Never throws. */
  probe(ip: string, port: number, timeoutMs: number): Promise<boolean>;
}

/**
 * The real prober: connect, close at once. Never throws. A connection whose local end equals its remote
 * end is a TCP self-connect (nothing listens, and the kernel happened to pick the probed port as the
 * source port on a loopback address): that is a dead forward, not a live one.
 */
export class TcpProber implements Prober {
  async probe(ip: string, port: number, timeoutMs: number): Promise<boolean> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), Math.max(1, timeoutMs));
    try {
      const conn = await Deno.connect({ hostname: ip, port, signal: abort.signal });
      const selfConnect = isSelfConnect(conn.localAddr, conn.remoteAddr);
      conn.close();
      return !selfConnect;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** True when both ends of a TCP connection are the same address and port. */
export function isSelfConnect(local: Deno.Addr, remote: Deno.Addr): boolean {
  return local.transport === "tcp" && remote.transport === "tcp" && local.hostname === remote.hostname &&
    local.port === remote.port;
}
