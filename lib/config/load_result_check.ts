/**
 * The shape check of a {@link LoadResult} received as JSON: the daemon gets its configuration from a
 * `config resolve` subprocess and must not act on whatever that child printed (another version of the
 * program, a crash halfway through a line) as if it were a validated config. Dependency-free, like the
 * types it checks, so the daemon can use it.
 */
import type {
  DaemonSettings,
  Diagnostic,
  ForwardFailurePolicy,
  HealthPolicy,
  KubefwdSettings,
  LoadResult,
  MetricsSettings,
  NotificationSettings,
  ProfileSpec,
  ResolvedConfig,
  RetryPolicy,
} from "./types.ts";
import { isRecord } from "../util/is_record.ts";

/** A type guard for untrusted JSON: true only when `value` really has the shape of `T`. */
export type Check<T> = (value: unknown) => value is T;

const isString = (v: unknown): v is string => typeof v === "string";
const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isBoolean = (v: unknown): v is boolean => typeof v === "boolean";
const optional = <T>(check: Check<T>) => (v: unknown): v is T | undefined => v === undefined || check(v);
const arrayOf = <T>(check: Check<T>) => (v: unknown): v is T[] => Array.isArray(v) && v.every(check);
const oneOf = <T extends string>(...values: T[]) => (v: unknown): v is T => values.includes(v as T);

/** A record whose listed fields pass their checks (other fields are allowed and ignored). */
function fields<T>(shape: { [K in keyof T]-?: Check<T[K]> }): Check<T> {
  return (v: unknown): v is T =>
    isRecord(v) && Object.entries(shape).every(([key, check]) => (check as Check<unknown>)(v[key]));
}

const isDiagnostic: Check<Diagnostic> = fields<Diagnostic>({
  path: arrayOf((p): p is string | number => isString(p) || isNumber(p)),
  line: optional(isNumber),
  column: optional(isNumber),
  message: isString,
});

const isRetryPolicy: Check<RetryPolicy> = fields<RetryPolicy>({
  initialDelayMs: isNumber,
  maxDelayMs: isNumber,
  multiplier: isNumber,
  maxAttempts: isNumber,
  jitter: isNumber,
  resetAfterMs: isNumber,
});

const isHealthPolicy: Check<HealthPolicy> = fields<HealthPolicy>({
  intervalMs: isNumber,
  timeoutMs: isNumber,
  failureThreshold: isNumber,
  http: optional(arrayOf(isString)),
  tcp: optional(arrayOf(isString)),
});

const isForwardFailurePolicy: Check<ForwardFailurePolicy> = fields<ForwardFailurePolicy>({
  maxFailures: isNumber,
  windowMs: isNumber,
  debounceMs: isNumber,
});

const isProfileSpec: Check<ProfileSpec> = fields<ProfileSpec>({
  name: isString,
  enabled: isBoolean,
  kubeconfig: isString,
  context: optional(isString),
  allowEmpty: optional(isBoolean),
  namespaces: arrayOf(isString),
  labels: arrayOf(isString),
  excludeServices: arrayOf(isString),
  domain: optional(isString),
  mappings: arrayOf(isString),
  extraArgs: arrayOf(isString),
  retry: isRetryPolicy,
  health: isHealthPolicy,
  forwardFailures: isForwardFailurePolicy,
});

const isKubefwdSettings: Check<KubefwdSettings> = fields<KubefwdSettings>({
  path: isString,
  privilege: oneOf("auto", "sudo", "none"),
  extraArgs: arrayOf(isString),
  hostsPath: isString,
  stopTimeoutMs: isNumber,
});

const isMetricsSettings: Check<MetricsSettings> = fields<MetricsSettings>({
  hostname: isString,
  port: isNumber,
});

const isNotificationSettings: Check<NotificationSettings> = fields<NotificationSettings>({
  enabled: isBoolean,
  on: arrayOf(oneOf("failed", "degraded", "recovered")),
  minIntervalMs: isNumber,
});

const isDaemonSettings: Check<DaemonSettings> = fields<DaemonSettings>({
  logLevel: oneOf("debug", "info", "warn", "error"),
  logFile: isString,
  pidFile: isString,
  socketPath: isString,
  stateDir: isString,
  metrics: optional(isMetricsSettings),
  notifications: optional(isNotificationSettings),
});

const isResolvedConfig: Check<ResolvedConfig> = fields<ResolvedConfig>({
  path: isString,
  daemon: isDaemonSettings,
  kubefwd: isKubefwdSettings,
  profiles: arrayOf(isProfileSpec),
});

/** True when `value` has every field of a {@link LoadResult}, down to each profile's policies. */
export const isLoadResult: Check<LoadResult> = fields<LoadResult>({
  file: isString,
  config: optional(isResolvedConfig),
  errors: arrayOf(isDiagnostic),
  warnings: arrayOf(isDiagnostic),
});
