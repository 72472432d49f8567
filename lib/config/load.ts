/**
 * Loading a config file end to end: read (size and encoding limits), parse (YAML, or TOML for `.toml`),
 * validate, resolve, and optionally look at the environment (file mode, kubeconfigs, contexts).
 *
 * CLI side only (yaml, smol-toml). The daemon gets the result as JSON from `config resolve`.
 */
import { defaultKubefwdSettings } from "./defaults.ts";
import { readKubeconfig } from "../kube/kubeconfig.ts";
import type { Diagnostic, LoadResult } from "./types.ts";
import { type EnvLike, homeDir, normalizePath, processEnv } from "./paths.ts";
import { type ConfigFormat, formatOf, parseSource } from "./source.ts";
import {
  checkContextConflicts,
  checkKubeconfigs,
  type KubeconfigStatus,
  sortDiagnostics,
} from "./cross_checks.ts";
import { validateTree } from "./validate.ts";

/** Larger files are refused unread: a config is a few KB, and a huge file is a mistake or an attack. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** Options shared by the loaders. */
export interface LoadOptions {
  /** Environment for XDG defaults; the real one by default. */
  env?: EnvLike;
  /** Home for `~` expansion; `$HOME` by default. */
  home?: string;
  /**
   * Also check the file mode, each profile's kubeconfig and context, and resolve current-contexts for
   * the duplicate (context, namespace) check. Default true for files, false for {@link loadConfigText}.
   */
  checkEnvironment?: boolean;
}

/** {@link loadConfigFileWithSource}'s fuller answer, for callers that print code frames. */
export interface LoadOutcome {
  /** The diagnostics and, when valid, the resolved config. */
  result: LoadResult;
  /** The file's text when it could be read. */
  source?: string;
  /** Set when the file could not be read at all (missing, permission, not a file). */
  readError?: Error;
}

function fileError(file: string, message: string, pos = true): LoadResult {
  const error: Diagnostic = pos ? { path: [], line: 1, column: 1, message } : { path: [], message };
  return { file, errors: [error], warnings: [] };
}

function absolute(path: string): string {
  return normalizePath(path.startsWith("/") ? path : `${Deno.cwd()}/${path}`);
}

/** Loads, validates and resolves a config file. Never throws for problems with the file itself. */
export async function loadConfigFile(path: string, opts: LoadOptions = {}): Promise<LoadResult> {
  return (await loadConfigFileWithSource(path, opts)).result;
}

/** Like {@link loadConfigFile}, also returning the source text (for code frames) and any read error. */
export async function loadConfigFileWithSource(path: string, opts: LoadOptions = {}): Promise<LoadOutcome> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    const err = e as Error;
    const why = e instanceof Deno.errors.NotFound ? "file not found" : `cannot read file: ${err.message}`;
    return { result: fileError(path, why, false), readError: err };
  }
  if (!info.isFile) {
    const err = new Error(`${path} is not a regular file`);
    return { result: fileError(path, "not a regular file", false), readError: err };
  }
  if (info.size > MAX_CONFIG_BYTES) {
    return {
      result: fileError(
        path,
        `file is ${info.size} bytes; configs larger than 1 MiB (${MAX_CONFIG_BYTES} bytes) are refused`,
      ),
    };
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    return {
      result: fileError(path, `cannot read file: ${(e as Error).message}`, false),
      readError: e as Error,
    };
  }
  if (bytes.length > MAX_CONFIG_BYTES) {
    return { result: fileError(path, `file is larger than 1 MiB (${MAX_CONFIG_BYTES} bytes)`) };
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    const lossy = new TextDecoder().decode(bytes);
    const idx = lossy.indexOf("\uFFFD");
    const before = lossy.slice(0, idx);
    const line = before.split("\n").length;
    const column = idx - before.lastIndexOf("\n");
    return {
      result: {
        file: path,
        errors: [{ path: [], line, column, message: "file is not valid UTF-8" }],
        warnings: [],
      },
    };
  }
  const checkEnvironment = opts.checkEnvironment ?? true;
  const result = await loadConfigText(text, {
    ...opts,
    file: path,
    format: formatOf(path),
    checkEnvironment,
  });
  const othersWrite = writableByOthers(info);
  if (
    othersWrite !== undefined && result.config && result.config.kubefwd.path !== defaultKubefwdSettings().path
  ) {
    // kubefwd.path decides which binary runs as root: whoever can write this file could run anything.
    result.errors.push({
      path: ["kubefwd", "path"],
      message: `${othersWrite}, and it sets kubefwd.path, which decides the program run as root; ` +
        `make it yours and private (chmod 600 ${path}) or remove kubefwd.path`,
    });
    delete result.config;
  }
  if (checkEnvironment && info.mode !== null && (info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, "0");
    const access = (info.mode & 0o022) !== 0 ? "write" : "read";
    result.warnings.unshift({
      path: [],
      message: `file mode ${mode} lets group/others ${access} it; 0600 is recommended (chmod 600 ${path})`,
    });
  }
  return { result, source: text };
}

