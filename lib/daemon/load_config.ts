/**
 * Loading the config for the daemon: through the short-lived `config resolve` subprocess (so the parser's
 * memory never stays in the daemon), with the built-in defaults when there is no file.
 */
import { defaultKubefwdSettings } from "../config/defaults.ts";
import { defaultDaemonSettings } from "../config/paths.ts";
import type { Diagnostic, ResolvedConfig } from "../config/types.ts";
import { resolveConfigViaSubprocess } from "./config_source.ts";

/** A usable config (maybe the defaults of a missing file), or the errors of an invalid one. */
export type LoadOutcome =
  | { kind: "ok"; config: ResolvedConfig; warnings: Diagnostic[]; missing: boolean }
  | { kind: "invalid"; file: string; errors: Diagnostic[]; warnings: Diagnostic[] };

/** Loads `path`; `socketOverride` (the `--socket` flag) replaces the configured socket path. */
export async function loadConfig(path: string, socketOverride?: string): Promise<LoadOutcome> {
  const result = await resolveConfigViaSubprocess(path);
  if (result === undefined) {
    const daemon = defaultDaemonSettings();
    if (socketOverride) daemon.socketPath = socketOverride;
    return {
      kind: "ok",
      config: { path, daemon, kubefwd: defaultKubefwdSettings(), profiles: [] },
      warnings: [],
      missing: true,
    };
  }
  if (!result.config || result.errors.length > 0) {
    return { kind: "invalid", file: result.file, errors: result.errors, warnings: result.warnings };
  }
  const config = result.config;
  if (socketOverride) config.daemon = { ...config.daemon, socketPath: socketOverride };
  return { kind: "ok", config, warnings: result.warnings, missing: false };
}
