/**
 * The daemon gets its configuration from a short-lived `config resolve` subprocess of this same
 * program. Parsing and validating (yaml, smol-toml, zod) costs ~25 MB of RSS that would stay in the
 * daemon forever; in a subprocess it is returned to the OS a moment later.
 */
import type { LoadResult } from "../config/types.ts";
import { selfCommand } from "../self_command.ts";
import { runCommand } from "../run_command.ts";

/** A config that takes longer than this to load is treated as unreadable (first runs may compile). */
const RESOLVE_TIMEOUT_MS = 60_000;

/** Why the config could not be obtained at all (as opposed to being invalid). */
export class ConfigSourceError extends Error {
  /** The message says what failed (spawn, timeout, unreadable output) for the daemon's stderr. */
  constructor(message: string) {
    super(message);
    this.name = "ConfigSourceError";
  }
}

/** Load and validate `path` in a subprocess; `undefined` when the file does not exist. */
export async function resolveConfigViaSubprocess(path: string): Promise<LoadResult | undefined> {
  try {
    await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new ConfigSourceError(`cannot read config ${path}: ${(e as Error).message}`);
  }
  const out = await runCommand([...selfCommand(), "config", "resolve", path], {
    timeoutMs: RESOLVE_TIMEOUT_MS,
  });
  if (out.timedOut) {
    throw new ConfigSourceError(`config resolve did not finish within ${RESOLVE_TIMEOUT_MS} ms`);
  }
  const stdout = out.stdout;
  if (out.code !== 0) {
    throw new ConfigSourceError(
      out.stderr.trim().replace(/^error: /, "") || `config resolve exited with code ${out.code}`,
    );
  }
  try {
    return JSON.parse(stdout) as LoadResult;
  } catch {
    throw new ConfigSourceError(`config resolve printed no JSON: ${stdout.slice(0, 200)}`);
  }
}
