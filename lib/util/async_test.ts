import assert from "node:assert/strict";
import { deadline, delay, isTimeoutError, Mutex, timeoutError, valueOnTimeout, waitFor } from "./async.ts";

const never = () => new Promise<never>(() => {});

Deno.test("delay: resolves after the time; an abort clears the timer and rejects with the reason", async () => {
  const start = Date.now();
  await delay(5);
  assert.ok(Date.now() - start >= 4);
  const controller = new AbortController();
  const p = delay(60_000, { signal: controller.signal });
  controller.abort(new Error("stop"));
  await assert.rejects(p, /stop/); // the op sanitizer fails the test if the 60 s timer were left
  await assert.rejects(delay(1, { signal: controller.signal }), /stop/, "already aborted");
});

Deno.test("deadline: passes value and error through, times out with a TimeoutError, clears its timer", async () => {
  assert.equal(await deadline(Promise.resolve(7), 60_000), 7);
  await assert.rejects(deadline(Promise.reject(new Error("own")), 60_000), /own/);
  const late = deadline(never(), 1);
  await assert.rejects(late, (e: unknown) => isTimeoutError(e) && e.message === "Signal timed out.");
  const controller = new AbortController();
  const aborted = deadline(never(), 60_000, { signal: controller.signal });
  controller.abort(new Error("cancelled"));
  await assert.rejects(aborted, /cancelled/);
});

Deno.test("isTimeoutError: only the TimeoutError DOMException", () => {
  assert.equal(isTimeoutError(timeoutError()), true);
  assert.equal(isTimeoutError(new DOMException("x", "AbortError")), false);
  assert.equal(isTimeoutError(new Error("TimeoutError")), false);
});

Deno.test("valueOnTimeout: a timeout becomes the value, any other error is rethrown", async () => {
  assert.equal(await deadline(never(), 1).then(() => true, valueOnTimeout(false)), false);
  assert.equal(await waitFor(() => false, 0).catch(valueOnTimeout("late")), "late");
  await assert.rejects(Promise.reject(new Error("real")).catch(valueOnTimeout(false)), /real/);
});

Deno.test("waitFor: checks at once, resolves with the first truthy value", async () => {
  let calls = 0;
  assert.equal(await waitFor(() => ++calls, 0), 1, "no step before the first check");
  let n = 0;
  assert.equal(await waitFor(() => (++n >= 3 ? `after ${n}` : undefined), 5_000, { step: 1 }), "after 3");
  assert.equal(await waitFor(() => Promise.resolve(true), 0), true);
});

Deno.test("waitFor: times out naming what it waited for; a throwing predicate ends the wait", async () => {
  let calls = 0;
  await assert.rejects(
    waitFor(() => (calls++, false), 20, { step: 1, what: "the flag" }),
    (e: unknown) => isTimeoutError(e) && e.message === "timed out after 20 ms waiting for the flag",
  );
  assert.ok(calls >= 2, "checked again before giving up");
  await assert.rejects(waitFor(() => false, 0), (e: unknown) => isTimeoutError(e));
  await assert.rejects(
    waitFor(() => {
      throw new Error("broken check");
    }, 5_000),
    /broken check/,
  );
});

Deno.test("waitFor: an abort ends the wait between checks", async () => {
  const controller = new AbortController();
  const p = waitFor(() => false, 60_000, { step: 60_000, signal: controller.signal });
  controller.abort(new Error("gave up"));
  await assert.rejects(p, /gave up/);
});

Deno.test("Mutex: one holder at a time, in call order; a second release lets nobody extra in", async () => {
  const mutex = new Mutex();
  const order: string[] = [];
  const first = await mutex.acquire();
  const second = mutex.acquire().then((lock) => (order.push("second"), lock));
  const third = mutex.acquire().then((lock) => (order.push("third"), lock));
  for (let i = 0; i < 10; i++) await Promise.resolve();
  assert.deepEqual(order, [], "nobody gets in while the lock is held");
  first.release();
  const secondLock = await second;
  first.release(); // a repeated release must not open the lock for the third waiter
  for (let i = 0; i < 10; i++) await Promise.resolve();
  assert.deepEqual(order, ["second"]);
  {
    using _held = secondLock;
  }
  (await third).release();
  assert.deepEqual(order, ["second", "third"]);
});

Deno.test("Mutex.run: serialises calls in order, returns and throws what fn does, keeps going after a failure", async () => {
  const mutex = new Mutex();
  const log: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const a = mutex.run(async () => {
    log.push("a start");
    await gate;
    log.push("a end");
    return "a";
  });
  const b = mutex.run(() => {
    log.push("b");
    throw new Error("b failed");
  });
  const c = mutex.run(() => (log.push("c"), "c"));
  await Promise.resolve();
  release();
  assert.equal(await a, "a");
  await assert.rejects(b, /b failed/);
  assert.equal(await c, "c");
  assert.deepEqual(log, ["a start", "a end", "b", "c"]);
});
