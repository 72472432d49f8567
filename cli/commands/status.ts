/**
 * `status [PROFILE…] [--watch] [--wait-healthy [--timeout D]]`: the table, a single profile's detail,
 * or a blocking health gate for scripts (exit 6 on timeout).
 */
import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import { withClient } from "../connect.ts";
import type { StatusResult } from "../../lib/ipc/protocol.ts";
import type { ProfileStatus } from "../../lib/supervisor/types.ts";
import { UserError } from "../../lib/errors.ts";
import { parseDuration } from "../../lib/config/duration.ts";
import { delay } from "../../lib/util/async.ts";
import { persistenceNotice } from "../persistence_notice.ts";
import { clip, formatAge, painter, paintForwardState, paintState, table } from "../render.ts";

/** True when a profile counts as healthy for `--wait-healthy`. */
export function isHealthy(p: ProfileStatus): boolean {
  if (!p.enabled) return true;
  return p.state === "running" && p.forwards.every((f) => f.state === "up");
}

/** The table of all profiles. */
export function renderStatusTable(status: StatusResult, color: boolean): string {
  const p = painter(color);
  const d = status.daemon;
  const lines = [
    `${p.bold("kubefwd-daemon")} ${d.version}  pid ${d.pid}  up ${
      formatAge(d.uptimeSeconds)
    }  config ${d.configPath}`,
  ];
  if (status.profiles.length === 0) {
    lines.push("no profiles configured — add one to the config file, then run: kubefwd-daemon reload");
    return lines.join("\n");
  }
  const rows = [
    ["PROFILE", "STATE", "PID", "UPTIME", "RESTARTS", "FORWARDS", "LAST ERROR"].map((h) => p.dim(h)),
  ];
  for (const prof of status.profiles) {
    const up = prof.forwards.filter((f) => f.state === "up").length;
    const state = paintState(prof.state, p) + (prof.enabledSource === "cli" ? p.dim("*") : "");
    rows.push([
      prof.name,
      state,
      prof.pid === null ? "-" : String(prof.pid),
      prof.startedAt ? formatAge(prof.uptimeSeconds) : "-",
      String(prof.restarts),
      `${up}/${prof.forwards.length}`,
      prof.lastError ? p.red(clip(prof.lastError, 60)) : "",
    ]);
  }
  lines.push(table(rows));
  if (status.profiles.some((x) => x.enabledSource === "cli")) {
    lines.push(p.dim("* enabled/disabled from the CLI (overrides the config)"));
  }
  return lines.join("\n");
}

/** One profile's detail: settings, every forward, recent events. */
export function renderProfileDetail(prof: ProfileStatus, color: boolean): string {
  const p = painter(color);
  const lines = [
    `${p.bold(prof.name)}  ${paintState(prof.state, p)}${prof.pid ? `  pid ${prof.pid}` : ""}`,
    `  enabled:    ${prof.enabled} (from ${prof.enabledSource})`,
    `  context:    ${prof.context ?? "(current-context)"}`,
    `  namespaces: ${prof.namespaces.join(", ")}`,
    `  kubefwd:    ${prof.kubefwdVersion ?? "unknown"}`,
    `  uptime:     ${
      prof.startedAt ? formatAge(prof.uptimeSeconds) : "-"
    }   restarts ${prof.restarts}   failures ${prof.failures}`,
  ];
  if (prof.nextRetryAt) lines.push(`  next retry: ${prof.nextRetryAt}`);
  if (prof.lastError) lines.push(`  last error: ${p.red(prof.lastError)}`);
  lines.push("", "  forwards:");
  if (prof.forwards.length === 0) lines.push("    (none yet)");
  else {
    const rows = [["HOSTNAME", "LOCAL", "POD", "STATE", "SINCE"].map((h) => p.dim(h))];
    for (const f of prof.forwards) {
      rows.push([
        f.hostname,
        `${f.ip}:${f.port}`,
        `${f.pod}:${f.podPort}`,
        paintForwardState(f.state, p),
        f.since,
      ]);
    }
    lines.push(table(rows).split("\n").map((l) => "    " + l).join("\n"));
    for (const f of prof.forwards) {
      if (f.reason) lines.push(`    ${f.hostname}:${f.port} not restarted for: ${p.red(f.reason)}`);
    }
  }
  lines.push("", "  recent events:");
  const events = prof.events ?? [];
  if (events.length === 0) lines.push("    (none)");
  for (const e of events) {
    lines.push(
      `    ${e.at}  ${e.from} → ${e.to}  ${e.reason}${e.detail ? p.dim(`: ${clip(e.detail, 100)}`) : ""}`,
    );
  }
  return lines.join("\n");
}

