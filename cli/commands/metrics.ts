/**
 * `metrics [PROFILE…] [--json]`: the daemon's metrics model — per profile state, uptimes, restarts by
 * reason, failures, forward losses, forwards, recoveries; per forward its probe; the daemon's memory. The
 * same numbers the Prometheus endpoint (`daemon.metrics.listen`) serves.
 */
import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import { withClient } from "../connect.ts";
import { UserError } from "../../lib/errors.ts";
import { didYouMean, suggest } from "../../lib/config/did_you_mean.ts";
import type { MetricsSnapshot, ProfileMetrics } from "../../lib/metrics/types.ts";
import { formatAge, painter, paintForwardState, paintState, relativeTime, table } from "../render.ts";

function mb(bytes: number | null): string {
  return bytes === null ? "?" : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function seconds(s: number | null): string {
  if (s === null) return "-";
  return s < 10 ? `${s.toFixed(1)}s` : formatAge(s);
}

/** `3 (crash 2, manual 1)`: the restarts since the daemon started, with their reasons. */
export function restartsCell(p: ProfileMetrics): string {
  const parts = Object.entries(p.restarts).filter(([, n]) => n > 0);
  const total = parts.reduce((sum, [, n]) => sum + n, 0);
  return parts.length === 0 ? "0" : `${total} (${parts.map(([r, n]) => `${r} ${n}`).join(", ")})`;
}

/** The human view: the daemon line, one row per profile, then every forward. */
export function renderMetrics(m: MetricsSnapshot, color: boolean, now = Date.now()): string {
  const p = painter(color);
  const d = m.daemon;
  const lines = [
    `${p.bold("kubefwd-daemon")} ${d.version}  up ${formatAge(d.uptimeSeconds)}  RSS ${
      mb(d.residentMemoryBytes)
    }  private ${mb(d.privateMemoryBytes)}  control connections ${d.controlConnections}`,
    d.endpoint === null
      ? p.dim("Prometheus endpoint off (set daemon.metrics.listen)")
      : `Prometheus endpoint http://${d.endpoint}/metrics`,
    p.dim("counters since the daemon started"),
  ];
  if (m.profiles.length === 0) return [...lines, "no profiles configured"].join("\n");
  const rows = [
    ["PROFILE", "STATE", "UPTIME", "TOTAL", "RESTARTS", "FAILURES", "LOSSES", "FORWARDS", "RECOVERIES"]
      .map((h) => p.dim(h)),
  ];
  for (const prof of m.profiles) {
    const f = prof.forwards;
    const rec = prof.recovery;
    rows.push([
      prof.name,
      paintState(prof.state, p),
      ["starting", "running", "degraded"].includes(prof.state) ? formatAge(prof.uptimeSeconds) : "-",
      formatAge(prof.totalUptimeSeconds),
      restartsCell(prof),
      String(prof.failures),
      String(prof.forwardLosses),
      `${f.up} up, ${f.down + f.failed} down${f.pending ? `, ${f.pending} pending` : ""}`,
      rec.count === 0
        ? "0"
        : `${rec.count} (mean ${seconds(rec.sum / rec.count)}, last ${seconds(prof.lastRecoverySeconds)})`,
    ]);
  }
  lines.push("", table(rows));
  const forwards = m.profiles.flatMap((prof) => prof.forwardList.map((f) => ({ profile: prof.name, f })));
  if (forwards.length > 0) {
    const fw = [
      ["PROFILE", "SERVICE", "NAMESPACE", "ADDRESS", "STATE", "SINCE", "LAST PROBE"].map((h) => p.dim(h)),
    ];
    for (const { profile, f } of forwards) {
      fw.push([
        profile,
        f.service,
        f.namespace,
        `${f.ip}:${f.port}`,
        paintForwardState(f.state, p),
        relativeTime(f.since, now),
        f.lastProbeSeconds === null
          ? "-"
          : `${(f.lastProbeSeconds * 1000).toFixed(1)} ms${f.lastProbeOk ? "" : p.red(" failed")}`,
      ]);
    }
    lines.push("", table(fw));
  }
  return lines.join("\n");
}

/** Register `metrics`. */
export function registerMetricsCommand(program: Command, ctx: CliContext): void {
  program.command("metrics")
    .description("metrics: restarts by reason, failures, recoveries, forwards, probes, daemon memory")
    .argument("[profiles...]", "limit to these profiles")
    .action(async (profiles: string[]) => {
      const g = ctx.globals();
      await withClient(ctx, async (client) => {
        const m = await client.request({ type: "metrics" });
        const unknown = profiles.filter((n) => !m.profiles.some((p) => p.name === n));
        if (unknown.length > 0) {
          throw new UserError(
            "unknown_profile",
            `unknown profile ${unknown.map((n) => JSON.stringify(n)).join(", ")}${
              didYouMean(suggest(unknown[0], m.profiles.map((p) => p.name)))
            }; known profiles: ${m.profiles.map((p) => p.name).join(", ") || "none configured"}`,
          );
        }
        const shown = profiles.length === 0
          ? m
          : { ...m, profiles: m.profiles.filter((p) => profiles.includes(p.name)) };
        if (g.json) ctx.json(shown);
        else ctx.out(renderMetrics(shown, g.color));
      });
    });
}
