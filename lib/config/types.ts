/**
 * The resolved configuration: defaults merged, durations in milliseconds, `~` expanded, paths absolute.
 *
 * This module has no dependencies on purpose: the daemon imports only these types and receives the
 * resolved config as JSON from a short-lived `config resolve` subprocess, so yaml never occupies the
 * daemon's memory (it costs ~14 MB RSS; the daemon budget is 40 MB).
 */

/** Restart backoff of one profile. All durations in milliseconds. */
export interface RetryPolicy {
  /** Wait before the first restart. */
  initialDelayMs: number;
  /** Cap of the growing delay. */
  maxDelayMs: number;
  /** Factor applied to the delay after each failed attempt. */
  multiplier: number;
  /** 0 = retry forever. */
  maxAttempts: number;
  /** Fraction in [0, 1]: the delay is varied by ±jitter×delay. */
  jitter: number;
  /** After this long in `running`, the attempt counter resets to 0. */
  resetAfterMs: number;
}

/** Active health probes of forwarded addresses. All durations in milliseconds. */
export interface HealthPolicy {
  /** Time between probe rounds. */
  intervalMs: number;
  /** How long one TCP connect may take before it counts as failed. */
  timeoutMs: number;
  /** Failed probes in a row before a forward counts as down (one failure is often a blip). */
  failureThreshold: number;
  /** Forwards (`SERVICE[:PORT]` globs) probed with an HTTP request; absent: none beyond the defaults. */
  http?: string[];
  /** Forwards (`SERVICE[:PORT]` globs) probed with a quiet TCP connection; absent: none beyond the defaults. */
  tcp?: string[];
}

/**
 * When a live kubefwd keeps losing one service's forward, restart the child: `maxFailures` failures
 * of one service within `windowMs`. `debounceMs` is the wait before restarting a 1.22.x child whose
 * forward died (1.22.x never reconnects by itself).
 */
export interface ForwardFailurePolicy {
  /** Failures of one service within `windowMs` that trigger a child restart; 0 never restarts. */
  maxFailures: number;
  /** Sliding window for `maxFailures`. */
  windowMs: number;
  /** Wait before restarting a 1.22.x child whose forward died, so a burst of lines causes one restart. */
  debounceMs: number;
}

/** One named profile = one kubefwd child. */
export interface ProfileSpec {
  /** The profile's key in the config; the name every verb and log line uses. */
  name: string;
  /** The config file's choice; the CLI's persisted enable/disable overrides it. */
  enabled: boolean;
  /** Absolute path (after `~` expansion). */
  kubeconfig: string;
  /** Undefined = the kubeconfig's current-context, resolved when kubefwd starts. */
  context?: string;
  /** Forwarding nothing is fine (`allow_empty`); else such a profile is `degraded` and never healthy. */
  allowEmpty?: boolean;
  /** Never empty. */
  namespaces: string[];
  /** Label selector terms, joined with commas for `-l`. */
  labels: string[];
  /** Glob patterns of service names that must never be forwarded. */
  excludeServices: string[];
  /** `-d` domain suffix. */
  domain?: string;
  /** `-m svcPort:localPort` entries. */
  mappings: string[];
  /** Appended after the kubefwd-level extra_args. */
  extraArgs: string[];
  /** Restart backoff after the child exits or fails to start. */
  retry: RetryPolicy;
  /** Probes of the forwarded addresses. */
  health: HealthPolicy;
  /** When lost forwards of a live child are reason enough to restart it. */
  forwardFailures: ForwardFailurePolicy;
}

/** How kubefwd is run. */
export interface KubefwdSettings {
  /** The kubefwd executable: a name looked up on PATH, or a path. */
  path: string;
  /** auto: direct when the daemon is root, else `sudo -n`; sudo: always sudo; none: never sudo. */
  privilege: "auto" | "sudo" | "none";
  /** Arguments appended for every profile (before the profile's own). */
  extraArgs: string[];
  /** Hosts file that kubefwd edits and that the daemon cleans after unclean exits. */
  hostsPath: string;
  /** Wait after SIGTERM before escalating. */
  stopTimeoutMs: number;
}

/** `daemon.metrics`: the Prometheus endpoint, present only when `listen` is set. */
export interface MetricsSettings {
  /** IP literal to bind, without brackets. */
  hostname: string;
  /** Port; 0 picks a free one. */
  port: number;
}

/** What a desktop notification can be about (`daemon.notifications.on`). */
export type NotificationKind = "failed" | "degraded" | "recovered";

/** `daemon.notifications`: desktop notifications on state changes. */
export interface NotificationSettings {
  /** Off by default: a daemon must not pop up anything nobody asked for. */
  enabled: boolean;
  /** The kinds that are notified. */
  on: NotificationKind[];
  /** At most one notification per profile per interval; the rest is summarised. */
  minIntervalMs: number;
}

/** Daemon-level settings; every path absolute. */
export interface DaemonSettings {
  /** Lowest level written to the log file and stderr. */
  logLevel: "debug" | "info" | "warn" | "error";
  /** JSON-lines log file (rotated by size). */
  logFile: string;
  /** Where the daemon writes its pid, for service managers and humans. */
  pidFile: string;
  /** The control socket the CLI connects to. */
  socketPath: string;
  /** State file, lock and generated `-z` files live here. */
  stateDir: string;
  /** The Prometheus endpoint; absent means off. */
  metrics?: MetricsSettings;
  /** Desktop notifications; absent means the defaults (off). */
  notifications?: NotificationSettings;
}

/** The whole resolved configuration. */
export interface ResolvedConfig {
  /** Absolute path of the file it came from. */
  path: string;
  /** Settings of the daemon process itself. */
  daemon: DaemonSettings;
  /** How kubefwd is run, for every profile. */
  kubefwd: KubefwdSettings;
  /** Profiles in config-file order (status lists them in this order). */
  profiles: ProfileSpec[];
}

/** One validation finding; line/column are 1-based and absent only when no position is known. */
export interface Diagnostic {
  /** Key path of the finding, e.g. `["profiles", "dev", "namespaces", 0]`. */
  path: (string | number)[];
  /** 1-based line. */
  line?: number;
  /** 1-based column. */
  column?: number;
  /** What is wrong, in one sentence. */
  message: string;
}

/** Outcome of loading a config file. `config` is present only when there are no errors. */
export interface LoadResult {
  /** Absolute path of the file that was loaded. */
  file: string;
  /** The resolved config; absent when there are errors, so nobody runs a half-valid config. */
  config?: ResolvedConfig;
  /** Every error found, not only the first. */
  errors: Diagnostic[];
  /** Findings that do not stop the config from being used. */
  warnings: Diagnostic[];
}
