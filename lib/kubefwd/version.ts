/**
 * kubefwd version detection and feature gates. The supervisor must never pass a flag the installed kubefwd
 * lacks (an unknown flag is a cobra usage error, exit 1), so every version-dependent decision goes through
 * {@link kubefwdSupports}. See docs/kubefwd-compatibility.md#version-detection and #versions.
 */
import type { KubefwdVersion } from "./types.ts";
import { runCommand } from "../run_command.ts";
import { NamedError } from "../errors.ts";

/** Features whose presence depends on the kubefwd release. */
export type KubefwdFeature = "autoReconnect" | "timeout" | "hostsPath" | "podInformer" | "idleMode";

/** Minimum [major, minor] per feature (docs/kubefwd-compatibility.md#versions). */
const FEATURE_MIN: Record<KubefwdFeature, [number, number]> = {
  autoReconnect: [1, 24],
  timeout: [1, 23],
  hostsPath: [1, 23],
  podInformer: [1, 23],
  idleMode: [1, 25],
};

/**
 * Raised when `kubefwd version quiet` cannot be run or prints something that is not a version. `cause` keeps
 * the underlying spawn error.
 */
export class KubefwdVersionError extends NamedError {}

/**
 * Parses what `kubefwd version quiet` prints: `1.25.16`, `v1.22.3` (the only 1.22 tag with a `v`), or
 * `0.0.0` for a `go install` build without `-ldflags -X main.Version` (treated as newest, because a source
 * build is almost always a recent checkout). Pre-release/build suffixes (`1.25.16-rc1`, `+dirty`) are
 * ignored for comparison. Throws {@link KubefwdVersionError} on anything else.
 */
export function parseKubefwdVersion(raw: string): KubefwdVersion {
  const text = raw.trim();
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.+-]*)?$/.exec(text);
  if (!m) throw new KubefwdVersionError(`not a kubefwd version: ${JSON.stringify(text.slice(0, 80))}`);
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const patch = Number(m[3]);
  return {
    raw: text.replace(/^v/, ""),
    major,
    minor,
    patch,
    sourceBuild: major === 0 && minor === 0 && patch === 0,
  };
}

/** True when `v` is at least major.minor (source builds are at least everything). */
export function kubefwdAtLeast(v: KubefwdVersion, major: number, minor: number, patch = 0): boolean {
  if (v.sourceBuild) return true;
  if (v.major !== major) return v.major > major;
  if (v.minor !== minor) return v.minor > minor;
  return v.patch >= patch;
}

/** Whether this kubefwd release has `feature` (a source build has all of them). */
export function kubefwdSupports(v: KubefwdVersion, feature: KubefwdFeature): boolean {
  const [major, minor] = FEATURE_MIN[feature];
  return kubefwdAtLeast(v, major, minor);
}

/** Result of running a command; what {@link detectKubefwdVersion} needs from a process runner. */
export interface RunResult {
  /** Exit code. */
  code: number;
  /** Everything printed on stdout. */
  stdout: string;
  /** Everything printed on stderr. */
  stderr: string;
}

/** Options of {@link detectKubefwdVersion}; `run` is injectable so tests and sudo wrappers can replace it. */
export interface DetectVersionOptions {
  /** Runs `argv` and returns its output (default: a subprocess with a deadline). */
  run?: (argv: string[]) => Promise<RunResult>;
  /** Deadline of the default runner (default 10 s). */
  timeoutMs?: number;
}

/**
 * Runs `argv` with stdin closed, both pipes drained, and a kill after `timeoutMs`. `version quiet` exits
 * from kubefwd's init() before any cluster access, so a hang means something is badly wrong.
 */
async function runWithTimeout(argv: string[], timeoutMs: number): Promise<RunResult> {
  const out = await runCommand(argv, { timeoutMs });
  if (out.timedOut) throw new KubefwdVersionError(`${argv.join(" ")} did not finish within ${timeoutMs} ms`);
  return { code: out.code, stdout: out.stdout, stderr: out.stderr };
}

/**
 * Detects the installed kubefwd's version by running `<path> version quiet` (no root, no kubeconfig
 * needed). The version decides which flags may be passed, so a failure here is a start failure with a
 * clear message rather than a guess.
 */
export async function detectKubefwdVersion(
  path: string,
  opts: DetectVersionOptions = {},
): Promise<KubefwdVersion> {
  const argv = [path, "version", "quiet"];
  let result: RunResult;
  try {
    result = opts.run ? await opts.run(argv) : await runWithTimeout(argv, opts.timeoutMs ?? 10_000);
  } catch (e) {
    if (e instanceof KubefwdVersionError) throw e;
    if (e instanceof Deno.errors.NotFound) {
      throw new KubefwdVersionError(`kubefwd not found at ${path}`, { cause: e });
    }
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new KubefwdVersionError(`kubefwd at ${path} is not executable`, { cause: e });
    }
    throw new KubefwdVersionError(`cannot run ${path} version quiet: ${(e as Error).message}`, { cause: e });
  }
  if (result.code !== 0) {
    const detail = (result.stderr.trim() || result.stdout.trim()).split("\n")[0] ?? "";
    throw new KubefwdVersionError(
      `${path} version quiet exited with code ${result.code}${detail ? `: ${detail.slice(0, 200)}` : ""}`,
    );
  }
  const lines = result.stdout.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const last = lines[lines.length - 1] ?? "";
  return parseKubefwdVersion(last);
}
