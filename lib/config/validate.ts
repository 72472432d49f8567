/**
 * Config validation: the schema walk (schema_walker.ts) over a parsed {@link SourceNode} tree, then the
 * resolved config (defaults merged, durations in ms, paths absolute) and the cross-field checks, producing
 * every problem at once (each with a key path and a position).
 *
 * Hand-written rather than zod: the walker knows the node it is looking at, so every diagnostic points
 * at the exact key or value (including TOML, where zod issue paths would have to be mapped back), and
 * it keeps going after a problem so the user sees all of them in one run.
 *
 * Checks that need the outside world (kubeconfig contents, file modes) are separate functions that
 * load.ts calls; everything here is pure.
 */
import { formatDuration } from "./duration.ts";
import { type EnvLike, MAX_SOCKET_PATH_BYTES, resolvePath } from "./paths.ts";
import { isLoopback, parseListenAddress } from "./listen_address.ts";
import { defaultDaemonSettings } from "./paths.ts";
import { CONFIG_SCHEMA } from "./schema.ts";
import { type KeyPath, keyPosition, valuePosition } from "./locate.ts";
import { type Raw, Walker } from "./schema_walker.ts";
import type { SourceNode } from "./source.ts";
import { dirname } from "../util/path.ts";
import {
  DEFAULT_FORWARD_FAILURES,
  DEFAULT_HEALTH,
  DEFAULT_RETRY,
  defaultKubefwdSettings,
  defaultNotifications,
} from "./defaults.ts";
import type {
  DaemonSettings,
  Diagnostic,
  ForwardFailurePolicy,
  HealthPolicy,
  KubefwdSettings,
  NotificationSettings,
  ProfileSpec,
  ResolvedConfig,
  RetryPolicy,
} from "./types.ts";

/** Inputs of {@link validateTree}. */
export interface ValidateOptions {
  /** Absolute path of the config file: relative paths inside it are resolved against its directory. */
  file: string;
  /** Environment for `~` and XDG defaults (tests pass a plain object). */
  env: EnvLike;
  /** The user's home directory, for `~` expansion. */
  home: string;
}

/** Outcome of the pure validation. `config` is complete even with errors (bad values fall back to defaults). */
export interface Validation {
  /** The tree that was validated, for callers that locate keys afterwards. */
  root: SourceNode;
  /** The resolved config; complete even with errors (bad values fall back to defaults). */
  config: ResolvedConfig;
  /** Every error found. */
  errors: Diagnostic[];
  /** Every warning found. */
  warnings: Diagnostic[];
  /** Profiles whose `kubeconfig` key is written in the file (otherwise the default applies). */
  explicitKubeconfig: Set<string>;
}

const RETRY_KEYS: Record<keyof RetryPolicy, string> = {
  initialDelayMs: "initial_delay",
  maxDelayMs: "max_delay",
  multiplier: "multiplier",
  maxAttempts: "max_attempts",
  jitter: "jitter",
  resetAfterMs: "reset_after",
};
const NOTIFICATION_KEYS: Record<keyof NotificationSettings, string> = {
  enabled: "enabled",
  on: "on",
  minIntervalMs: "min_interval",
};
const HEALTH_KEYS: Record<keyof HealthPolicy, string> = {
  intervalMs: "interval",
  timeoutMs: "timeout",
  failureThreshold: "failure_threshold",
  http: "http",
  tcp: "tcp",
};
const FORWARD_FAILURE_KEYS: Record<keyof ForwardFailurePolicy, string> = {
  maxFailures: "max_failures",
  windowMs: "window",
  debounceMs: "debounce",
};

function merge<T extends object>(base: Readonly<T>, raw: Raw | undefined, keys: Record<keyof T, string>): T {
  const out = { ...base } as T;
  if (!raw) return out;
  for (const [camel, snake] of Object.entries(keys) as [keyof T, string][]) {
    if (raw[snake] !== undefined) out[camel] = raw[snake] as T[keyof T];
  }
  return out;
}

/**
 * Validates the tree against the schema and resolves it: defaults merged field by field, durations
 * in ms, paths absolute. Reports every problem found; never throws on bad input.
 */
