/**
 * The one metrics model of the daemon. It is fed by the Supervisor's transition events (restarts by
 * reason, faults and their recovery) and reads the rest from the Supervisor's status and the probe
 * timings when a snapshot is asked for, so nothing is counted twice and nothing is parsed from log lines.
 * `metrics --json` and the Prometheus endpoint both render {@link MetricsModel.snapshot}.
 */
import type { Clock } from "../clock.ts";
import {
  type ForwardState,
  type ProfileStatus,
  RESTART_REASONS,
  type RestartReason,
  type TransitionEvent,
} from "../supervisor/types.ts";
import { DETECTION_BOUNDS_SECONDS, Histogram, RECOVERY_BOUNDS_SECONDS } from "./histogram.ts";
import type { ProbeTiming } from "./probe_timing.ts";
import type { ProcessMemory } from "./process_memory.ts";
import type { ForwardMetrics, MetricsSnapshot, ProfileMetrics } from "./types.ts";

/** What a transition means for the fault clock of its profile. */
export type FaultEffect = "open" | "close" | "abandon" | "none";

/**
 * A fault is seen when the profile leaves health unasked: forwards down (`degraded`), kubefwd gone
 * (`backoff` after an exit or a failed start, `failed`), or a restart for dead forwards or list failures.
 * It ends when the profile is `running` again; a user's stop or disable abandons it. A planned restart (the
 * user's, a config or kubeconfig change, running out of addresses, a pod back for a service kubefwd does not
 * forward) is no fault, and neither is the backoff between such restarts (entered from `stopping`).
 */
export function faultEffect(event: Pick<TransitionEvent, "from" | "to" | "restart">): FaultEffect {
  switch (event.to) {
    case "running":
      return "close";
    case "stopped":
    case "disabled":
      return "abandon";
    case "degraded":
    case "failed":
      return "open";
    case "backoff":
      return event.from === "stopping" ? "none" : "open";
    case "stopping":
      return event.restart === "dead_forward" || event.restart === "list_failures" ? "open" : "none";
    default:
      return "none";
  }
}

/** What the model reads from the running daemon. */
export interface MetricsSources {
  /** Events and state (config order); the Supervisor's `status`. Throws for unknown names. */
  status(names: string[]): ProfileStatus[];
  /** Probe timings by address (the daemon's TimedProber). */
  probe(ip: string, port: number): Readonly<ProbeTiming> | undefined;
  /** The process's memory now. */
  memory(): ProcessMemory;
  /** Open control-socket connections. */
  connections(): number;
  /** Where the Prometheus endpoint listens, or null. */
  endpoint(): string | null;
}

/** Per-profile counters the model owns (everything else is read at snapshot time). */
interface ProfileCounters {
  restarts: Record<RestartReason, number>;
  /** The persisted failure counter when the model first saw the profile. */
  failureBaseline: number;
  recovery: Histogram;
  detection: Histogram;
  /** When the open fault was seen (ms), if one is open. */
  faultSince?: number;
  lastRecoverySeconds: number | null;
}

/** Options of a {@link MetricsModel}. */
export interface MetricsModelOptions {
  /** Event times come from the events; this clock dates the daemon's uptime. */
  clock: Clock;
  /** When the daemon started. */
  startedAt: Date;
  /** Program version. */
  version: string;
  /** What it reads at snapshot time. */
  sources: MetricsSources;
}

/** The daemon's metrics. See the module comment. */
export class MetricsModel {
  readonly #opts: MetricsModelOptions;
  readonly #profiles = new Map<string, ProfileCounters>();

  /** An empty model; connect it with `supervisor.onEvent((e) => model.onEvent(e))`. */
  constructor(opts: MetricsModelOptions) {
    this.#opts = opts;
  }

