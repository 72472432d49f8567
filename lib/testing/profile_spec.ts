/** A complete ProfileSpec for tests, so each test states only what it is about. */
import type { ProfileSpec } from "../config/types.ts";

/**
 * Profile `name` forwarding namespace `ns` of context `ctx` with the production retry, health and
 * forward-failure defaults (jitter 0.2), overridden field by field by `over`.
 */
export function testProfile(name: string, over: Partial<ProfileSpec> = {}): ProfileSpec {
  return {
    name,
    enabled: true,
    kubeconfig: "/home/u/.kube/config",
    context: "ctx",
    namespaces: ["ns"],
    labels: [],
    excludeServices: [],
    mappings: [],
    extraArgs: [],
    retry: {
      initialDelayMs: 1000,
      maxDelayMs: 30_000,
      multiplier: 2,
      maxAttempts: 0,
      jitter: 0.2,
      resetAfterMs: 60_000,
    },
    health: { intervalMs: 10_000, timeoutMs: 1000, failureThreshold: 2 },
    forwardFailures: { maxFailures: 3, windowMs: 60_000, debounceMs: 2000 },
    ...over,
  };
}