export function validateTree(root: SourceNode, opts: ValidateOptions): Validation {
  const w = new Walker();
  const raw = w.section(root, CONFIG_SCHEMA, [], root.pos);
  const baseDir = dirname(opts.file);
  const abs = (p: string) => resolvePath(p, baseDir, opts.home);

  const rawDaemon = (raw.daemon ?? {}) as Raw;
  const daemonDefaults = defaultDaemonSettings(opts.env, opts.home);
  const daemon: DaemonSettings = {
    logLevel: (rawDaemon.log_level as DaemonSettings["logLevel"]) ?? daemonDefaults.logLevel,
    logFile: rawDaemon.log_file ? abs(rawDaemon.log_file as string) : daemonDefaults.logFile,
    pidFile: rawDaemon.pid_file ? abs(rawDaemon.pid_file as string) : daemonDefaults.pidFile,
    socketPath: rawDaemon.socket_path ? abs(rawDaemon.socket_path as string) : daemonDefaults.socketPath,
    stateDir: rawDaemon.state_dir ? abs(rawDaemon.state_dir as string) : daemonDefaults.stateDir,
    notifications: merge(defaultNotifications(), rawDaemon.notifications as Raw, NOTIFICATION_KEYS),
  };
  const rawMetrics = (rawDaemon.metrics ?? {}) as Raw;
  if (typeof rawMetrics.listen === "string") {
    const listen = parseListenAddress(rawMetrics.listen);
    if (!("error" in listen)) {
      daemon.metrics = listen;
      if (!isLoopback(listen.hostname) && rawMetrics.allow_non_loopback !== true) {
        w.error(
          ["daemon", "metrics", "listen"],
          valuePosition(root, ["daemon", "metrics", "listen"]),
          `${listen.hostname} is not a loopback address, and the endpoint has no authentication: whoever reaches ` +
            "it reads profile, namespace and service names; to allow that, set daemon.metrics.allow_non_loopback: true",
        );
      }
    }
  }
  const socketBytes = new TextEncoder().encode(daemon.socketPath).length;
  if (socketBytes > MAX_SOCKET_PATH_BYTES) {
    const message =
      `socket path ${daemon.socketPath} is ${socketBytes} bytes long; Unix sockets allow at most ` +
      `${MAX_SOCKET_PATH_BYTES}`;
    if (rawDaemon.socket_path) {
      w.error(["daemon", "socket_path"], valuePosition(root, ["daemon", "socket_path"]), message);
    } else {w.warn(
        ["daemon", "socket_path"],
        undefined,
        `${message} (set daemon.socket_path to a shorter path)`,
      );}
  }

  const rawKubefwd = (raw.kubefwd ?? {}) as Raw;
  const kfDefaults = defaultKubefwdSettings();
  const kfPath = rawKubefwd.path as string | undefined;
  const kubefwd: KubefwdSettings = {
    path: kfPath === undefined
      ? kfDefaults.path
      : kfPath.includes("/") || kfPath.startsWith("~")
      ? abs(kfPath)
      : kfPath,
    privilege: (rawKubefwd.privilege as KubefwdSettings["privilege"]) ?? kfDefaults.privilege,
    extraArgs: (rawKubefwd.extra_args as string[]) ?? kfDefaults.extraArgs,
    hostsPath: rawKubefwd.hosts_path ? abs(rawKubefwd.hosts_path as string) : kfDefaults.hostsPath,
    stopTimeoutMs: (rawKubefwd.stop_timeout as number) ?? kfDefaults.stopTimeoutMs,
  };

  const rawDefaults = (raw.defaults ?? {}) as Raw;
  const baseRetry = merge(DEFAULT_RETRY, rawDefaults.retry as Raw, RETRY_KEYS);
  const baseHealth = merge(DEFAULT_HEALTH, rawDefaults.health as Raw, HEALTH_KEYS);
  const baseForward = merge(
    DEFAULT_FORWARD_FAILURES,
    rawDefaults.forward_failures as Raw,
    FORWARD_FAILURE_KEYS,
  );
  checkPolicies(w, root, ["defaults"], rawDefaults, baseRetry, baseHealth, () => "is the built-in default");

  const explicitKubeconfig = new Set<string>();
  const profiles: ProfileSpec[] = [];
  const rawProfiles = (raw.profiles ?? []) as [string, Raw][];
  for (const [name, p] of rawProfiles) {
    if (p.kubeconfig !== undefined) explicitKubeconfig.add(name);
    const retry = merge(baseRetry, p.retry as Raw, RETRY_KEYS);
    const health = merge(baseHealth, p.health as Raw, HEALTH_KEYS);
    const inherited = (key: string) =>
      ((rawDefaults.retry ?? {}) as Raw)[key] !== undefined
        ? "comes from defaults.retry"
        : "is the built-in default";
    checkPolicies(w, root, ["profiles", name], p, retry, health, inherited);
    profiles.push({
      name,
      enabled: (p.enabled as boolean) ?? true,
      kubeconfig: abs((p.kubeconfig as string) ?? "~/.kube/config"),
      ...(p.context !== undefined ? { context: p.context as string } : {}),
      allowEmpty: (p.allow_empty as boolean) ?? false,
      namespaces: (p.namespaces as string[]) ?? [],
      labels: (p.labels as string[]) ?? [],
      excludeServices: (p.exclude_services as string[]) ?? [],
      ...(p.domain !== undefined ? { domain: p.domain as string } : {}),
      mappings: (p.mapping as string[]) ?? [],
      extraArgs: (p.extra_args as string[]) ?? [],
      retry,
      health,
      forwardFailures: merge(baseForward, p.forward_failures as Raw, FORWARD_FAILURE_KEYS),
    });
  }
  if (rawProfiles.length === 0 && w.errors.length === 0) {
    w.warn(
      ["profiles"],
      keyPosition(root, ["profiles"]),
      "no profiles defined; the daemon will have nothing to run",
    );
  }

  const config: ResolvedConfig = { path: opts.file, daemon, kubefwd, profiles };
  return { root, config, errors: w.errors, warnings: w.warnings, explicitKubeconfig };
}

