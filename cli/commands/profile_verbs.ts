/**
 * `enable PROFILE…` / `disable PROFILE…`: persisted choices that override the config's `enabled`;
 * `reset PROFILE…` drops them. Also the shared printing of per-profile action results used by
 * start/stop/restart.
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
  type: "start" | "stop" | "restart" | "enable" | "disable" | "reset",
  profiles: string[],
): Promise<void> {
  // Stopping waits for kubefwd's graceful shutdown (stop_timeout, then escalation): allow for it.
  const { results, warnings } = await client.request({ type, profiles }, {
    timeoutMs: PROFILE_VERB_TIMEOUT_MS,
  });
  printActionResults(ctx, results, warnings ?? []);
}

const DESCRIPTIONS = {
  enable: "enable profiles and start them (an override of the config's `enabled`, persisted across daemon " +
    "restarts and reloads until `reset`; exit 7 when a profile would forward a namespace an enabled " +
    "profile forwards)",
  disable: "stop profiles and keep them disabled (an override of the config's `enabled`, persisted across " +
    "daemon restarts and reloads until `reset`)",
  reset: "drop the enable/disable override of profiles: the config's `enabled` decides again (they start " +
    "or stop to match)",
};

/** Register `enable`, `disable` and `reset`. */
export function registerProfileCommands(program: Command, ctx: CliContext): void {
  for (const type of ["enable", "disable", "reset"] as const) {
    program.command(type)
      .description(DESCRIPTIONS[type])
      .argument("<profiles...>", "profile names")
      .action(async (profiles: string[]) => {
        await withClient(ctx, (client) => runProfileVerb(ctx, client, type, profiles));
      });
  }
}
