/**
 * What one kubefwd child's forwards are doing, as a pure state machine: parsed output events and probe
 * results go in, forward states and restart requests come out. No timers, no I/O; time is a parameter.
 * One tracker lives exactly as long as one child. The kubefwd behaviour each rule relies on is described in
 * docs/kubefwd-compatibility.md.
 */
import { probeModeFor } from "../health/probe_mode.ts";
import type { ForwardAnnouncement, KubefwdEvent } from "../kubefwd/types.ts";
import type {
  ApiReachability,
  ExitFacts,
  ForwardSummary,
  ProbeResult,
  ProbeTarget,
  RestartCause,
  TrackerSettings,
  TrackerUpdate,
} from "./tracker_types.ts";
import type { ForwardState, ForwardStatus } from "./types.ts";
import { RestartSignals } from "./restart_signals.ts";
import { ForwardRecords } from "./forward_records.ts";

export type {
  ApiReachability,
  ExitFacts,
  ForwardSummary,
  ProbeResult,
  ProbeTarget,
  RestartCause,
  RestartRequest,
  TrackerSettings,
  TrackerUpdate,
} from "./tracker_types.ts";
import { isoTime } from "../util/iso_time.ts";

/** The forwards of one child. See the module comment. */
export class ForwardTracker {
  readonly #settings: TrackerSettings;
  readonly #records: ForwardRecords;
  readonly #announcedIps = new Set<string>();
  /** Addresses and hostnames per /24 ("127.3.27"): how close kubefwd is to running out. */
  readonly #signals: RestartSignals;
  #api: ApiReachability = { state: "unknown" };
  #apiCheckedAt = -Infinity;
  /** The API server came back or the machine woke up: the next probe round decides on a restart at once. */
  #recovery: { since: number; why: string } | undefined;
  /** The API server could not reach the node of this pod (ApiProbe.checkPodPath). */
  #nodeDown: { since: number; pod: string } | undefined;
  /** Until then a failed probe confirms a loss kubefwd just reported without naming the pod. */
  #confirmUntil = -Infinity;

  /** A tracker for one new child, with that child's rules. */
  constructor(settings: TrackerSettings) {
    this.#settings = settings;
    this.#signals = new RestartSignals(settings);
    this.#records = new ForwardRecords(settings.namespaces, (key) => this.#signals.forwardUp(key));
  }

  /** Number of forwards announced so far. */
  get size(): number {
    return this.#records.size;
  }

  /** The forwards as the user sees them, sorted by hostname and port. */
  statuses(): ForwardStatus[] {
    return this.#records.statuses();
  }

  /** How many forwards there are and which are down (or failed) or still pending (`host:port`). */
  summary(): ForwardSummary {
    const named = (state: ForwardState) => this.#records.named(state);
    const down = [...named("down"), ...named("failed")];
    const unverified = named("unverified");
    const summary: ForwardSummary = {
      total: this.#records.size,
      down,
      pending: named("pending"),
      unverified,
    };
    const cause = this.#cause(down.length + unverified.length > 0);
    if (cause) summary.cause = cause;
    return summary;
  }

  /** The profile-level reason forwards are not up: the API server, the pod, or a stalled kubefwd. */
  #cause(anyNotUp: boolean): string | undefined {
    if (!anyNotUp) return undefined;
    if (this.#api.state === "unreachable") return apiUnreachable(this.#api);
    const node = this.#nodeDown;
    if (node) {
      return `node unreachable since ${isoTime(node.since)} (the API server cannot reach pod ${node.pod})`;
    }
    const reasons = this.#records.all().map((f) => f.status.reason ?? "");
    if (reasons.some((r) => r.startsWith(STALLED))) return "kubefwd stalled";
    if (reasons.some((r) => r.startsWith(POD_UNREACHABLE))) return POD_UNREACHABLE;
    if (reasons.some((r) => r.startsWith(NOTHING_LISTENS))) return "forward lost: kubefwd does not listen";
    return undefined;
  }

  /** Some forward is up (a restart would interrupt it). */
  anyUp(): boolean {
    return this.#records.anyUp();
  }

