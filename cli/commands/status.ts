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
import { untilInterrupted } from "../interrupt.ts";
import { historyNotice, persistenceNotice } from "../persistence_notice.ts";
import { clip, formatAge, painter, paintForwardState, paintState, relativeTime, table } from "../render.ts";

/**
 * True when a profile counts as healthy for `--wait-healthy`: disabled, or running with every announced
 * forward up and at least one of them (unless the profile has `allow_empty`).
 */
export function isHealthy(p: ProfileStatus): boolean {
  if (!p.enabled) return true;
  if (p.state !== "running") return false;
  if (p.forwards.length === 0) return p.allowEmpty === true;
  return p.forwards.every((f) => f.state === "up");
}

/** `lastError` with its age, e.g. `context "x" does not exist (12s ago)`. */
export function errorWithAge(p: ProfileStatus, now: number, max = Infinity): string {
  if (!p.lastError) return "";
  const text = clip(p.lastError, max);
  return p.lastErrorAt ? `${text} (${relativeTime(p.lastErrorAt, now)})` : text;
}

/** Why an unhealthy profile is not healthy, for the `--wait-healthy` timeout message. */
export function unhealthyReason(p: ProfileStatus, now: number): string {
  const up = p.forwards.filter((f) => f.state === "up").length;
  const forwards = p.forwards.length ? ` (${up}/${p.forwards.length} forwards up)` : "";
  const detail = p.stateDetail ? `: ${clip(p.stateDetail, 120)}` : "";
  const error = p.lastError ? ` — ${errorWithAge(p, now, 80)}` : "";
  return `${p.name} is ${p.state}${forwards}${detail}${error}`;
}

/** The state column: `backoff (retry in 7s)`, `degraded (forwards nothing)`. */
function stateCell(prof: ProfileStatus, now: number): string {
  if (prof.state === "backoff" && prof.nextRetryAt) return ` (retry ${relativeTime(prof.nextRetryAt, now)})`;
  if (prof.forwards.length === 0 && prof.stateDetail?.startsWith("forwards nothing")) {
    return " (forwards nothing)";
  }
  return "";
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
  const now = Date.now();
  for (const prof of status.profiles) {
    const up = prof.forwards.filter((f) => f.state === "up").length;
    const state = paintState(prof.state, p) + (prof.enabledSource === "cli" ? p.dim("*") : "") +
      p.dim(stateCell(prof, now));
    rows.push([
      prof.name,
      state,
      prof.pid === null ? "-" : String(prof.kubefwdPid ?? prof.pid),
      prof.startedAt ? formatAge(prof.uptimeSeconds) : "-",
      String(prof.restarts),
      `${up}/${prof.forwards.length}`,
      prof.lastError ? p.red(errorWithAge(prof, now, 60)) : "",
    ]);
  }
  lines.push(table(rows));
  if (status.profiles.some((x) => x.enabledSource === "cli")) {
    lines.push(p.dim("* enabled/disabled from the CLI (overrides the config)"));
  }
  return lines.join("\n");
}

/** `  pid N` of kubefwd, with sudo's pid when kubefwd runs under it (the pid the daemon signals). */
export function pidText(prof: ProfileStatus): string {
  if (!prof.pid) return "";
  const kubefwd = prof.kubefwdPid;
  if (kubefwd === undefined || kubefwd === prof.pid) return `  pid ${prof.pid}`;
  if (kubefwd === null) return `  pid ${prof.pid} (sudo)`;
  return `  pid ${kubefwd} (under sudo pid ${prof.pid})`;
}

