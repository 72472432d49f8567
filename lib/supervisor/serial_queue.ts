/**
 * Runs async operations one at a time, in call order. When nothing is queued the operation starts
 * synchronously, so a state change it makes before its first `await` (e.g. a start entering `starting`) is
 * visible as soon as the call returns. A failed operation does not stop the ones after it.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();
  #pending = 0;

  /** Queues `op`; resolves or rejects with its result. */
  run<T>(op: () => Promise<T>): Promise<T> {
    let next: Promise<T>;
    if (this.#pending === 0) {
      try {
        next = op();
      } catch (e) {
        next = Promise.reject(e);
      }
    } else {
      next = this.#tail.then(op, op);
    }
    this.#pending++;
    this.#tail = next.catch(() => {}).finally(() => this.#pending--);
    return next;
  }
}
