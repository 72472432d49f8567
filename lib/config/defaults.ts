/**
 * Built-in policy defaults as typed values. Dependency-free so the daemon and tests can use them; a test
 * (defaults_test.ts) keeps them equal to the default strings of the schema that the docs show.
 */
import type {
  ForwardFailurePolicy,
  HealthPolicy,
  KubefwdSettings,
  NotificationSettings,
  RetryPolicy,
} from "./types.ts";

/** `defaults.retry` when the config file says nothing. */
export const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({
  initialDelayMs: 1000,
  maxDelayMs: 60_000,
  multiplier: 2,
  maxAttempts: 0,
  jitter: 0.1,
  resetAfterMs: 60_000,
});

/** `defaults.health` when the config file says nothing. */
export const DEFAULT_HEALTH: Readonly<HealthPolicy> = Object.freeze({
  intervalMs: 5000,
  timeoutMs: 2000,
  failureThreshold: 2,
  http: [],
  tcp: [],
});

/** `defaults.forward_failures` when the config file says nothing. */
export const DEFAULT_FORWARD_FAILURES: Readonly<ForwardFailurePolicy> = Object.freeze({
  maxFailures: 5,
  windowMs: 60_000,
  debounceMs: 2000,
});

/** The `kubefwd` section when the config file says nothing (`extraArgs` is a fresh array per call). */
export function defaultKubefwdSettings(): KubefwdSettings {
  return {
    path: "kubefwd",
    privilege: "auto",
    extraArgs: [],
    hostsPath: "/etc/hosts",
    stopTimeoutMs: 10_000,
  };
}

/** `daemon.notifications` when the config file says nothing: off, every kind, one per minute per profile. */
export function defaultNotifications(): NotificationSettings {
  return { enabled: false, on: ["failed", "degraded", "recovered"], minIntervalMs: 60_000 };
}
