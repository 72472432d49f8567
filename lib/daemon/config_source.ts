/**
 * The daemon gets its configuration from a short-lived `config resolve` subprocess of this same
 * program. Parsing and validating (yaml, smol-toml, zod) costs ~25 MB of RSS that would stay in the
 * daemon forever; in a subprocess it is returned to the OS a moment later.
 */
import type { LoadResult } from "../config/types.ts";
import { selfCommand } from "../self_command.ts";

/** Why the config could not be obtained at all (as opposed to being invalid). */
export class ConfigSourceError extends Error {
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
  const [cmd, ...args] = selfCommand();
  const out = await new Deno.Command(cmd, {
    args: [...args, "config", "resolve", path],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr).trim();
    throw new ConfigSourceError(
      stderr.replace(/^error: /, "") || `config resolve exited with code ${out.code}`,
    );
  }
  try {
    return JSON.parse(stdout) as LoadResult;
  } catch {
    throw new ConfigSourceError(`config resolve printed no JSON: ${stdout.slice(0, 200)}`);
  }
}
