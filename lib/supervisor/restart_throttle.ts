/**
 * The loop guard for restarts the runner makes for the forwards' sake, so that a supervisor never cycles
 * healthy forwards for a failure a restart cannot fix:
 * - a failure that comes back after the restart made for it (same cause within STORM_WINDOW_MS) is held:
 *   no restart now, a slow retry later (at least the retry policy's max_delay, doubling, at most 10 min);
 * - other restarts are immediate while rare; once `forward_failures.max_failures` of them fall within
 *   `forward_failures.window`, each further one waits the retry policy's delay for the excess.
 * Pure apart from its memory; time is a parameter.
 */
import type { ForwardFailurePolicy, RetryPolicy } from "../config/types.ts";
import { restartDelayMs } from "./policy.ts";

/** How long after a restart the same failure counts as "the restart did not fix it". */
export const STORM_WINDOW_MS = 120_000;

/** The shortest and longest wait before a held failure is tried again. */
export const HOLD_MIN_MS = 30_000;
/** See {@link HOLD_MIN_MS}. */
export const HOLD_MAX_MS = 600_000;

/** What to do about one restart request. */
export type ThrottleDecision =
  /** Restart, after `delayMs` (0: at once). */
  | { action: "restart"; delayMs: number }
  /** Do not restart: the failure came back; try again in `retryInMs`. `alreadyHeld`: nothing new to say. */
  | { action: "hold"; retryInMs: number; alreadyHeld: boolean };

/** What the throttle requires of a request. */
export interface ThrottlePolicy {
  /** How many restarts within which window are still "rare". */
  forwardFailures: ForwardFailurePolicy;
  /** The delays once they are not, and the floor of a held failure's retry. */
  retry: RetryPolicy;
  /** A number in [0, 1) for the jitter of {@link restartDelayMs}. */
  random: number;
}

interface CauseRecord {
  /** Restarts made for this cause (the first one and every slow retry). */
  restarts: number;
  lastRestartAt: number;
  /** While held: when the slow retry is due. */
  heldUntil?: number;
}

/** Remembers recent forward restarts and their causes for one profile. */
export class RestartThrottle {
  #times: number[] = [];
  readonly #causes = new Map<string, CauseRecord>();

  /** Decides on a restart requested at `now` for `cause` (undefined: a planned restart, never held). */
  decide(now: number, cause: string | undefined, policy: ThrottlePolicy): ThrottleDecision {
    this.#forgetResolved(now);
    const seen = cause === undefined ? undefined : this.#causes.get(cause);
    if (seen !== undefined) {
      if (seen.heldUntil !== undefined && seen.heldUntil > now) {
        return { action: "hold", retryInMs: seen.heldUntil - now, alreadyHeld: true };
      }
      const retryInMs = holdDelayMs(seen.restarts, policy.retry);
      seen.heldUntil = now + retryInMs;
      return { action: "hold", retryInMs, alreadyHeld: false };
    }
    if (cause !== undefined) this.#causes.set(cause, { restarts: 1, lastRestartAt: now });
    return { action: "restart", delayMs: this.#rateDelay(now, policy) };
  }

  /** How long restarts for `cause` stay held after `now`; 0 when they are not held. */
  heldForMs(cause: string, now: number): number {
    const heldUntil = this.#causes.get(cause)?.heldUntil;
    return heldUntil !== undefined && heldUntil > now ? heldUntil - now : 0;
  }

  /** The slow retry of a held cause is due: it is restarted for once more, and held longer if it fails. */
  retrying(cause: string, now: number): void {
    const seen = this.#causes.get(cause);
    this.#causes.set(cause, { restarts: (seen?.restarts ?? 0) + 1, lastRestartAt: now });
  }

  /** Something changed (config, kubeconfig, the user's restart): every failure gets a fresh chance. */
  reset(): void {
    this.#causes.clear();
    this.#times = [];
  }

  /** A cause that did not come back within the window after its restart (nor is held) is resolved. */
  #forgetResolved(now: number): void {
    for (const [cause, seen] of this.#causes) {
      const quietSince = Math.max(seen.lastRestartAt, seen.heldUntil ?? 0);
      if (now - quietSince > STORM_WINDOW_MS) this.#causes.delete(cause);
    }
  }

  #rateDelay(now: number, policy: ThrottlePolicy): number {
    const { forwardFailures, retry, random } = policy;
    this.#times = this.#times.filter((t) => now - t < forwardFailures.windowMs);
    this.#times.push(now);
    const excess = this.#times.length - Math.max(1, forwardFailures.maxFailures);
    return excess < 0 ? 0 : restartDelayMs(retry, excess, random);
  }
}

/** The wait before retry number `restarts` of a held failure: never faster than the retry policy allows. */
export function holdDelayMs(restarts: number, retry: RetryPolicy): number {
  const base = Math.max(HOLD_MIN_MS, retry.maxDelayMs);
  return Math.min(HOLD_MAX_MS, base * Math.pow(2, Math.max(0, restarts - 1)));
}
