/** `reload`: re-read the config in the daemon and apply only the difference (exit 4 if invalid). */
import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import { withClient } from "../connect.ts";
import { UserError } from "../../lib/errors.ts";
import type { Diagnostic } from "../../lib/config/types.ts";
import { formatDiagnosticLine } from "../../lib/config/format.ts";
import type { MaskedEnabled } from "../../lib/ipc/protocol.ts";

/** The line `reload` prints for a config `enabled` change that a CLI override hides. */
export function maskedNote(m: MaskedEnabled): string {
  const verb = m.override ? "enable" : "disable";
  return `${m.profile}: the config now says enabled: ${m.configEnabled}, but \`${verb}\` from the CLI ` +
    `still decides (${
      m.override ? "enabled" : "disabled"
    }); to follow the config: kubefwd-daemon reset ${m.profile}`;
}

/** Register `reload`. */
export function registerReloadCommand(program: Command, ctx: CliContext): void {
  program.command("reload")
    .description("re-read the config: added profiles start, removed stop, changed restart, others untouched")
    .action(async () => {
      const g = ctx.globals();
      await withClient(ctx, async (client) => {
        try {
          const result = await client.request({ type: "reload" });
          if (g.json) return ctx.json(result);
          const part = (label: string, names: string[]) =>
            names.length ? `${label}: ${names.join(", ")}` : "";
          const summary = [
            part("added", result.added),
            part("removed", result.removed),
            part("changed", result.changed),
            part("unchanged", result.unchanged),
          ].filter(Boolean).join("; ");
          ctx.out(`reloaded${summary ? ` — ${summary}` : ""}`);
          for (const m of result.masked ?? []) ctx.out(maskedNote(m));
          for (const w of result.warnings) ctx.err(formatDiagnosticLine("config", w, "warning", g.color));
        } catch (err) {
          if (err instanceof UserError && err.code === "config_invalid") {
            const details = err.details as
              | { file?: string; errors?: Diagnostic[]; warnings?: Diagnostic[] }
              | undefined;
            if (g.json) {
              ctx.json({ error: { code: err.code, message: err.message }, errors: details?.errors ?? [] });
            } else {
              ctx.err(`error: ${err.message}`);
              for (const d of details?.errors ?? []) {
                ctx.err(formatDiagnosticLine(details?.file ?? "config", d, "error", g.color));
              }
            }
            throw new UserError("config_invalid", err.message, { details: { alreadyPrinted: true } });
          }
          throw err;
        }
      });
    });
}
