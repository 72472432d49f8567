/**
 * `enable PROFILE…` / `disable PROFILE…`: persisted choices that override the config's `enabled`.
 * Also the shared printing of per-profile action results used by start/stop/restart.
 */
import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import { withClient } from "../connect.ts";
import type { ProfileActionResult } from "../../lib/ipc/protocol.ts";
import type { DaemonClient } from "../../lib/ipc/client.ts";

/** Upper bound for a profile verb: two stop timeouts plus kill escalation, for several profiles. */
const PROFILE_VERB_TIMEOUT_MS = 120_000;

/** Print what a profile verb did, one line per profile (or the JSON result); warnings go to stderr. */
export function printActionResults(
  ctx: CliContext,
  results: ProfileActionResult[],
  warnings: string[] = [],
): void {
  if (ctx.globals().json) {
    ctx.json(warnings.length > 0 ? { results, warnings } : { results });
    return;
  }
  for (const r of results) ctx.out(`${r.profile}: ${r.outcome}`);
  for (const w of warnings) ctx.err(`warning: ${w}`);
}

/** Send a profile verb and print its results. */
export async function runProfileVerb(
  ctx: CliContext,
  client: DaemonClient,
  type: "start" | "stop" | "restart" | "enable" | "disable",
  profiles: string[],
): Promise<void> {
  // Stopping waits for kubefwd's graceful shutdown (stop_timeout, then escalation): allow for it.
  const { results, warnings } = await client.request({ type, profiles }, {
    timeoutMs: PROFILE_VERB_TIMEOUT_MS,
  });
  printActionResults(ctx, results, warnings ?? []);
}

/** Register `enable` and `disable`. */
export function registerProfileCommands(program: Command, ctx: CliContext): void {
  for (const type of ["enable", "disable"] as const) {
    program.command(type)
      .description(
        type === "enable"
          ? "enable profiles and start them (persisted: survives daemon restarts and reloads)"
          : "stop profiles and keep them disabled (persisted: survives daemon restarts and reloads)",
      )
      .argument("<profiles...>", "profile names")
      .action(async (profiles: string[]) => {
        await withClient(ctx, (client) => runProfileVerb(ctx, client, type, profiles));
      });
  }
}
