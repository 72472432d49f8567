/**
 * What a health probe of one forward can observe, and the interface the supervisor probes through. A TCP
 * connect that succeeds proves only kubefwd's local listener: kubefwd accepts whatever happens behind it.
 * So the probes go through the forward: an HTTP request for HTTP services (any response proves the whole
 * path: kubefwd, the API server, the node and the pod), and for other services a connection held open for a
 * moment, because kubefwd closes or resets a local connection as soon as it fails to open its streams to the
 * pod (docs/health-probes.md says what each outcome proves and costs).
 */

/** How a forward is probed: an HTTP request, or a quiet TCP connection held for a moment. */
export type ProbeMode = "http" | "tcp";

/** One forward to probe. */
export interface ProbeSpec {
  /** The forward's local address. */
  ip: string;
  /** The forward's local port. */
  port: number;
  /** How to probe it. */
  mode: ProbeMode;
  /** The `Host` header of an HTTP probe (the forward's hostname). */
  host: string;
}

/**
 * What one probe saw:
 * - `answered`: bytes came back through the forward (HTTP: a response, whatever its status). The path works.
 * - `held`: accepted and kept open, quietly, for the hold window. kubefwd opened its streams (or is still
 *   opening them); proof of the path only while the API server is known to be reachable.
 * - `refused`: nothing accepts connections there (or a TCP self-connect): the forward is gone.
 * - `closed`: accepted, then closed or reset before any byte: kubefwd could not reach the pod.
 * - `timeout`: no answer in time. No evidence either way: a busy machine is slow, not dead.
 */
export type ProbeOutcome = "answered" | "held" | "refused" | "closed" | "timeout";

/** Probes forwards. Implementations never throw: every failure is an outcome. */
export interface Prober {
  /** Probes one forward, taking at most about `timeoutMs`. */
  probe(spec: ProbeSpec, timeoutMs: number): Promise<ProbeOutcome>;
}

/** True when both ends of a TCP connection are the same address and port (nothing listened). */
export function isSelfConnect(local: Deno.Addr, remote: Deno.Addr): boolean {
  return local.transport === "tcp" && remote.transport === "tcp" && local.hostname === remote.hostname &&
    local.port === remote.port;
}