/** Register `status`. */
export function registerStatusCommand(program: Command, ctx: CliContext): void {
  program.command("status")
    .description("show profiles, their children and forwards (exit 3 when the daemon is not running)")
    .argument("[profiles...]", "limit to these profiles; one profile shows its detail")
    .option("--watch", "refresh every second until interrupted")
    .option(
      "--wait-healthy",
      "block until every enabled profile is running with all forwards up (exit 6 on timeout)",
    )
    .option("--timeout <duration>", "with --wait-healthy: how long to wait", "60s")
    .action(async (profiles: string[], opts: { watch?: boolean; waitHealthy?: boolean; timeout: string }) => {
      const g = ctx.globals();
      await withClient(ctx, async (client) => {
        const fetchStatus = () => client.request({ type: "status", profiles });
        if (opts.waitHealthy) {
          let timeoutMs: number;
          try {
            timeoutMs = parseDuration(opts.timeout);
          } catch (e) {
            throw new UserError("usage", `--timeout: ${(e as Error).message}`);
          }
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            const status = await fetchStatus();
            const unhealthy = status.profiles.filter((x) => !isHealthy(x));
            if (unhealthy.length === 0) {
              if (g.json) ctx.json(status);
              else {ctx.out(`healthy: ${
                  status.profiles.filter((x) => x.enabled).map((x) =>
                    x.name
                  ).join(", ") || "(no enabled profiles)"
                }`);}
              return;
            }
            if (Date.now() >= deadline) {
              if (g.json) ctx.json(status);
              throw new UserError(
                "unhealthy",
                `not healthy after ${opts.timeout}: ` +
                  unhealthy.map((x) =>
                    `${x.name} is ${x.state}${
                      x.forwards.length
                        ? ` (${
                          x.forwards.filter((f) => f.state === "up").length
                        }/${x.forwards.length} forwards up)`
                        : ""
                    }${x.lastError ? ` — ${clip(x.lastError, 80)}` : ""}`
                  ).join("; "),
                { details: g.json ? { alreadyPrinted: true } : undefined },
              );
            }
            await delay(Math.min(250, Math.max(0, deadline - Date.now())));
          }
        }
        const render = (status: StatusResult) => {
          if (g.json) return JSON.stringify(status);
          const notice = persistenceNotice(status, g.color);
          const text = profiles.length === 1 && status.profiles.length === 1
            ? renderProfileDetail(status.profiles[0], g.color)
            : renderStatusTable(status, g.color);
          return notice === undefined ? text : `${text}\n${notice}`;
        };
        if (!opts.watch) {
          const status = await fetchStatus();
          if (g.json) ctx.json(status);
          else ctx.out(render(status));
          return;
        }
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        Deno.addSignalListener("SIGINT", onSignal);
        try {
          while (!stop.signal.aborted) {
            const text = render(await fetchStatus());
            if (!g.json && Deno.stdout.isTerminal()) ctx.out("\x1b[H\x1b[2J" + text);
            else ctx.out(text);
            await delay(1000, { signal: stop.signal }).catch(() => {}); // SIGINT ends the pause early
          }
        } finally {
          Deno.removeSignalListener("SIGINT", onSignal);
        }
      });
    });
}
