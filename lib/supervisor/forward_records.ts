/**
 * The forward records of one kubefwd child: what each announced forward is (address, port, pod, probe mode)
 * and the state it is in, with the bookkeeping every state change needs (since, probe counters, ever up).
 * The ForwardTracker decides the states; this store keeps them consistent and finds forwards by pod,
 * service or port. Pure; time is a parameter.
 */
import type { ProbeMode } from "../health/probe.ts";
import { splitServiceKey } from "../kubefwd/output.ts";
import type { ForwardAnnouncement } from "../kubefwd/types.ts";
import type { ProbeTarget, TrackerUpdate } from "./tracker_types.ts";
import type { ForwardState, ForwardStatus } from "./types.ts";
import { isoTime } from "../util/iso_time.ts";

/** One forward and the counters its state rules need. */
export interface ForwardRecord {
  /** Changes when kubefwd announces the forward again: a probe result for the old one is dropped. */
  id: number;
  status: ForwardStatus;
  sinceMs: number;
  probeFailures: number;
  /** Probe timeouts in a row: no evidence of death, but not up either. */
  probeTimeouts: number;
  /** HTTP or TCP probe, fixed at the announcement. */
  mode: ProbeMode;
  /** Was up at least once: a forward that never came up may still be waiting for its pod. */
  everUp: boolean;
}

/** The records, keyed `hostname:port`. See the module comment. */
export class ForwardRecords {
  readonly #forwards = new Map<string, ForwardRecord>();
  readonly #namespaces: string[];
  readonly #onUp: (key: string) => void;
  #nextId = 1;

  /** Records for a child forwarding `namespaces`; `onUp` hears of every forward that comes up. */
  constructor(namespaces: string[], onUp: (key: string) => void) {
    this.#namespaces = namespaces;
    this.#onUp = onUp;
  }

  /** How many forwards there are. */
  get size(): number {
    return this.#forwards.size;
  }

  /** Whether `key` is known. */
  has(key: string): boolean {
    return this.#forwards.has(key);
  }

  /** The record of `key`. */
  get(key: string): ForwardRecord | undefined {
    return this.#forwards.get(key);
  }

