/**
 * The daemon gets its configuration from a short-lived `config resolve` subprocess of this same
 * program. Parsing and validating (yaml, smol-toml, zod) costs ~25 MB of RSS that would stay in the
 * daemon forever; in a subprocess it is returned to the OS a moment later.
 */
import type { LoadResult } from "../config/types.ts";
import { isLoadResult } from "../config/load_result_check.ts";
import { runSelf, type RunSelfOptions, SelfCommandError } from "../self_command.ts";

/** A config that takes longer than this to load is treated as unreadable (first runs may compile). */
const RESOLVE_TIMEOUT_MS = 60_000;

/** Why the config could not be obtained at all (as opposed to being invalid). */
export class ConfigSourceError extends Error {
  /** The file exists but cannot be used as a config (a directory, no permission): exit 4, like invalid. */
  readonly unreadable: boolean;

  /** The message says what failed (spawn, timeout, unreadable output) for the daemon's stderr. */
  constructor(message: string, options: { unreadable?: boolean } = {}) {
    super(message);
    this.name = "ConfigSourceError";
    this.unreadable = options.unreadable ?? false;
  }
}

/**
 * Load and validate `path` in a subprocess; `undefined` when the file does not exist. `options` replaces
 * how the subprocess is run (tests).
 */
export async function resolveConfigViaSubprocess(
  path: string,
  options: Omit<RunSelfOptions, "timeoutMs"> = {},
): Promise<LoadResult | undefined> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new ConfigSourceError(`cannot read config ${path}: ${(e as Error).message}`, { unreadable: true });
  }
  if (!info.isFile) {
    throw new ConfigSourceError(`cannot read config ${path}: not a regular file`, { unreadable: true });
  }
  try {
    return await runSelf(["config", "resolve", path], isLoadResult, {
      ...options,
      timeoutMs: RESOLVE_TIMEOUT_MS,
    });
  } catch (e) {
    if (!(e instanceof SelfCommandError)) throw e;
    switch (e.reason) {
      case "timeout":
        throw new ConfigSourceError(`config resolve did not finish within ${RESOLVE_TIMEOUT_MS} ms`);
      case "exit":
        throw new ConfigSourceError(
          e.stderr.trim().replace(/^error: /, "") || `config resolve exited with code ${e.code}`,
          { unreadable: e.code === 4 },
        );
      case "not_json":
        throw new ConfigSourceError(`config resolve printed no JSON: ${e.stdout.slice(0, 200)}`);
      case "invalid":
        throw new ConfigSourceError(`config resolve printed an unexpected result: ${e.stdout.slice(0, 200)}`);
    }
  }
}
