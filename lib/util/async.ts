/**
 * Timing and ordering helpers with the names and signatures of `@std/async` (`delay`, `deadline`,
 * `waitFor`, and a mutex), which this project cannot import (no JSR access; the daemon imports no
 * package at all). One implementation each, so that every wait in the program cleans up its timer and
 * reports a timeout the same way. Where they differ from the standard library, the JSDoc says so.
 */

/** Options of {@link delay}. */
export interface DelayOptions {
  /** Aborting it clears the timer and rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Resolves after `ms` milliseconds, like `@std/async`'s `delay`. An aborted `signal` clears the timer at
 * once (so no timer outlives the wait) and rejects with `signal.reason`.
 */
export function delay(ms: number, options: DelayOptions = {}): Promise<void> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const abort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", abort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", abort, { once: true });
  });
}

/** Options of {@link deadline}. */
export interface DeadlineOptions {
  /** Aborting it rejects the returned promise with the signal's reason. */
  signal?: AbortSignal;
}

/** The error of a timed-out {@link deadline} or {@link waitFor}: what `AbortSignal.timeout` rejects with. */
export function timeoutError(message = "Signal timed out."): DOMException {
  return new DOMException(message, "TimeoutError");
}

/** True for the error {@link deadline} and {@link waitFor} reject with when their time runs out. */
export function isTimeoutError(error: unknown): error is DOMException {
  return error instanceof DOMException && error.name === "TimeoutError";
}

/**
 * A rejection handler that turns the timeout of {@link deadline} or {@link waitFor} into `value` and
 * rethrows any other error, for callers to whom running out of time is an answer, not a failure:
 * `const gone = await waitFor(exited, ms).then(() => true, valueOnTimeout(false))`.
 */
export function valueOnTimeout<T>(value: T): (error: unknown) => T {
  return (error) => {
    if (isTimeoutError(error)) return value;
    throw error;
  };
}

/**
 * Settles like `promise`, or rejects with a `DOMException` named `"TimeoutError"` after `ms`, like
 * `@std/async`'s `deadline`. Unlike it, the timer is cleared as soon as the race is decided, so it never
 * keeps the process (or a test's op sanitizer) waiting. `promise` itself is not cancelled: a caller that
 * must stop the work behind it does so on the timeout.
 */
export function deadline<T>(promise: Promise<T>, ms: number, options: DeadlineOptions = {}): Promise<T> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const abort = () => finish(() => reject(signal?.reason));
    const timer = setTimeout(() => finish(() => reject(timeoutError())), ms);
    signal?.addEventListener("abort", abort, { once: true });
    function finish(settle: () => void): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", abort);
      settle();
    }
    promise.then(
      (value) => finish(() => resolve(value)),
      (error) => finish(() => reject(error)),
    );
  });
}

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Pause between two checks, in milliseconds; default 100 (as in `@std/async`). */
  step?: number;
  /** Aborting it ends the wait with the signal's reason. */
  signal?: AbortSignal;
  /** What is awaited, for the timeout message: "timed out after <ms> ms waiting for <what>". */
  what?: string;
}

/** The truthy part of `T`: what {@link waitFor} resolves with. */
export type Truthy<T> = Exclude<T, false | 0 | "" | null | undefined>;

/**
 * Polls `predicate` until it returns a truthy value and resolves with that value; rejects with a
 * `DOMException` named `"TimeoutError"` once `ms` has passed, with the predicate's own error if it throws,
 * or with the signal's reason. The argument order is `@std/async`'s `waitFor` (predicate, ms, options).
 * Unlike it, the predicate is checked at once (not after the first step), and a check in progress is
 * never abandoned: the deadline is looked at between checks, so no predicate call outlives the wait.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  ms: number,
  options: WaitForOptions = {},
): Promise<Truthy<T>> {
  const { step = 100, signal, what } = options;
  const end = Date.now() + ms;
  for (;;) {
    signal?.throwIfAborted();
    const value = await predicate();
    if (value) return value as Truthy<T>;
    if (Date.now() >= end) {
      throw timeoutError(what === undefined ? undefined : `timed out after ${ms} ms waiting for ${what}`);
    }
    await delay(step, { signal });
  }
}

/** A held {@link Mutex}: `release()` (or leaving a `using` block) lets the next waiter in; twice is harmless. */
export interface MutexLock extends Disposable {
  /** Lets the next waiter in; a second call does nothing. */
  release(): void;
}

/**
 * A first-come-first-served lock for async code: one holder at a time, waiters in call order. It is
 * `@std/async`'s `Semaphore` with one permit, except that each lock is released through its own handle,
 * so releasing a lock twice is a no-op (with a shared counter a second release would let two holders in),
 * and {@link Mutex.run} covers the common "one at a time" use.
 */
export class Mutex {
  #tail: Promise<void> = Promise.resolve();

  /** Waits until every earlier holder has released, then holds the lock. */
  acquire(): Promise<MutexLock> {
    let open!: () => void;
    const released = new Promise<void>((resolve) => open = resolve);
    const previous = this.#tail;
    this.#tail = previous.then(() => released);
    const lock: MutexLock = {
      release: () => open(), // resolving a promise twice is a no-op, so a second release changes nothing
      [Symbol.dispose]() {
        lock.release();
      },
    };
    return previous.then(() => lock);
  }

  /**
   * Runs `fn` while holding the lock, so calls run one at a time in call order; returns (or throws) what
   * `fn` does. A failing call does not stop the ones queued behind it.
   */
  async run<T>(fn: () => T | Promise<T>): Promise<T> {
    const lock = await this.acquire();
    try {
      return await fn();
    } finally {
      lock.release();
    }
  }
}

/**
 * Runs async operations one at a time, in call order, like {@link Mutex.run} — but when nothing is queued
 * the operation starts synchronously, so a state change it makes before its first `await` (e.g. a start
 * entering `starting`) is visible as soon as the call returns. A failed operation does not stop the ones
 * after it.
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