  /**
   * The daemon's own check says the API server is out of reach: a new kubefwd could not do better, and the
   * recovery (probes at once when it answers again) restarts what still fails then.
   */
  apiOutOfReach(): boolean {
    return this.#api.state === "unreachable";
  }

  /** Every one of `keys` (at least one) is up again: a failure held for them is over. */
  allUp(keys: readonly string[]): boolean {
    return keys.length > 0 && keys.every((key) => this.#records.get(key)?.status.state === "up");
  }

  /** Every forward, to probe now. */
  probeTargets(): ProbeTarget[] {
    return this.#records.probeTargets();
  }

  /** Applies one parsed output line. Events that do not concern forwards return an empty update. */
  onEvent(event: KubefwdEvent, now: number): TrackerUpdate {
    const auto = this.#settings.autoReconnect;
    switch (event.kind) {
      case "forward":
        return this.#onForward(event.forward, now);
      case "pod_deleted":
        for (const key of this.#podCause(event.pod, undefined).forwards) this.#signals.forwardUp(key);
        return this.#records.setOfPod(event.pod, undefined, "pending", now);
      case "lost_connection": {
        const update = event.pod ? this.#records.setOfPod(event.pod, event.namespace, "down", now) : {};
        const pod = event.pod ? ` to ${event.pod}` : "";
        // 1.22.x names no pod: any forward's loss looks the same, so it is no cause to hold restarts for.
        // Probe at once instead, and take a dead listener as proof: before the debounced restart the
        // states then say which forwards died (ForwardTracker.commonCause needs them).
        const cause = event.pod ? this.#podCause(event.pod, event.namespace) : undefined;
        if (!event.pod) this.#confirmUntil = now + CONFIRM_MS;
        const restart = { kind: "debounced" as const, why: `lost connection${pod}`, cause };
        if (!auto) return { ...update, restart, ...(event.pod ? {} : { probeNow: true }) };
        if (!cause) return update;
        return { ...update, ...this.#countServiceFailure(cause, now) };
      }
      case "portforward_error": {
        const update = this.#records.setOfPod(event.pod, event.namespace, "down", now);
        if (auto) return update;
        const cause = this.#podCause(event.pod, event.namespace);
        return {
          ...update,
          restart: { kind: "debounced", why: `port-forward error on ${event.pod}`, cause },
        };
      }
      case "stopped_forwarding": {
        const update = this.#records.setOfPod(event.pod, undefined, "down", now);
        if (auto) return update;
        const cause = this.#podCause(event.pod, undefined);
        return { ...update, restart: { kind: "debounced", why: `stopped forwarding ${event.pod}`, cause } };
      }
      case "reconnect_scheduled": {
        const cause = {
          key: `service ${event.serviceKey}`,
          forwards: this.#records.keysOfService(event.serviceKey),
        };
        return { reconnect: true, ...this.#countServiceFailure(cause, now) };
      }
      case "no_running_pods":
        return this.#records.setOfService(event.serviceKey, "down", now);
      case "listen_conflict": {
        const update = event.pod ? this.#records.setOfPod(event.pod, event.namespace, "down", now) : {};
        const warning = `local address conflict: ${event.error}`;
        const forwards = event.pod
          ? this.#podCause(event.pod, event.namespace).forwards
          : this.#records.keysOfListenError(event.error);
        const cause = { key: `listen ${event.error}`, forwards };
        // 1.22.x gives up on that forward for good; 1.24+ retries it about every second.
        if (!auto) {
          const why = `local address conflict (${event.error})`;
          return { ...update, warning, restart: { kind: "debounced", why, cause } };
        }
        return { ...update, warning, ...this.#countServiceFailure(cause, now) };
      }
      case "ip_exhausted":
        return { restart: { kind: "now", reason: "kubefwd ran out of IP addresses" } };
      case "list_failed":
        return this.#signals.listFailure(event.message, now);
      default:
        return {};
    }
  }

  /**
   * Applies a probe round. A forward found dead with no log line that said why is dead all the same:
   * 1.22.x never re-forwards it (restart after the debounce); 1.24+ may still reconnect it, so only a forward
   * down for longer than the grace period asks for a restart. A timeout is no evidence of death (a busy
   * machine is slow): the forward is `unverified`, and only a run of timeouts while the API server answers
   * means kubefwd stalled. Right after the API server came back or the machine woke up, any forward that
   * was up and does not answer now restarts the child at once.
   */
  onProbes(results: ProbeResult[], now: number): TrackerUpdate {
    const threshold = now <= this.#confirmUntil ? 1 : Math.max(1, this.#settings.failureThreshold);
    let changed = false;
    const notAnswering: string[] = [];
    const stalled: string[] = [];
    for (const { target, outcome } of results) {
      const f = this.#records.get(target.key);
      if (f === undefined || f.id !== target.id) continue; // replaced while the probe ran
      if (f.status.state === "failed") continue; // given up on until kubefwd announces it again
      const apiDown = this.#api.state === "unreachable" ? this.#api : undefined;
      if (outcome === "answered" || (outcome === "held" && !apiDown)) {
        changed = this.#records.set(f, "up", now) || changed;
        continue;
      }
      if (f.everUp) notAnswering.push(target.key);
      if (outcome === "held") {
        // Held open while the API server is out of reach proves nothing: kubefwd waits on it.
        if (f.status.state === "up") {
          changed = this.#records.set(f, "unverified", now, apiUnreachable(apiDown!)) || changed;
        }
        continue;
      }
      if (outcome === "timeout") {
        f.probeTimeouts++;
        const why = apiDown
          ? apiUnreachable(apiDown)
          : f.probeTimeouts >= this.#settings.stallProbes && this.#api.state === "reachable"
          ? `${STALLED}: no answer to ${f.probeTimeouts} probes in a row while the API server answers`
          : `no answer within the probe timeout (${f.probeTimeouts} in a row)`;
        if (why.startsWith(STALLED) && f.everUp) stalled.push(target.key);
        if (f.probeTimeouts >= threshold || apiDown) {
          changed = this.#records.setReason(f, "unverified", why, now) || changed;
        }
        continue;
      }
      f.probeTimeouts = 0;
      if (++f.probeFailures >= threshold) {
        const why = failureReason(outcome, target) + (apiDown ? `; ${apiUnreachable(apiDown)}` : "");
        changed = this.#records.setReason(f, "down", why, now) || changed;
      }
    }
    const update: TrackerUpdate = changed ? { changed: "health probe" } : {};
    const recovery = this.#recovery;
    if (recovery && this.#apiFresh(recovery.since)) {
      this.#recovery = undefined;
      if (notAnswering.length > 0 && this.#api.state !== "unreachable") {
        update.restart = {
          kind: "now",
          reason: `${recovery.why}, and ${notAnswering.slice(0, 5).join(", ")} still not answering`,
          cause: { key: "recovery", forwards: notAnswering },
          fresh: true,
        };
        return update;
      }
    }
    if (stalled.length > 0) {
      const key = stalled[0];
      update.restart = {
        kind: "now",
        reason: `forward ${key}: ${this.#records.get(key)?.status.reason ?? STALLED}`,
        cause: { key: `forward ${key}`, forwards: [key] },
      };
      return update;
    }
    const graceMs = this.#settings.autoReconnect ? this.#settings.autoReconnectGraceMs : 0;
    const dead = this.#records.all().find((f) =>
      f.everUp && f.status.state === "down" && now - f.sinceMs >= graceMs
    );
    // While kubefwd cannot list from the API a new kubefwd could not either; it reconnects by itself.
    if (dead && !this.#apiFailing(now)) {
      const key = `${dead.status.hostname}:${dead.status.port}`;
      const what = `forward ${key} down since ${dead.status.since}`;
      const cause = { key: `forward ${key}`, forwards: [key] };
      update.restart = this.#settings.autoReconnect
        ? { kind: "now", reason: what, cause }
        : { kind: "debounced", why: what, cause };
    }
    return update;
  }

  /**
   * A failure that leaves no forward up, across several pods, is not one pod's or one service's but the
   * node's, the network's or the cluster's behind them: a restart helps at most once for it. So every such
   * restart shares one cause, and the restart throttle holds a repeat instead of cycling kubefwd once per
   * service (measured: a node down for 20 s caused 4–5 restarts, one per service or pod).
   */
  commonCause(cause: RestartCause | undefined): RestartCause | undefined {
    const all = this.#records.entries();
    const pods = new Set(all.map(([, f]) => `${f.status.namespace}/${f.status.pod}`));
    if (pods.size < 2 || all.some(([, f]) => f.status.state === "up")) return cause;
    return { key: EVERY_FORWARD, forwards: all.map(([key]) => key) };
  }

  /**
   * The daemon's own check of the API server. Out of reach: every forward that was up is `unverified` with
   * that reason, and no restart is asked for (a new kubefwd could not reach it either). Back again: the
   * forwards are probed at once, and those that still fail restart the child without the usual thresholds.
   */
  onApi(api: ApiReachability, now: number): TrackerUpdate {
    const was = this.#api;
    this.#api = api;
    this.#apiCheckedAt = now;
    if (api.state === "unreachable") {
      let changed = false;
      for (const f of this.#records.all()) {
        if (f.status.state === "up" || f.status.state === "unverified") {
          changed = this.#records.setReason(f, "unverified", apiUnreachable(api), now) || changed;
        }
      }
      return changed ? { changed: apiUnreachable(api) } : {};
    }
    if (was.state === "unreachable" && api.state === "reachable") {
      const seconds = Math.round((now - was.since) / 1000);
      this.#recovery = { since: now, why: `the API server answers again after ${seconds} s` };
      return { probeNow: true };
    }
    return this.#recovery ? { probeNow: true } : {};
  }

  /**
   * The machine was suspended (or the daemon stopped) for `sleptMs`: kubefwd's connections may be stale.
   * The forwards are probed at once; those that fail restart the child as soon as the API server is known
   * to answer.
   */
  onWake(sleptMs: number, now: number): TrackerUpdate {
    this.#recovery = { since: now, why: `woke up after ${Math.round(sleptMs / 1000)} s asleep` };
    // Held failures get a fresh chance: probed again, and restarted for if they still fail.
    for (const f of this.#records.all()) {
      if (f.status.state === "failed") this.#records.set(f, "down", now, "re-checked after the wake");
    }
    return { probeNow: true, fresh: true };
  }

  /** The pod whose node to check: one of a failed or dead forward, while the API server answers. */
  podToCheck(): { namespace: string; pod: string } | undefined {
    if (this.#api.state !== "reachable") return undefined;
    const f = this.#records.all().find((f) =>
      f.status.state === "failed" || (f.everUp && f.status.state === "down")
    );
    return f && { namespace: f.status.namespace, pod: f.status.pod };
  }

  /**
   * Whether the API server reaches the node of {@link podToCheck}'s pod. Out of reach: no restart (a new
   * kubefwd could not reach it either), and `status` says so. Back: the forwards are probed at once, and
   * for a kubefwd that never reconnects (1.22.x) a held restart is tried at once.
   */
  onPodPath(reachable: boolean | undefined, now: number): TrackerUpdate {
    const pod = this.podToCheck()?.pod;
    if (reachable === false && pod !== undefined) {
      if (this.#nodeDown) return {};
      this.#nodeDown = { since: now, pod };
      return { changed: `node of pod ${pod} unreachable` };
    }
    if (reachable !== true || !this.#nodeDown) return {};
    this.#nodeDown = undefined;
    // 1.24+ reconnects by itself once the node answers (faster than a restart); 1.22.x never does.
    return { changed: "node reachable again", retryHeld: !this.#settings.autoReconnect, probeNow: true };
  }

  /** The API state was checked after `since`, or is not watched at all. */
  #apiFresh(since: number): boolean {
    return this.#api.state === "unknown" || this.#apiCheckedAt >= since;
  }

  /**
   * Addresses whose hosts lines the ended child left behind. kubefwd cleans its own lines only on a graceful
   * exit (`Clean exit`, code 0) or, from 1.23 on, a forced second-signal exit; a crash, SIGKILL or a FATA
   * after forwards began leaves them all. 1.22.x also leaves the lines of forwards that died earlier, even on
   * a graceful exit.
   */
  leftoverIps(exit: ExitFacts): string[] {
    const graceful = (exit.code === 0 && exit.sawCleanExit) ||
      (exit.code === 1 && exit.sawForcedShutdown && exit.informer);
    if (!graceful) return [...this.#announcedIps];
    if (exit.informer) return [];
    const live = new Set<string>();
    const dead = new Set<string>();
    for (const f of this.#records.all()) (f.status.state === "down" ? dead : live).add(f.status.ip);
    return [...dead].filter((ip) => !live.has(ip));
  }

  /**
   * The daemon stopped restarting for a failure that came back: these forwards are `failed` with kubefwd's
   * reason until kubefwd announces them again. Probes leave them alone.
   */
  markFailed(forwards: string[], reason: string, now: number): TrackerUpdate {
    let changed = false;
    for (const key of forwards) {
      const f = this.#records.get(key);
      if (f === undefined) continue;
      changed = this.#records.set(f, "failed", now) || changed;
      f.status.reason = reason;
    }
    return changed ? { changed: `${forwards.join(", ")} failed` } : {};
  }

  #podCause(pod: string, namespace: string | undefined): RestartCause {
    return { key: `pod ${namespace ?? ""}/${pod}`, forwards: this.#records.keysOfPod(pod, namespace) };
  }

  #onForward(fwd: ForwardAnnouncement, now: number): TrackerUpdate {
    const max = this.#settings.maxAnnounced;
    const update: TrackerUpdate = { announced: fwd };
    if (!this.#announcedIps.has(fwd.ip) && this.#announcedIps.size < max) {
      this.#announcedIps.add(fwd.ip);
      update.newIp = fwd.ip;
    }
    const key = `${fwd.hostname}:${fwd.localPort}`;
    if (this.#records.has(key) || this.#records.size < max) {
      const mode = probeModeFor(this.#settings.probeRules, {
        service: fwd.hostname.split(".")[0],
        port: fwd.localPort,
        podPort: fwd.podPort,
      });
      this.#records.add(fwd, mode, now);
    }
    update.changed = `${key} → ${fwd.ip}`;
    const churn = this.#signals.ipChurn(fwd.ip, fwd.hostname);
    if (churn) update.restart = churn;
    return update;
  }

  /**
   * kubefwd (1.24+) is failing to list from the API right now, or the daemon's own check says the API
   * server is out of reach: restarting kubefwd for its dead forwards cannot help.
   */
  #apiFailing(now: number): boolean {
    return this.#api.state === "unreachable" || this.#nodeDown !== undefined ||
      this.#signals.listFailing(now);
  }

  #countServiceFailure(cause: RestartCause, now: number): TrackerUpdate {
    return this.#signals.serviceFailure(cause, now, this.#apiFailing(now));
  }
}

/** How long after an unnamed `lost connection` one failed probe counts as the forward's death. */
const CONFIRM_MS = 5000;
/** The cause of a failure that leaves no forward up (see ForwardTracker.commonCause). */
const EVERY_FORWARD = "every forward (node, network or cluster)";
/** The reason of forwards that time out while the API server answers. */
const STALLED = "kubefwd stalled";
/** The reason of a forward kubefwd accepted and closed. */
const POD_UNREACHABLE = "pod not reachable";
/** The reason of a forward nothing listens on. */
const NOTHING_LISTENS = "nothing listens";

function apiUnreachable(api: { since: number; why: string }): string {
  return `apiserver unreachable since ${isoTime(api.since)} (${api.why})`;
}

function failureReason(outcome: "refused" | "closed" | "unnamed", target: ProbeTarget): string {
  switch (outcome) {
    case "refused":
      return `${NOTHING_LISTENS} on ${target.ip}:${target.port}`;
    case "closed":
      return `${POD_UNREACHABLE}: kubefwd accepted the connection and closed it`;
    case "unnamed":
      return `the hosts line of ${target.ip} is gone`;
  }
}