  /** Every record. */
  all(): ForwardRecord[] {
    return [...this.#forwards.values()];
  }

  /** Every record with its key. */
  entries(): [string, ForwardRecord][] {
    return [...this.#forwards.entries()];
  }

  /** A new or re-announced forward, `pending` until a probe answers. */
  add(fwd: ForwardAnnouncement, mode: ProbeMode, now: number): void {
    this.#forwards.set(`${fwd.hostname}:${fwd.localPort}`, {
      id: this.#nextId++,
      status: {
        hostname: fwd.hostname,
        namespace: forwardNamespace(fwd.hostname, this.#namespaces),
        ip: fwd.ip,
        port: fwd.localPort,
        pod: fwd.pod,
        podPort: fwd.podPort,
        state: "pending",
        since: isoTime(now),
        probe: mode,
      },
      sinceMs: now,
      probeFailures: 0,
      probeTimeouts: 0,
      mode,
      everUp: false,
    });
  }

  /** The forwards as the user sees them, sorted by hostname and port. */
  statuses(): ForwardStatus[] {
    return this.all().map((f) => ({ ...f.status })).sort((a, b) =>
      a.hostname === b.hostname ? a.port - b.port : a.hostname < b.hostname ? -1 : 1
    );
  }

  /** `host:port` of the forwards in `state`. */
  named(state: ForwardState): string[] {
    return this.all().filter((f) => f.status.state === state).map((f) =>
      `${f.status.hostname}:${f.status.port}`
    );
  }

  /** Some forward is up (a restart would interrupt it). */
  anyUp(): boolean {
    return this.all().some((f) => f.status.state === "up");
  }

  /** Every forward, to probe now. */
  probeTargets(): ProbeTarget[] {
    return this.entries().map(([key, f]) => ({
      key,
      id: f.id,
      ip: f.status.ip,
      port: f.status.port,
      mode: f.mode,
      host: f.status.hostname,
    }));
  }

  /** Moves `f` to `state`; false when it already was there. */
  set(f: ForwardRecord, state: ForwardState, now: number, reason?: string): boolean {
    if (f.status.state === state) return false;
    if (state === "up") this.#onUp(`${f.status.hostname}:${f.status.port}`);
    if (state !== "failed") delete f.status.reason;
    if (reason !== undefined) f.status.reason = reason;
    f.status.state = state;
    f.status.since = isoTime(now);
    f.sinceMs = now;
    if (state !== "down") f.probeFailures = 0;
    if (state === "up") {
      f.everUp = true;
      f.probeTimeouts = 0;
    }
    return true;
  }

  /** Like {@link set}, but a new reason for the same state is a change too. */
  setReason(f: ForwardRecord, state: ForwardState, reason: string, now: number): boolean {
    if (f.status.state === state) {
      if (f.status.reason === reason) return false;
      f.status.reason = reason;
      return true;
    }
    return this.set(f, state, now, reason);
  }

  /** Every forward of `pod` to `state` (any namespace when none matches in `namespace`). */
  setOfPod(pod: string, namespace: string | undefined, state: ForwardState, now: number): TrackerUpdate {
    const all = this.all();
    let matches = all.filter((f) =>
      f.status.pod === pod && (namespace === undefined || f.status.namespace === namespace)
    );
    if (matches.length === 0 && namespace !== undefined) matches = all.filter((f) => f.status.pod === pod);
    let changed = false;
    for (const f of matches) changed = this.set(f, state, now) || changed;
    return changed ? { changed: `pod ${pod}: forward ${state}` } : {};
  }

  /** Every forward of the service `namespace/name` (kubefwd's service key) to `state`. */
  setOfService(serviceKey: string, state: ForwardState, now: number): TrackerUpdate {
    const parts = splitServiceKey(serviceKey);
    if (!parts) return {};
    let changed = false;
    for (const f of this.all()) {
      if (isOfService(f, parts.service, parts.namespace)) changed = this.set(f, state, now) || changed;
    }
    return changed ? { changed: `service ${serviceKey}: forwards ${state}` } : {};
  }

  /** Keys of the forwards of `pod` (in `namespace` when given). */
  keysOfPod(pod: string, namespace: string | undefined): string[] {
    return this.keysWhere((f) =>
      f.status.pod === pod && (namespace === undefined || f.status.namespace === namespace)
    );
  }

  /** Keys of the forwards of the service `namespace/name`. */
  keysOfService(serviceKey: string): string[] {
    const parts = splitServiceKey(serviceKey);
    if (!parts) return [];
    return this.keysWhere((f) => isOfService(f, parts.service, parts.namespace));
  }

  /** 1.22.x names no pod, only the port pair: `unable to listen on any of the requested ports: [{8080 8081}]`. */
  keysOfListenError(error: string): string[] {
    const m = /\[\{(\d+) (\S+?)\}\]/.exec(error);
    if (!m) return [];
    return this.keysWhere((f) => f.status.port === Number(m[1]) && f.status.podPort === m[2]);
  }

  /** Keys of the forwards that `match`. */
  keysWhere(match: (f: ForwardRecord) => boolean): string[] {
    return this.entries().filter(([, f]) => match(f)).map(([key]) => key);
  }
}

/** Whether a forward belongs to a service: its hostname is `svc…` or `pod.svc…`, in the service's namespace. */
function isOfService(f: ForwardRecord, service: string, namespace: string): boolean {
  const labels = f.status.hostname.split(".");
  return (labels[0] === service || labels[1] === service) && f.status.namespace === namespace;
}

/** The namespace of a forward from its hostname (`svc`, `svc.ns`, `pod.svc.ns`…), default the first one. */
export function forwardNamespace(hostname: string, namespaces: string[]): string {
  const labels = hostname.split(".");
  for (const label of labels.slice(1, 3)) if (namespaces.includes(label)) return label;
  return namespaces[0] ?? "";
}
