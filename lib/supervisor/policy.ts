/**
 * The restart policy as pure functions: what to do after a kubefwd child exits and how long to wait.
 * Kept free of timers and state so that every rule (backoff, reset after a stable run, max_attempts, permanent
 * vs transient errors) is table-tested in isolation; the
 * ProfileRunner only applies the decisions.
 */
import type { RetryPolicy } from "../config/types.ts";
import type { ExitClassification } from "../kubefwd/output.ts";

/** The wait between starts while the API cannot be reached: recovery soon after it is back. */
export const UNREACHABLE_RETRY_MS = 2000;

/** How an exit was classified (see `classifyExit` in lib/kubefwd/output.ts). */
export type ExitKind = ExitClassification["kind"];

/** What the runner does next after a child exit. */
export type ExitDecision =
  | { action: "restart"; delayMs: number; attempt: number }
  | { action: "fail"; reason: string };

/** Inputs of {@link decideAfterExit}. */
export interface ExitDecisionInput {
  /** The profile's `retry` settings: backoff and max_attempts. */
  policy: RetryPolicy;
  /** Consecutive automatic restarts already made since the last stable run (0 after a fresh start). */
  attempt: number;
  /** How the child ended: permanent and not-root exits are never restarted. */
  exitKind: ExitKind;
  /** The run that ended was healthy for at least `resetAfterMs`: a crash after that is restarted at once. */
  afterStableRun?: boolean;
  /**
   * How long ago the child that ended was started (0 for a start that produced no child). The backoff bounds
   * how often kubefwd is started, so time the child already ran counts towards the wait.
   */
  sinceStartMs?: number;
  /** A number in [0, 1) that drives the jitter (injected so tests are exact). */
  random: number;
}

/**
 * Delay before restart number `attempt + 1`: min(maxDelay, initialDelay × multiplier^attempt), then
 * varied by ±jitter×delay so that several profiles failing together (VPN drop, laptop wake) do not
 * restart in lockstep. `random` in [0, 1): 0 gives −jitter, 0.5 gives the exact delay. Whole
 * milliseconds, never negative.
 */
export function restartDelayMs(policy: RetryPolicy, attempt: number, random: number): number {
  const n = Math.max(0, Math.floor(attempt));
  const multiplier = Math.max(1, policy.multiplier);
  const initial = Math.max(0, policy.initialDelayMs);
  const max = Math.max(initial, policy.maxDelayMs);
  // multiplier^n overflows to Infinity for large n; min() then yields max, which is what we want.
  const base = Math.min(max, initial * Math.pow(multiplier, n));
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  const r = Math.min(1, Math.max(0, random));
  const varied = base * (1 + jitter * (2 * r - 1));
  return Math.max(0, Math.round(varied));
}

/**
 * Decides what follows a child exit:
 * - not root → `fail`: restarting cannot help until sudoers or the privilege setting changes;
 * - permanent (bad kubeconfig, missing context, RBAC, unknown flag) → `fail`: retried only when the
 *   config or kubeconfig changes, by the runner;
 * - transient → `restart` once {@link restartDelayMs} has passed since the ended child was started (the
 *   backoff is the shortest spacing between two starts: a crash loop is held to it, a kill after a run longer
 *   than the delay restarts at once), unless `maxAttempts` (> 0) restarts were already made, then `fail`. `maxAttempts: 0` retries forever. After a stable run the restart is immediate and
 *   the attempt counter stays 0, so a second crash right after starts the backoff from its beginning;
 * - unreachable (the API is out of reach) → `restart` every {@link UNREACHABLE_RETRY_MS}, whatever the
 *   attempt count: never `fail`, and the attempt counter does not grow.
 */
export function decideAfterExit(input: ExitDecisionInput): ExitDecision {
  const { policy, attempt, exitKind, random, afterStableRun, sinceStartMs = 0 } = input;
  if (exitKind === "not_root") return { action: "fail", reason: "kubefwd requires superuser privileges" };
  if (exitKind === "permanent") return { action: "fail", reason: "permanent error" };
  // The API is out of reach: retry steadily and soon (it may be back any moment), never give up, and do not
  // count it towards max_attempts: no crash loop is going on.
  if (exitKind === "unreachable") return { action: "restart", delayMs: UNREACHABLE_RETRY_MS, attempt };
  if (policy.maxAttempts > 0 && attempt >= policy.maxAttempts) {
    return {
      action: "fail",
      reason: `gave up after ${attempt} restart attempt${
        attempt === 1 ? "" : "s"
      } (max_attempts ${policy.maxAttempts})`,
    };
  }
  // The backoff is for crash loops: a kill or crash after minutes of health is not one.
  if (afterStableRun) return { action: "restart", delayMs: 0, attempt: 0 };
  const spacingMs = restartDelayMs(policy, attempt, random);
  return {
    action: "restart",
    delayMs: Math.max(0, spacingMs - Math.max(0, sinceStartMs)),
    attempt: attempt + 1,
  };
}

/**
 * The attempt counter after a run that lasted `runningMs` in running/degraded: a run of at least
 * `resetAfterMs` proves the setup works, so the next crash starts the backoff from the beginning.
 */
export function attemptsAfterStableRun(attempt: number, runningMs: number, policy: RetryPolicy): number {
  return runningMs >= policy.resetAfterMs ? 0 : attempt;
}
