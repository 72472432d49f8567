/**
 * The Prometheus text exposition format (version 0.0.4) of a {@link MetricsSnapshot}: HELP and TYPE for
 * every family, base units (seconds, bytes), `_total` counters, label values escaped. Pure, so the text is
 * table-tested and checked by `promtool check metrics`.
 */
import { PROFILE_STATES, RESTART_REASONS } from "../supervisor/types.ts";
import type { HistogramSnapshot, MetricsSnapshot } from "./types.ts";

/** The Content-Type of the exposition format. */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;

/** A label value with `\`, `"` and newlines escaped, as the format requires. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return parts.length > 0 ? `{${parts.join(",")}}` : "";
}

function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** Collects families in order; each family's HELP/TYPE is written once, before its samples. */
class Writer {
  readonly lines: string[] = [];

  family(name: string, type: "gauge" | "counter" | "histogram", help: string): void {
    this.lines.push(
      `# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`,
      `# TYPE ${name} ${type}`,
    );
  }

  sample(name: string, labels: Labels, value: number): void {
    this.lines.push(`${name}${labelText(labels)} ${num(value)}`);
  }

  histogram(name: string, labels: Labels, h: HistogramSnapshot): void {
    h.bounds.forEach((le, i) => this.sample(`${name}_bucket`, { ...labels, le: num(le) }, h.cumulative[i]));
    this.sample(`${name}_bucket`, { ...labels, le: "+Inf" }, h.count);
    this.sample(`${name}_sum`, labels, h.sum);
    this.sample(`${name}_count`, labels, h.count);
  }
}

/** The whole exposition text, ending with a newline. */
export function renderExposition(snapshot: MetricsSnapshot): string {
  const w = new Writer();
  const d = snapshot.daemon;
  const P = "kubefwd_daemon";

  w.family(`${P}_build_info`, "gauge", "Always 1; the labels say which kubefwd-daemon and Deno run.");
  w.sample(`${P}_build_info`, { version: d.version, deno: d.deno }, 1);
  w.family(
    "process_start_time_seconds",
    "gauge",
    "Start time of the daemon since the Unix epoch, in seconds.",
  );
  w.sample("process_start_time_seconds", {}, Date.parse(d.startedAt) / 1000);
  if (d.residentMemoryBytes !== null) {
    w.family("process_resident_memory_bytes", "gauge", "Resident memory size of the daemon, in bytes.");
    w.sample("process_resident_memory_bytes", {}, d.residentMemoryBytes);
  }
  if (d.privateMemoryBytes !== null) {
    w.family(
      `${P}_private_memory_bytes`,
      "gauge",
      "Unique set size of the daemon (private clean + private dirty pages), in bytes.",
    );
    w.sample(`${P}_private_memory_bytes`, {}, d.privateMemoryBytes);
  }
  w.family(`${P}_control_connections`, "gauge", "Open connections on the daemon's control socket.");
  w.sample(`${P}_control_connections`, {}, d.controlConnections);

  const profiles = snapshot.profiles;
  const each = (
    name: string,
    type: "gauge" | "counter",
    help: string,
    emit: (p: (typeof profiles)[number]) => void,
  ) => {
    if (profiles.length === 0) return;
    w.family(name, type, help);
    for (const p of profiles) emit(p);
  };
  each(`${P}_profile_state`, "gauge", "1 for the profile's current state, 0 for the others.", (p) => {
    for (const state of PROFILE_STATES) {
      w.sample(`${P}_profile_state`, { profile: p.name, state }, p.state === state ? 1 : 0);
    }
  });
  each(`${P}_profile_up`, "gauge", "1 while the profile is running with every forward answering.", (p) => {
    w.sample(`${P}_profile_up`, { profile: p.name }, p.up ? 1 : 0);
  });
  each(`${P}_profile_uptime_seconds`, "gauge", "Seconds the profile's current kubefwd has run.", (p) => {
    w.sample(`${P}_profile_uptime_seconds`, { profile: p.name }, p.uptimeSeconds);
  });
  each(
    `${P}_profile_uptime_seconds_total`,
    "counter",
    "Seconds the profile's kubefwd children ran, across runs and daemon restarts.",
    (p) => w.sample(`${P}_profile_uptime_seconds_total`, { profile: p.name }, p.totalUptimeSeconds),
  );
  each(
    `${P}_profile_restarts_total`,
    "counter",
    "Restarts of the profile's kubefwd since the daemon started, by reason.",
    (p) => {
      for (const reason of RESTART_REASONS) {
        w.sample(`${P}_profile_restarts_total`, { profile: p.name, reason }, p.restarts[reason]);
      }
    },
  );
  each(
    `${P}_profile_failures_total`,
    "counter",
    "Unrequested kubefwd exits and failed starts since the daemon started.",
    (p) => w.sample(`${P}_profile_failures_total`, { profile: p.name }, p.failures),
  );
  each(
    `${P}_profile_forward_losses_total`,
    "counter",
    "Forward losses kubefwd reported (its own reconnects, kubefwd 1.24+) since the daemon started.",
    (p) => w.sample(`${P}_profile_forward_losses_total`, { profile: p.name }, p.forwardLosses),
  );
  each(`${P}_profile_forwards`, "gauge", "Forwards of the profile's current kubefwd, by state.", (p) => {
    for (const [state, n] of Object.entries(p.forwards)) {
      w.sample(`${P}_profile_forwards`, { profile: p.name, state }, n);
    }
  });
  if (profiles.length > 0) {
    w.family(
      `${P}_recovery_seconds`,
      "histogram",
      "Time from a fault seen (the profile left running unasked) to running again, in seconds.",
    );
    for (const p of profiles) w.histogram(`${P}_recovery_seconds`, { profile: p.name }, p.recovery);
    w.family(
      `${P}_detection_seconds`,
      "histogram",
      "Time from a fault's first sign (a failed probe; 0 for kubefwd's own report or exit) to the daemon's verdict, in seconds.",
    );
    for (const p of profiles) w.histogram(`${P}_detection_seconds`, { profile: p.name }, p.detection);
  }

  const forwards = profiles.flatMap((p) => p.forwardList.map((f) => ({ profile: p.name, f })));
  if (forwards.length > 0) {
    const labels = (profile: string, f: (typeof forwards)[number]["f"]) => ({
      profile,
      namespace: f.namespace,
      service: f.service,
      port: String(f.port),
    });
    w.family(`${P}_forward_up`, "gauge", "1 while the forward answers its probes.");
    for (const { profile, f } of forwards) {
      w.sample(`${P}_forward_up`, labels(profile, f), f.state === "up" ? 1 : 0);
    }
    w.family(
      `${P}_forward_state_since_seconds`,
      "gauge",
      "When the forward's state last changed, since the Unix epoch, in seconds.",
    );
    for (const { profile, f } of forwards) {
      w.sample(`${P}_forward_state_since_seconds`, labels(profile, f), Date.parse(f.since) / 1000);
    }
    const probed = forwards.filter(({ f }) => f.lastProbeSeconds !== null);
    if (probed.length > 0) {
      w.family(
        `${P}_forward_probe_duration_seconds`,
        "gauge",
        "Duration of the forward's newest probe, in seconds.",
      );
      for (const { profile, f } of probed) {
        w.sample(`${P}_forward_probe_duration_seconds`, labels(profile, f), f.lastProbeSeconds!);
      }
    }
  }
  return w.lines.join("\n") + "\n";
}
