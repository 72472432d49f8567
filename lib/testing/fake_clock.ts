/** A {@link Clock} that tests move by hand, so timer-driven code is tested without waiting. */
import type { Clock, TimerHandle } from "../clock.ts";

/**
 * A manually advanced clock for tests. `advance(ms)` runs due timers in time order, each seeing
 * `now()` equal to its due time.
 */
export class FakeClock implements Clock {
  #now: number;
  #next = 1;
  #timers = new Map<TimerHandle, { at: number; fn: () => void }>();

  /** Starts at `start` (default 2026-01-01T00:00Z), so timestamps in assertions are fixed. */
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = this.#next++;
    this.#timers.set(handle, { at: this.#now + Math.max(0, ms), fn });
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle);
  }

  /** Number of pending timers. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Due time of the earliest pending timer, or undefined. */
  nextDue(): number | undefined {
    let min: number | undefined;
    for (const t of this.#timers.values()) if (min === undefined || t.at < min) min = t.at;
    return min;
  }

  /** Move time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let dueHandle: TimerHandle | undefined;
      let due: { at: number; fn: () => void } | undefined;
      for (const [h, t] of this.#timers) {
        if (t.at <= end && (due === undefined || t.at < due.at)) {
          dueHandle = h;
          due = t;
        }
      }
      if (due === undefined || dueHandle === undefined) break;
      this.#timers.delete(dueHandle);
      this.#now = due.at;
      due.fn();
    }
    this.#now = end;
  }
}
