/** A fixed-bucket histogram (Prometheus semantics: cumulative `le` buckets, a count and a sum). */
import type { HistogramSnapshot } from "./types.ts";

/** Recovery times span a forward's reconnect (about a second) to a backoff of minutes. */
export const RECOVERY_BOUNDS_SECONDS: readonly number[] = [0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300, 600];

/** Detection spans 0 (kubefwd said so, or exited) to several probe intervals. */
export const DETECTION_BOUNDS_SECONDS: readonly number[] = [0.1, 0.5, 1, 2, 5, 10, 20, 30, 60];

/** Observations into fixed buckets; memory does not grow with the number of observations. */
export class Histogram {
  readonly #bounds: readonly number[];
  readonly #counts: number[];
  #count = 0;
  #sum = 0;

  /** `bounds` ascending, in seconds. */
  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.#counts = bounds.map(() => 0);
  }

  /** Records one value (seconds; negative values count as 0: clocks can step). */
  observe(seconds: number): void {
    const v = Math.max(0, seconds);
    this.#count++;
    this.#sum += v;
    const i = this.#bounds.findIndex((b) => v <= b);
    if (i >= 0) this.#counts[i]++;
  }

  /** The cumulative view. */
  snapshot(): HistogramSnapshot {
    let running = 0;
    return {
      bounds: [...this.#bounds],
      cumulative: this.#counts.map((c) => running += c),
      count: this.#count,
      sum: this.#sum,
    };
  }
}