/** Why other users can write the config file (group/other write bit, another owner), or undefined. */
function writableByOthers(info: Deno.FileInfo): string | undefined {
  if (info.mode !== null && (info.mode & 0o022) !== 0) {
    return `the file mode ${(info.mode & 0o777).toString(8).padStart(4, "0")} lets other users write it`;
  }
  const uid = Deno.uid();
  if (uid !== null && info.uid !== null && info.uid !== uid && info.uid !== 0) {
    return `the file belongs to uid ${info.uid}, not to you (uid ${uid})`;
  }
  return undefined;
}

/** Options of {@link loadConfigText}. */
export interface LoadTextOptions extends LoadOptions {
  /** File name used in diagnostics and to resolve relative paths (made absolute against the cwd). */
  file: string;
  /** Defaults to the file name's extension rule. */
  format?: ConfigFormat;
}

/**
 * Validates and resolves config text. Used by {@link loadConfigFile} and by tests, which pass the text
 * directly; environment checks are off by default here so tests need no kubeconfig.
 */
export async function loadConfigText(text: string, opts: LoadTextOptions): Promise<LoadResult> {
  const file = opts.file;
  const env = opts.env ?? processEnv;
  const home = opts.home ?? homeDir(env);
  if (new TextEncoder().encode(text).length > MAX_CONFIG_BYTES) {
    return fileError(file, `file is larger than 1 MiB (${MAX_CONFIG_BYTES} bytes)`);
  }
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const parsed = parseSource(body, opts.format ?? formatOf(file));
  if (parsed.errors.length > 0 || parsed.root === undefined) {
    const errors = parsed.errors.length > 0 ? parsed.errors : [{
      path: [],
      line: 1,
      column: 1,
      message: "file is empty; see `kubefwd-daemon config init` for a starter",
    }];
    return { file, errors: sortDiagnostics(errors), warnings: sortDiagnostics(parsed.warnings) };
  }
  const v = validateTree(parsed.root, { file: absolute(file), env, home });
  v.warnings.unshift(...parsed.warnings);

  const statuses = new Map<string, KubeconfigStatus>();
  if (opts.checkEnvironment) {
    for (const kc of new Set(v.config.profiles.map((p) => p.kubeconfig))) {
      statuses.set(kc, await kubeconfigStatus(kc));
    }
    checkKubeconfigs(v, (kc) => statuses.get(kc), home);
  }
  checkContextConflicts(v, (kc) => {
    const s = statuses.get(kc);
    return s?.ok ? s.currentContext : undefined;
  });

  const result: LoadResult = {
    file,
    errors: sortDiagnostics(v.errors),
    warnings: sortDiagnostics(v.warnings),
  };
  if (result.errors.length === 0) result.config = v.config;
  return result;
}

/** Reads one kubeconfig for the environment checks, classifying failures for the warning text. */
export async function kubeconfigStatus(path: string): Promise<KubeconfigStatus> {
  try {
    const kc = await readKubeconfig(path);
    return {
      ok: true,
      ...(kc.currentContext !== undefined ? { currentContext: kc.currentContext } : {}),
      contexts: kc.contexts.map((c) => c.name),
    };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { ok: false, problem: "missing", detail: "not found" };
    if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.IsADirectory) {
      return { ok: false, problem: "unreadable", detail: (e as Error).message };
    }
    if (e instanceof Error && e.name === "KubeconfigError") {
      return { ok: false, problem: "invalid", detail: e.message.replace(`${path}: `, "") };
    }
    return { ok: false, problem: "unreadable", detail: (e as Error).message };
  }
}