  /** Applies one transition: restart counts and the fault clock. Never throws. */
  onEvent(event: TransitionEvent): void {
    const status = this.#status(event.profile);
    const counters = this.#counters(event.profile, status);
    if (event.restart !== undefined) counters.restarts[event.restart]++;
    const at = Date.parse(event.at);
    switch (faultEffect(event)) {
      case "open":
        if (counters.faultSince !== undefined) break;
        counters.faultSince = at;
        counters.detection.observe(this.#detectionSeconds(event, status, at));
        break;
      case "close":
        if (counters.faultSince === undefined) break;
        counters.lastRecoverySeconds = Math.max(0, at - counters.faultSince) / 1000;
        counters.recovery.observe(counters.lastRecoverySeconds);
        counters.faultSince = undefined;
        break;
      case "abandon":
        counters.faultSince = undefined;
        break;
    }
  }

  /** Everything, now. */
  snapshot(): MetricsSnapshot {
    const { clock, startedAt, version, sources } = this.#opts;
    const statuses = sources.status([]);
    const names = new Set(statuses.map((s) => s.name));
    for (const name of this.#profiles.keys()) if (!names.has(name)) this.#profiles.delete(name);
    const memory = sources.memory();
    return {
      daemon: {
        version,
        deno: Deno.version.deno,
        startedAt: startedAt.toISOString(),
        uptimeSeconds: Math.max(0, Math.floor((clock.now() - startedAt.getTime()) / 1000)),
        residentMemoryBytes: memory.residentBytes,
        privateMemoryBytes: memory.privateBytes,
        controlConnections: sources.connections(),
        endpoint: sources.endpoint(),
      },
      profiles: statuses.map((s) => this.#profileMetrics(s)),
    };
  }

  #profileMetrics(s: ProfileStatus): ProfileMetrics {
    const counters = this.#counters(s.name, s);
    const forwards: Record<ForwardState, number> = { pending: 0, up: 0, unverified: 0, down: 0, failed: 0 };
    for (const f of s.forwards) forwards[f.state]++;
    return {
      name: s.name,
      state: s.state,
      up: s.state === "running",
      uptimeSeconds: s.uptimeSeconds,
      totalUptimeSeconds: s.totalUptimeSeconds ?? s.uptimeSeconds,
      restarts: { ...counters.restarts },
      failures: Math.max(0, s.failures - counters.failureBaseline),
      forwardLosses: s.reconnects ?? 0,
      forwards,
      recovery: counters.recovery.snapshot(),
      detection: counters.detection.snapshot(),
      lastRecoverySeconds: counters.lastRecoverySeconds,
      forwardList: s.forwards.map((f): ForwardMetrics => {
        const probe = this.#opts.sources.probe(f.ip, f.port);
        return {
          service: f.hostname,
          namespace: f.namespace,
          ip: f.ip,
          port: f.port,
          state: f.state,
          since: f.since,
          lastProbeSeconds: probe?.seconds ?? null,
          lastProbeOk: probe?.ok ?? null,
        };
      }),
    };
  }

  /**
   * How long the fault went unjudged: from the first failed probe of a forward that is down now, when the
   * probes found it; 0 when kubefwd said so itself or exited (the daemon learns that at once).
   */
  #detectionSeconds(event: TransitionEvent, status: ProfileStatus | undefined, at: number): number {
    if (event.to !== "degraded" && event.to !== "stopping") return 0;
    let first = at;
    for (const f of status?.forwards ?? []) {
      if (f.state !== "down" && f.state !== "failed") continue;
      const since = this.#opts.sources.probe(f.ip, f.port)?.failingSince;
      if (since !== undefined && since < first) first = since;
    }
    return (at - first) / 1000;
  }

  #status(name: string): ProfileStatus | undefined {
    try {
      return this.#opts.sources.status([name])[0];
    } catch {
      return undefined; // a removed profile still stopping
    }
  }

  /**
   * The profile's counters, created at first sight. A persisted failure counter below the baseline means
   * the profile was removed and added again (its persisted state started over): so do its counters.
   */
  #counters(name: string, status: ProfileStatus | undefined): ProfileCounters {
    let counters = this.#profiles.get(name);
    if (counters === undefined || (status !== undefined && status.failures < counters.failureBaseline)) {
      counters = {
        restarts: Object.fromEntries(RESTART_REASONS.map((r) => [r, 0])) as Record<RestartReason, number>,
        failureBaseline: status?.failures ?? 0,
        recovery: new Histogram(RECOVERY_BOUNDS_SECONDS),
        detection: new Histogram(DETECTION_BOUNDS_SECONDS),
        lastRecoverySeconds: null,
      };
      this.#profiles.set(name, counters);
    }
    return counters;
  }
}
