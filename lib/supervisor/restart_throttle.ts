/**
 * The loop guard for restarts the runner makes for the forwards' sake (a dead forward, a service that keeps
 * failing): while they are rare each restart is immediate; once `forward_failures.max_failures` of them
 * fall within `forward_failures.window`, each further one waits the retry policy's delay for the excess.
 * A port someone else holds or a pod that never answers then cannot cycle the profile in a tight loop.
 */
import type { ForwardFailurePolicy, RetryPolicy } from "../config/types.ts";
import { restartDelayMs } from "./policy.ts";

/** Remembers recent forward restarts of one profile; pure apart from that memory. */
export class RestartThrottle {
  #times: number[] = [];

  /** Records a restart at `now` and returns how long to wait before the new start (0: at once). */
  delayFor(now: number, forwardFailures: ForwardFailurePolicy, retry: RetryPolicy, random: number): number {
    this.#times = this.#times.filter((t) => now - t < forwardFailures.windowMs);
    this.#times.push(now);
    const excess = this.#times.length - Math.max(1, forwardFailures.maxFailures);
    return excess < 0 ? 0 : restartDelayMs(retry, excess, random);
  }
}