/** One profile's detail: settings, every forward, recent events. */
export function renderProfileDetail(prof: ProfileStatus, color: boolean): string {
  const p = painter(color);
  const now = Date.now();
  const lines = [
    `${p.bold(prof.name)}  ${paintState(prof.state, p)}${pidText(prof)}`,
    `  enabled:    ${prof.enabled} (from ${prof.enabledSource})`,
    `  context:    ${prof.context ?? "(current-context)"}`,
    `  namespaces: ${prof.namespaces.join(", ")}`,
    `  kubefwd:    ${prof.kubefwdVersion ?? "unknown"}`,
    `  uptime:     ${
      prof.startedAt ? formatAge(prof.uptimeSeconds) : "-"
    }   restarts ${prof.restarts}   failures ${prof.failures}`,
  ];
  if (prof.stateDetail) lines.push(`  state:      ${prof.stateDetail}`);
  const api = prof.apiserver;
  if (api) {
    const since = api.since ? ` since ${relativeTime(api.since, now)}` : "";
    lines.push(`  apiserver:  ${api.state}${since}${api.error ? ` (${api.error})` : ""}`);
  }
  if (prof.nextRetryAt) {
    lines.push(`  next retry: ${relativeTime(prof.nextRetryAt, now)} ${p.dim(`(${prof.nextRetryAt})`)}`);
  }
  if (prof.lastError) {
    lines.push(
      `  last error: ${p.red(errorWithAge(prof, now))}${
        prof.lastErrorAt ? " " + p.dim(`(${prof.lastErrorAt})`) : ""
      }`,
    );
  }
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
        relativeTime(f.since, now),
      ]);
    }
    lines.push(table(rows).split("\n").map((l) => "    " + l).join("\n"));
    for (const f of prof.forwards) {
      if (!f.reason) continue;
      const why = f.state === "failed" ? "not restarted for" : f.state;
      lines.push(`    ${f.hostname}:${f.port} ${why}: ${p.red(f.reason)}`);
    }
  }
  lines.push("", "  recent events:");
  const events = prof.events ?? [];
  if (events.length === 0) lines.push("    (none)");
  for (const e of events) {
    lines.push(
      `    ${e.at} ${p.dim(`(${relativeTime(e.at, now)})`)}  ${e.from} → ${e.to}  ${e.reason}${
        e.detail ? p.dim(`: ${clip(e.detail, 100)}`) : ""
      }`,
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
    .option("--timeout <duration>", "with --wait-healthy: how long to wait (default 60s)")
    .action(
      async (profiles: string[], opts: { watch?: boolean; waitHealthy?: boolean; timeout?: string }) => {
        const g = ctx.globals();
        if (opts.timeout !== undefined && !opts.waitHealthy) {
          throw new UserError(
            "usage",
            "--timeout only applies to --wait-healthy (e.g. status --wait-healthy --timeout 30s)",
          );
        }
        const timeout = opts.timeout ?? "60s";
        await withClient(ctx, async (client) => {
          const fetchStatus = () => client.request({ type: "status", profiles });
          if (opts.waitHealthy) {
            let timeoutMs: number;
            try {
              timeoutMs = parseDuration(timeout);
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
                const now = Date.now();
                throw new UserError(
                  "unhealthy",
                  `not healthy after ${timeout}: ` +
                    unhealthy.map((x) => unhealthyReason(x, now)).join("; "),
                  { details: g.json ? { alreadyPrinted: true } : undefined },
                );
              }
              await delay(Math.min(250, Math.max(0, deadline - Date.now())));
            }
          }
          const render = (status: StatusResult) => {
            if (g.json) return JSON.stringify(status);
            const notices = [persistenceNotice(status, g.color), historyNotice(status, g.color)];
            const text = profiles.length === 1 && status.profiles.length === 1
              ? renderProfileDetail(status.profiles[0], g.color)
              : renderStatusTable(status, g.color);
            return [text, ...notices.filter((n) => n !== undefined)].join("\n");
          };
          if (!opts.watch) {
            const status = await fetchStatus();
            if (g.json) ctx.json(status);
            else ctx.out(render(status));
            return;
          }
          await untilInterrupted(async (signal) => {
            while (!signal.aborted) {
              const text = render(await fetchStatus());
              if (!g.json && Deno.stdout.isTerminal()) ctx.out("\x1b[H\x1b[2J" + text);
              else ctx.out(text);
              await delay(1000, { signal }).catch(() => {}); // SIGINT ends the pause early
            }
          });
        });
      },
    );
}
