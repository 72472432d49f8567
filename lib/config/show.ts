/**
 * The effective config as `config show` prints it: snake_case keys and Go durations (so the YAML form
 * could be pasted back into a config file), `defaults` already merged into every profile, and kubeconfig
 * paths masked.
 */
import { formatDuration } from "./duration.ts";
import { formatListenAddress } from "./listen_address.ts";
import { maskArgs } from "../log/mask.ts";
import { maskPath } from "./mask.ts";
import type { ProfileSpec, ResolvedConfig } from "./types.ts";

/**
 * The resolved config with every profile's kubeconfig masked and secrets in `extra_args` masked as the log
 * masks them (the `config show --json` document).
 */
export function maskConfig(config: ResolvedConfig, home?: string): ResolvedConfig {
  const args = (list: string[]) =>
    maskArgs(list, { home, kubeconfigs: config.profiles.map((p) => p.kubeconfig) });
  return {
    ...config,
    kubefwd: { ...config.kubefwd, extraArgs: args(config.kubefwd.extraArgs) },
    profiles: config.profiles.map((p) => ({
      ...p,
      kubeconfig: maskPath(p.kubeconfig, home),
      extraArgs: args(p.extraArgs),
    })),
  };
}

function profileDoc(p: ProfileSpec): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    enabled: p.enabled,
    kubeconfig: p.kubeconfig,
  };
  if (p.context !== undefined) doc.context = p.context;
  if (p.allowEmpty) doc.allow_empty = true;
  doc.namespaces = p.namespaces;
  doc.labels = p.labels;
  doc.exclude_services = p.excludeServices;
  if (p.domain !== undefined) doc.domain = p.domain;
  doc.mapping = p.mappings;
  doc.extra_args = p.extraArgs;
  doc.retry = {
    initial_delay: formatDuration(p.retry.initialDelayMs),
    max_delay: formatDuration(p.retry.maxDelayMs),
    multiplier: p.retry.multiplier,
    max_attempts: p.retry.maxAttempts,
    jitter: p.retry.jitter,
    reset_after: formatDuration(p.retry.resetAfterMs),
  };
  doc.health = {
    interval: formatDuration(p.health.intervalMs),
    timeout: formatDuration(p.health.timeoutMs),
    failure_threshold: p.health.failureThreshold,
    http: p.health.http ?? [],
    tcp: p.health.tcp ?? [],
  };
  doc.forward_failures = {
    max_failures: p.forwardFailures.maxFailures,
    window: formatDuration(p.forwardFailures.windowMs),
    debounce: formatDuration(p.forwardFailures.debounceMs),
  };
  return doc;
}

/** Plain object in the config file's own vocabulary, ready for a YAML serializer. */
export function toFileShape(config: ResolvedConfig): Record<string, unknown> {
  return {
    daemon: {
      log_level: config.daemon.logLevel,
      log_file: config.daemon.logFile,
      pid_file: config.daemon.pidFile,
      socket_path: config.daemon.socketPath,
      state_dir: config.daemon.stateDir,
      ...(config.daemon.metrics ? { metrics: { listen: formatListenAddress(config.daemon.metrics) } } : {}),
    },
    kubefwd: {
      path: config.kubefwd.path,
      privilege: config.kubefwd.privilege,
      extra_args: config.kubefwd.extraArgs,
      hosts_path: config.kubefwd.hostsPath,
      stop_timeout: formatDuration(config.kubefwd.stopTimeoutMs),
    },
    profiles: Object.fromEntries(config.profiles.map((p) => [p.name, profileDoc(p)])),
  };
}
