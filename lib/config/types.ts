/**
 * The resolved configuration: defaults merged, durations in milliseconds, `~` expanded, paths absolute.
 *
 * This module has no dependencies on purpose: the daemon imports only these types and receives the
 * resolved config as JSON from a short-lived `config resolve` subprocess, so yaml never occupies the
 * daemon's memory (it costs ~14 MB RSS; the daemon budget is 40 MB).
 */

/** Restart backoff of one profile. All durations in milliseconds. */
export interface RetryPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
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
  intervalMs: number;
  timeoutMs: number;
  failureThreshold: number;
}

/**
 * When a live kubefwd keeps losing one service's forward, restart the child: `maxFailures` failures
 * of one service within `windowMs`. `debounceMs` is the wait before restarting a 1.22.x child whose
 * forward died (1.22.x never reconnects by itself).
 */
export interface ForwardFailurePolicy {
  maxFailures: number;
  windowMs: number;
  debounceMs: number;
}

/** One named profile = one kubefwd child. */
export interface ProfileSpec {
  name: string;
  /** The config file's choice; the CLI's persisted enable/disable overrides it. */
  enabled: boolean;
  /** Absolute path (after `~` expansion). */
  kubeconfig: string;
  /** Undefined = the kubeconfig's current-context, resolved when kubefwd starts. */
  context?: string;
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
  retry: RetryPolicy;
  health: HealthPolicy;
  forwardFailures: ForwardFailurePolicy;
}

/** How kubefwd is run. */
export interface KubefwdSettings {
  path: string;
  /** auto: direct when the daemon is root, else `sudo -n`; sudo: always sudo; none: never sudo. */
  privilege: "auto" | "sudo" | "none";
  extraArgs: string[];
  /** Hosts file that kubefwd edits and that the daemon cleans after unclean exits. */
  hostsPath: string;
  /** Wait after SIGTERM before escalating. */
  stopTimeoutMs: number;
}

/** Daemon-level settings; every path absolute. */
export interface DaemonSettings {
  logLevel: "debug" | "info" | "warn" | "error";
  logFile: string;
  pidFile: string;
  socketPath: string;
  stateDir: string;
}

/** The whole resolved configuration. */
export interface ResolvedConfig {
  /** Absolute path of the file it came from. */
  path: string;
  daemon: DaemonSettings;
  kubefwd: KubefwdSettings;
  profiles: ProfileSpec[];
}

/** One validation finding; line/column are 1-based and absent only when no position is known. */
export interface Diagnostic {
  path: (string | number)[];
  line?: number;
  column?: number;
  message: string;
}

/** Outcome of loading a config file. `config` is present only when there are no errors. */
export interface LoadResult {
  file: string;
  config?: ResolvedConfig;
  errors: Diagnostic[];
  warnings: Diagnostic[];
}
