/**
 * Default file locations (XDG base directories) and path resolution for config values.
 *
 * Dependency-free on purpose (no node:*, no yaml/zod): the daemon imports it to find its socket,
 * pid file and log file before any config has been resolved.
 */
import type { DaemonSettings } from "./types.ts";

/** The slice of `Deno.env` these helpers read; tests pass a plain object instead. */
export interface EnvLike {
  /** The variable's value, or undefined when it is not set. */
  get(key: string): string | undefined;
}

/** Folder name used under every XDG base directory. */
export const APP_DIR = "kubefwd-daemon";

/** Env var that overrides the default config path (the `--config` flag still wins; the caller applies it). */
export const CONFIG_ENV_VAR = "KUBEFWD_DAEMON_CONFIG";

/** Default kubeconfig of a profile, before `~` expansion. */
export const DEFAULT_KUBECONFIG = "~/.kube/config";

/** An env that reads the real process environment. */
export const processEnv: EnvLike = { get: (k) => Deno.env.get(k) };

/** Wraps a plain record so tests can state an environment literally. */
export function envFrom(record: Record<string, string | undefined>): EnvLike {
  return { get: (k) => record[k] };
}

/**
 * The user's home directory. Throws when HOME is unset, because every default path hangs off it and
 * guessing (e.g. "/") would scatter state files somewhere surprising.
 */
export function homeDir(env: EnvLike = processEnv): string {
  const home = env.get("HOME") || env.get("USERPROFILE");
  if (!home) {
    throw new Error("HOME is not set; cannot compute default paths (set HOME or pass explicit paths)");
  }
  return stripTrailingSlash(home);
}

/**
 * Expands a leading `~` or `~/` to `home`. `~user` forms are left untouched: resolving other users'
 * homes needs the passwd database, and a config that means it can spell the path out.
 */
export function expandHome(path: string, home: string): string {
  if (path === "~") return home;
  if (path.startsWith("~/")) return stripTrailingSlash(home) + path.slice(1);
  return path;
}

/**
 * Makes a config path absolute: `~` expanded, then relative paths taken relative to `baseDir` (the
 * config file's directory), because the daemon's working directory is unpredictable. `.` and `..`
 * segments are normalised so that error messages and comparisons see one spelling.
 */
export function resolvePath(path: string, baseDir: string, home: string): string {
  const expanded = expandHome(path, home);
  const joined = expanded.startsWith("/") ? expanded : `${stripTrailingSlash(baseDir)}/${expanded}`;
  return normalizePath(joined);
}

/** Collapses `//`, `.` and `..` in an absolute POSIX path. */
export function normalizePath(path: string): string {
  const out: string[] = [];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return "/" + out.join("/");
}

function stripTrailingSlash(p: string): string {
  return p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p;
}

/** An XDG variable counts only when absolute; the spec says relative values must be ignored. */
function xdg(env: EnvLike, name: string): string | undefined {
  const v = env.get(name);
  return v && v.startsWith("/") ? stripTrailingSlash(v) : undefined;
}

/**
 * Where the config file is looked for when `--config` is not given: `$KUBEFWD_DAEMON_CONFIG`, else
 * `$XDG_CONFIG_HOME/kubefwd-daemon/config.yaml`, else `~/.config/kubefwd-daemon/config.yaml`.
 */
export function defaultConfigPath(env: EnvLike = processEnv, home?: string): string {
  const fromEnv = env.get(CONFIG_ENV_VAR);
  const h = home ?? homeDir(env);
  if (fromEnv) return resolvePath(fromEnv, h, h);
  const base = xdg(env, "XDG_CONFIG_HOME") ?? `${h}/.config`;
  return `${base}/${APP_DIR}/config.yaml`;
}

/** `$XDG_STATE_HOME/kubefwd-daemon`, else `~/.local/state/kubefwd-daemon`: state file and log live here. */
export function defaultStateDir(env: EnvLike = processEnv, home?: string): string {
  const h = home ?? homeDir(env);
  return `${xdg(env, "XDG_STATE_HOME") ?? `${h}/.local/state`}/${APP_DIR}`;
}

/**
 * `$XDG_RUNTIME_DIR/kubefwd-daemon` (tmpfs, cleared at logout: right for a socket and pid file), else
 * the state dir, which outlives reboots but is still private to the user.
 */
export function defaultRuntimeDir(env: EnvLike = processEnv, home?: string): string {
  const runtime = xdg(env, "XDG_RUNTIME_DIR");
  return runtime ? `${runtime}/${APP_DIR}` : defaultStateDir(env, home);
}

/** Daemon settings when the config file sets none of them. */
export function defaultDaemonSettings(env: EnvLike = processEnv, home?: string): DaemonSettings {
  const stateDir = defaultStateDir(env, home);
  const runtimeDir = defaultRuntimeDir(env, home);
  return {
    logLevel: "info",
    logFile: `${stateDir}/daemon.log`,
    pidFile: `${runtimeDir}/daemon.pid`,
    socketPath: `${runtimeDir}/daemon.sock`,
    stateDir,
  };
}

/**
 * Longest socket path (in bytes, without the NUL) that binds on both Linux (108-byte sun_path) and
 * macOS (104): longer paths fail at bind time with an unhelpful error, so validation checks early.
 */
export const MAX_SOCKET_PATH_BYTES = 103;
