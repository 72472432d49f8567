/**
 * The runner's timing and size limits. Production uses DEFAULT_TUNING; tests shorten what they exercise.
 */

/** Tunables with production defaults; tests shorten them. */
export interface RunnerTuning {
  /** A child alive this long without announcing forwards counts as running (no matching services). */
  startupGraceMs: number;
  /** First probe of a newly announced forward (kubefwd listens only after the pod is found). */
  firstProbeDelayMs: number;
  /** How often a `failed` (permanent) profile checks whether its kubeconfig changed. */
  kubeconfigPollMs: number;
  /** How long a forward of kubefwd ≥ 1.24 may stay down (its own reconnects) before the child restarts. */
  autoReconnectGraceMs: number;
  /** Child output forwarded to the log: sustained lines per second per profile … */
  logLinesPerSecond: number;
  /** … and the burst allowed above it. */
  logBurst: number;
  /** Cap of remembered announced IPs/hostnames and forward records per child (IP churn, floods). */
  maxAnnounced: number;
  /** Wait before spawning while another profile's kubefwd is starting (/etc/hosts has no locking). */
  startStaggerMs: number;
  /**
   * kubefwd's informers retry a failing list forever without exiting; when `failed to list` lines keep
   * coming for this long (no gap longer than {@link listFailureGapMs}), the child is restarted: a fresh
   * process re-reads credentials and builds new clients, or fails its start and goes to backoff.
   */
  listFailureRestartMs: number;
  /** A quiet period this long ends a run of list failures (client-go's relist backoff caps at 30 s). */
  listFailureGapMs: number;
  /**
   * kubefwd ≥ 1.23 gives a replaced pod a new address and never reuses one; at 255 in a /24 it runs out.
   * Once it has handed out this many in one /24 in a run, and some of them only because pods were
   * replaced (more addresses than hostnames), the child is restarted while every forward still works.
   */
  ipChurnRestartAt: number;
}

/** Production tuning. */
export const DEFAULT_TUNING: RunnerTuning = {
  startupGraceMs: 20_000,
  firstProbeDelayMs: 500,
  kubeconfigPollMs: 5_000,
  autoReconnectGraceMs: 30_000,
  logLinesPerSecond: 200,
  logBurst: 400,
  maxAnnounced: 4096,
  startStaggerMs: 1_500,
  listFailureRestartMs: 90_000,
  listFailureGapMs: 45_000,
  ipChurnRestartAt: 240,
};
