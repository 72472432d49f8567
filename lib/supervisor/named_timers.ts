/**
 * A set of one-shot timers addressed by name on the injected clock: setting a name replaces its timer, and
 * one call cancels them all, so a run or a runner that ends leaves no timer behind.
 */
import type { Clock, TimerHandle } from "../clock.ts";

/** Named one-shot timers; see the module comment. */
export class NamedTimers<Name extends string> {
  readonly #clock: Clock;
  readonly #timers = new Map<Name, { handle: TimerHandle; dueAt: number; fn: () => void }>();

  /** Timers on `clock`, so tests drive them with a fake one. */
  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Runs `fn` once after `ms`, replacing any timer of that name. */
  set(name: Name, ms: number, fn: () => void): void {
    this.clear(name);
    const handle = this.#clock.setTimeout(() => {
      this.#timers.delete(name);
      fn();
    }, ms);
    this.#timers.set(name, { handle, dueAt: this.#clock.now() + Math.max(0, ms), fn });
  }

  /** Runs the named timer's `fn` now instead of later; false when none is set. */
  fireNow(name: Name): boolean {
    const timer = this.#timers.get(name);
    if (timer === undefined) return false;
    this.clear(name);
    timer.fn();
    return true;
  }

  /** When the named timer fires, or undefined when none is set. */
  dueAt(name: Name): number | undefined {
    return this.#timers.get(name)?.dueAt;
  }

  /** Whether the named timer is set. */
  has(name: Name): boolean {
    return this.#timers.has(name);
  }

  /** Cancels the named timer, if set. */
  clear(name: Name): void {
    const timer = this.#timers.get(name);
    if (timer === undefined) return;
    this.#clock.clearTimeout(timer.handle);
    this.#timers.delete(name);
  }

  /** Cancels every timer. */
  clearAll(): void {
    for (const name of [...this.#timers.keys()]) this.clear(name);
  }
}
