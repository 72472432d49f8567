/**
 * Notices that the machine was suspended (or the daemon was stopped): a tick scheduled every `tickMs` that
 * fires far too late. Wall time keeps running through a suspend while the monotonic clock (Linux
 * CLOCK_MONOTONIC) does not, and a stopped process sees its timers fire late on both; either gap above the
 * threshold is a sleep. After it, kubefwd's connections may be stale, so every forward is re-verified.
 */
import type { Clock, TimerHandle } from "../clock.ts";

/** A late tick's gap, in milliseconds, or 0 when it was on time. Pure. */
export function sleptFor(
  tick: { expectedWallMs: number; wallMs: number; expectedMonoMs: number; monoMs: number },
  thresholdMs: number,
): number {
  const wallLate = tick.wallMs - tick.expectedWallMs;
  const monoLate = tick.monoMs - tick.expectedMonoMs;
  const late = Math.max(wallLate, monoLate);
  return late >= thresholdMs ? late : 0;
}

/** Ticks on `clock` and calls `onWake(sleptMs)` after every sleep longer than `thresholdMs`. */
export class WakeDetector {
  readonly #clock: Clock;
  readonly #monotonic: () => number;
  readonly #tickMs: number;
  readonly #thresholdMs: number;
  readonly #onWake: (sleptMs: number) => void;
  #timer: TimerHandle | undefined;
  #stopped = false;

  /** Starts ticking at once. `monotonic` is `performance.now` in production. */
  constructor(
    clock: Clock,
    monotonic: () => number,
    onWake: (sleptMs: number) => void,
    opts: { tickMs?: number; thresholdMs?: number } = {},
  ) {
    this.#clock = clock;
    this.#monotonic = monotonic;
    this.#onWake = onWake;
    this.#tickMs = opts.tickMs ?? 1000;
    this.#thresholdMs = opts.thresholdMs ?? 4000;
    this.#schedule();
  }

  /** Stops ticking. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#stopped) return;
    const expectedWallMs = this.#clock.now() + this.#tickMs;
    const expectedMonoMs = this.#monotonic() + this.#tickMs;
    this.#timer = this.#clock.setTimeout(() => {
      const slept = sleptFor(
        { expectedWallMs, wallMs: this.#clock.now(), expectedMonoMs, monoMs: this.#monotonic() },
        this.#thresholdMs,
      );
      this.#schedule();
      if (slept > 0) this.#onWake(slept);
    }, this.#tickMs);
  }
}
