/**
 * A fixed-capacity FIFO that overwrites its oldest item: the daemon keeps "the last N log lines" and
 * "the last N events" in memory for `logs` and `status`, and its memory budget (40 MB) forbids anything
 * unbounded. O(1) push, no copying until read.
 */
export class RingBuffer<T> {
  /** Most items kept; the oldest is overwritten beyond it. */
  readonly capacity: number;
  readonly #items: (T | undefined)[];
  #start = 0;
  #size = 0;

  /** `capacity` must be at least 1. */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`ring capacity must be >= 1, got ${capacity}`);
    }
    this.capacity = capacity;
    this.#items = new Array(capacity);
  }

  /** Number of items held (at most `capacity`). */
  get size(): number {
    return this.#size;
  }

  /** Append; when full, the oldest item is dropped. */
  push(item: T): void {
    if (this.#size < this.capacity) {
      this.#items[(this.#start + this.#size) % this.capacity] = item;
      this.#size++;
    } else {
      this.#items[this.#start] = item;
      this.#start = (this.#start + 1) % this.capacity;
    }
  }

  /** The newest `n` items (all when `n` is larger), oldest first. */
  last(n: number): T[] {
    const count = Math.max(0, Math.min(Math.floor(n), this.#size));
    const out = new Array<T>(count);
    const first = this.#start + this.#size - count;
    for (let i = 0; i < count; i++) out[i] = this.#items[(first + i) % this.capacity] as T;
    return out;
  }

  /** Every item, oldest first. */
  toArray(): T[] {
    return this.last(this.#size);
  }

  /** Forget everything (and let the items be collected). */
  clear(): void {
    this.#items.fill(undefined);
    this.#start = 0;
    this.#size = 0;
  }
}
