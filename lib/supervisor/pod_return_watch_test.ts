import assert from "node:assert/strict";
import { FakeClock } from "../testing/fake_clock.ts";
import { FakePodReturnSource } from "../testing/fake_pod_return_source.ts";
import { ForwardedServices, type PodReturnTiming, PodReturnWatch } from "./pod_return_watch.ts";
import type { ForwardState, ForwardStatus } from "./types.ts";

const timing: PodReturnTiming = { pollMs: 1000, graceMs: 500, settleMs: 3000, maxPolled: 20 };

function forward(hostname: string, state: ForwardState): ForwardStatus {
  return {
    hostname,
    namespace: "ns",
    ip: "127.3.27.1",
    port: 80,
    pod: `${hostname}-1`,
    podPort: "80",
    state,
    since: "2026-01-01T00:00:00.000Z",
  };
}

/** Lets a round's promise chain run (the fake source answers at once). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** Advances `ms` in steps of 100 ms, letting each round finish. */
async function advance(clock: FakeClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 100) {
    clock.advance(100);
    await settle();
  }
}

function child(
  clock: FakeClock,
  source: FakePodReturnSource,
  memory: ForwardedServices,
  forwards: ForwardStatus[],
  scope = "scope-1",
  pending = { restart: false },
) {
  const returns: string[][] = [];
  const errors: unknown[] = [];
  const w = new PodReturnWatch({
    clock,
    source,
    memory,
    scope,
    timing,
    startedAt: clock.now(),
    forwards: () => forwards,
    restartPending: () => pending.restart,
    onReturn: (services) => returns.push(services),
    internalError: (_where, e) => errors.push(e),
  });
  return { w, returns, errors, forwards };
}

Deno.test("PodReturnWatch: nothing missing → nothing asked; a service forwarded before and missing now is asked about every second, no pod → no restart", async () => {
  const clock = new FakeClock();
  const source = new FakePodReturnSource();
  const memory = new ForwardedServices();
  const first = child(clock, source, memory, [forward("web", "up"), forward("api", "up")]);
  await advance(clock, 10_000);
  assert.deepEqual(source.asked, [], "everything forwarded: no request at all");
  first.w.stop();
  assert.equal(clock.pending, 0);

  // kubefwd restarted while web's pods were gone: the new child never announces web.
  const second = child(clock, source, memory, [forward("api", "up")]);
  await advance(clock, 2900);
  assert.deepEqual(source.asked, [], "the child may still be announcing");
  await advance(clock, 60_000);
  assert.equal(source.asked.length, 60, "one a second from 3 s to 62 s");
  assert.ok(source.asked.every((k) => k === "ns/web"));
  assert.deepEqual(second.returns, [], "a service without a Ready pod never restarts kubefwd");
  second.w.stop();
});

Deno.test("PodReturnWatch: a Ready pod of a missing service is reported after the grace, once per child", async () => {
  const clock = new FakeClock();
  const source = new FakePodReturnSource();
  const memory = new ForwardedServices();
  memory.note("scope-1", ["ns/web", "ns/api"]);
  const c = child(clock, source, memory, [forward("api", "up")]);
  await advance(clock, 5000);
  source.answers.set("ns/web", { kind: "pods", ready: 1 });
  const readyAt = clock.now();
  await advance(clock, 1000); // the round that sees it
  const seenAt = clock.now();
  assert.deepEqual(c.returns, []);
  await advance(clock, 600);
  assert.deepEqual(c.returns, [["ns/web"]]);
  assert.ok(clock.now() - readyAt <= 1600, "within a poll interval plus the grace");
  assert.ok(seenAt < clock.now());
  await advance(clock, 30_000);
  assert.deepEqual(c.returns, [["ns/web"]], "asked once: the restart ends this child");
  c.w.stop();
  assert.deepEqual(c.errors, []);
});

Deno.test("PodReturnWatch: forwarded again during the grace → no restart", async () => {
  const clock = new FakeClock();
  const source = new FakePodReturnSource();
  const memory = new ForwardedServices();
  memory.note("scope-1", ["ns/web"]);
  const c = child(clock, source, memory, []);
  await advance(clock, 3000);
  source.answers.set("ns/web", { kind: "pods", ready: 1 });
  await advance(clock, 1000);
  c.forwards.push(forward("web", "pending"));
  await advance(clock, 10_000);
  assert.deepEqual(c.returns, []);
  c.w.stop();
});

Deno.test("PodReturnWatch: API server not answering → nothing asked, no restart; back → asked again", async () => {
  const clock = new FakeClock();
  const source = new FakePodReturnSource();
  source.apiReachable = false;
  source.answers.set("ns/web", { kind: "pods", ready: 1 });
  const memory = new ForwardedServices();
  memory.note("scope-1", ["ns/web"]);
  const c = child(clock, source, memory, []);
  await advance(clock, 30_000);
  assert.deepEqual(source.asked, []);
  assert.deepEqual(c.returns, []);
  source.apiReachable = true;
  await advance(clock, 2000);
  assert.deepEqual(c.returns, [["ns/web"]]);
  c.w.stop();
});

Deno.test("PodReturnWatch: a deleted service is forgotten; a new scope (config change) forgets everything", async () => {
  const clock = new FakeClock();
  const source = new FakePodReturnSource();
  source.answers.set("ns/gone", { kind: "no_service" });
  const memory = new ForwardedServices();
  memory.note("scope-1", ["ns/gone", "ns/web"]);
  const c = child(clock, source, memory, [forward("web", "up")]);
  await advance(clock, 5000);
  assert.deepEqual(source.asked, ["ns/gone"], "asked once, then forgotten");
  assert.deepEqual(memory.list("scope-1"), ["ns/web"]);
  c.w.stop();
  assert.deepEqual(memory.list("scope-2"), [], "what the profile selects changed");
});

Deno.test("PodReturnWatch: a forward noted right after the probe round that saw it up, not only on the next round", async () => {
  const clock = new FakeClock();
  const source = new FakePodReturnSource();
  const memory = new ForwardedServices();
  const c = child(clock, source, memory, [forward("web", "pending")]);
  await advance(clock, 1000);
  assert.deepEqual(memory.list("scope-1"), [], "pending: not known to forward yet");
  c.forwards[0] = forward("web", "up");
  c.w.noteForwards(); // what RunHealth does after each probe round
  assert.deepEqual(memory.list("scope-1"), ["ns/web"]);
  c.w.stop();
});

Deno.test("PodReturnWatch: while a dead forward's restart is pending, no second request; after it, as usual", async () => {
  const clock = new FakeClock();
  const source = new FakePodReturnSource();
  source.answers.set("ns/web", { kind: "pods", ready: 2 });
  const memory = new ForwardedServices();
  memory.note("scope-1", ["ns/web"]);
  const pending = { restart: true };
  const c = child(clock, source, memory, [forward("web", "down")], "scope-1", pending);
  await advance(clock, 10_000);
  assert.ok(source.asked.length > 0, "asked all the same");
  assert.deepEqual(c.returns, [], "the debounced restart is not cut short");
  pending.restart = false; // the restart was held: the forward stays down
  await advance(clock, 1000);
  assert.deepEqual(c.returns, [["ns/web"]]);
  c.w.stop();
});