/**
 * Cross-field checks of merged policies at one level (`defaults` or a profile). A profile is checked
 * only when it sets one of the fields itself; otherwise the `defaults` check already covers it, and
 * repeating it per profile would bury the one real mistake under copies.
 */
function checkPolicies(
  w: Walker,
  root: SourceNode,
  owner: KeyPath,
  raw: Raw,
  retry: RetryPolicy,
  health: HealthPolicy,
  inherited: (key: string) => string,
): void {
  const rawRetry = (raw.retry ?? {}) as Raw;
  if (
    (rawRetry.initial_delay !== undefined || rawRetry.max_delay !== undefined) &&
    retry.initialDelayMs > retry.maxDelayMs
  ) {
    const key = rawRetry.initial_delay !== undefined ? "initial_delay" : "max_delay";
    const note = rawRetry.initial_delay === undefined
      ? ` (initial_delay ${inherited("initial_delay")})`
      : rawRetry.max_delay === undefined
      ? ` (max_delay ${inherited("max_delay")})`
      : "";
    const path = [...owner, "retry", key];
    w.error(
      path,
      valuePosition(root, path),
      `initial_delay (${formatDuration(retry.initialDelayMs)}) is greater than max_delay ` +
        `(${formatDuration(retry.maxDelayMs)})${note}`,
    );
  }
  const rawHealth = (raw.health ?? {}) as Raw;
  if (
    (rawHealth.timeout !== undefined || rawHealth.interval !== undefined) &&
    health.timeoutMs > health.intervalMs
  ) {
    const key = rawHealth.timeout !== undefined ? "timeout" : "interval";
    const path = [...owner, "health", key];
    w.warn(
      path,
      valuePosition(root, path),
      `probe timeout (${formatDuration(health.timeoutMs)}) is longer than the interval ` +
        `(${formatDuration(health.intervalMs)}); probes will overlap`,
    );
  }
}
