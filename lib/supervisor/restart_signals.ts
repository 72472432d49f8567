/**
 * The counters behind a ForwardTracker's restart requests that are not about one forward's state: kubefwd
 * running out of addresses (IP churn), a long run of `failed to list` lines, and one service failing too
 * often. Pure: time is a parameter. One lives exactly as long as its tracker.
 */
import type { RestartCause, RestartRequest, TrackerSettings, TrackerUpdate } from "./tracker_types.ts";

/** See the module comment. */
export class RestartSignals {
  readonly #settings: TrackerSettings;
  /** Addresses and hostnames per /24 ("127.3.27"): how close kubefwd is to running out. */
  readonly #ipBlocks = new Map<string, { ips: Set<string>; hostnames: Set<string> }>();
  /** Recent failures per cause (1.24+), and the forwards the cause covers: they clear it by coming back up. */
  readonly #serviceFailures = new Map<string, { times: number[]; forwards: string[] }>();
  #listFailures: { since: number; last: number } | undefined;

  /** Counters under the tracker's rules. */
  constructor(settings: TrackerSettings) {
    this.#settings = settings;
  }

  /**
   * kubefwd ≥ 1.23 gives a replaced pod a new address and never reuses one; at 255 in a /24 it runs out.
   * Once it has handed out `ipChurnRestartAt` in one /24, some only because pods were replaced (more
   * addresses than hostnames), restart while every forward still works.
   */
  ipChurn(ip: string, hostname: string): RestartRequest | undefined {
    const block = ip.slice(0, ip.lastIndexOf("."));
    let seen = this.#ipBlocks.get(block);
    if (!seen) {
      if (this.#ipBlocks.size >= this.#settings.maxAnnounced) return undefined;
      seen = { ips: new Set(), hostnames: new Set() };
      this.#ipBlocks.set(block, seen);
    }
    seen.ips.add(ip); // at most 256 per block
    if (seen.hostnames.size < this.#settings.maxAnnounced) seen.hostnames.add(hostname);
    if (seen.ips.size < this.#settings.ipChurnRestartAt || seen.ips.size <= seen.hostnames.size) {
      return undefined;
    }
    return {
      kind: "now",
      reason:
        `kubefwd has handed out ${seen.ips.size} addresses in ${block}.0/24 as pods were replaced and ` +
        "never reuses one (it runs out at 255): restarting while the forwards still work",
    };
  }

  /** kubefwd (1.24+) failed to list from the API within the last gap: the API is out of reach for it. */
  listFailing(now: number): boolean {
    const streak = this.#listFailures;
    return this.#settings.autoReconnect && streak !== undefined &&
      now - streak.last <= this.#settings.listFailureGapMs;
  }

  /** kubefwd's informers retry a failing list forever; a long run of failures restarts the child. */
  listFailure(message: string, now: number): TrackerUpdate {
    const { listFailureGapMs, listFailureRestartMs } = this.#settings;
    const streak = this.#listFailures;
    if (!streak || now - streak.last > listFailureGapMs) {
      this.#listFailures = { since: now, last: now };
      return {};
    }
    streak.last = now;
    if (now - streak.since < listFailureRestartMs) return {};
    const seconds = Math.round((now - streak.since) / 1000);
    return {
      restart: {
        kind: "now",
        reason: `kubefwd has failed to list from the API server for ${seconds} s (${message})`,
        cause: { key: "list", forwards: [] },
      },
    };
  }

  /**
   * kubefwd ≥ 1.24 reconnects itself; restart when one service keeps failing (N within T) without coming back
   * in between, unless the API is failing (a new kubefwd could not do better). A forward that kubefwd brought
   * back up clears its causes' counts ({@link forwardUp}): pods replaced one after another fail the service
   * each time, and restarting kubefwd then only throws away the reconnect it is about to make.
   */
  serviceFailure(cause: RestartCause, now: number, apiFailing: boolean): TrackerUpdate {
    const key = cause.key;
    const policy = this.#settings.forwardFailures;
    if (!this.#serviceFailures.has(key) && this.#serviceFailures.size >= 1000) return {};
    let times = (this.#serviceFailures.get(key)?.times ?? []).filter((t) => now - t < policy.windowMs);
    times.push(now);
    if (times.length > 1000) times = times.slice(-1000);
    this.#serviceFailures.set(key, { times, forwards: cause.forwards });
    if (policy.maxFailures <= 0 || times.length < policy.maxFailures || apiFailing) return {};
    this.#serviceFailures.delete(key); // only this one: another service keeps its own count
    return {
      restart: {
        kind: "now",
        reason: `${key} failed ${times.length} times within ${Math.round(policy.windowMs / 1000)} s`,
        cause,
      },
    };
  }

  /**
   * The forward `key` (`host:port`) is up again, or its pod was deleted on purpose (the failures that follow
   * a deletion are the cluster's doing, not kubefwd's): the failure counts of the causes covering it are
   * cleared.
   */
  forwardUp(key: string): void {
    for (const [cause, failures] of this.#serviceFailures) {
      if (failures.forwards.includes(key)) this.#serviceFailures.delete(cause);
    }
  }
}
