/**
 * Which forwards get an HTTP probe. Pure. The profile's `health.http` and `health.tcp` patterns decide first
 * (`http` before `tcp`), then the defaults: a pod port named `http…` (not `https…`; any other name is TCP),
 * or, for a numbered pod port, a common plain-HTTP port number on either side. Everything else gets the TCP
 * probe.
 */
import { globMatch } from "../config/glob.ts";
import type { ProbeMode } from "./probe.ts";

/** Ports that serve plain HTTP in the common case (web servers, dev servers, app servers, Prometheus). */
export const DEFAULT_HTTP_PORTS: readonly number[] = [
  80,
  3000,
  5000,
  8000,
  8008,
  8080,
  8081,
  8088,
  8888,
  9090,
];

/** The facts of a forward a pattern can match. */
export interface ForwardFacts {
  /** The service name (the first label of kubefwd's hostname). */
  service: string;
  /** The local port. */
  port: number;
  /** The pod port as kubefwd printed it: a number or a port name. */
  podPort: string;
}

/** The profile's explicit choices (`health.http`, `health.tcp`). */
export interface ProbeModeRules {
  /** Patterns of forwards that get the HTTP probe. */
  http: readonly string[];
  /** Patterns of forwards that get the TCP probe. */
  tcp: readonly string[];
}

/**
 * True when `pattern` (`SERVICE` or `SERVICE:PORT`, both globs) matches the forward. The port part matches
 * the local port, the pod port number or the pod port name.
 */
export function forwardMatches(pattern: string, f: ForwardFacts): boolean {
  const colon = pattern.lastIndexOf(":");
  const service = colon < 0 ? pattern : pattern.slice(0, colon);
  const port = colon < 0 ? undefined : pattern.slice(colon + 1);
  if (service !== "" && !globMatch(service, f.service)) return false;
  if (port === undefined || port === "") return true;
  return globMatch(port, String(f.port)) || globMatch(port, f.podPort);
}

/** The probe a forward gets; see the module comment. */
export function probeModeFor(rules: ProbeModeRules, f: ForwardFacts): ProbeMode {
  if (rules.http.some((p) => forwardMatches(p, f))) return "http";
  if (rules.tcp.some((p) => forwardMatches(p, f))) return "tcp";
  if (!/^\d+$/.test(f.podPort)) return /^http(?!s)/i.test(f.podPort) ? "http" : "tcp";
  const podPort = Number(f.podPort);
  return DEFAULT_HTTP_PORTS.includes(f.port) || DEFAULT_HTTP_PORTS.includes(podPort) ? "http" : "tcp";
}
