import assert from "node:assert/strict";
import { ApiWatch, type ApiWatchState } from "./api_watch.ts";
import { FakeClock } from "../testing/fake_clock.ts";
import { FakeApiProbes } from "../testing/fake_api_probes.ts";
import { testProfile } from "../testing/profile_spec.ts";

const timing = { intervalMs: 2000, downIntervalMs: 1000, timeoutMs: 2000, resolveRetryMs: 60_000 };

/** Lets the watch's promise chain run (fake probes answer at once). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

function watch(probes: FakeApiProbes, clock = new FakeClock()) {
  const changes: ApiWatchState[] = [];
  const w = new ApiWatch(clock, probes, testProfile("p"), timing, (s) => changes.push(s));
  return { w, clock, changes };
}

Deno.test("ApiWatch: reachable, out of reach (reported once, same since), back again; credentials resolved once", async () => {
  const probes = new FakeApiProbes();
  const { w, clock, changes } = watch(probes);
  await settle();
  assert.deepEqual(changes.map((c) => c.state), ["reachable"]);
  probes.answer = { ok: false, why: "no answer within 2000 ms" };
  clock.advance(2000);
  await settle();
  clock.advance(1000);
  await settle();
  assert.deepEqual(
    changes.map((c) => c.state),
    ["reachable", "unreachable"],
    "repeated failures: one change",
  );
  const since = changes[1].since;
  assert.equal(w.state.since, since);
  probes.answer = { ok: true };
  clock.advance(1000); // while down, checked every second
  await settle();
  assert.deepEqual(changes.map((c) => c.state), ["reachable", "unreachable", "reachable"]);
  assert.equal(probes.opens, 1);
  w.stop();
  assert.equal(clock.pending, 0);
  assert.equal(probes.closes, 1);
});

Deno.test("ApiWatch: a check that never got through is unknown, not unreachable", async () => {
  const probes = new FakeApiProbes();
  probes.answer = { ok: false, why: "connection refused" };
  const { w, changes } = watch(probes);
  await settle();
  assert.equal(changes.length, 1);
  assert.equal(changes[0].state, "unknown");
  assert.match((changes[0] as { why: string }).why, /never got through \(connection refused\)/);
  w.stop();
});

Deno.test("ApiWatch: 401 re-resolves the credentials once (an expired token), then answers", async () => {
  const probes = new FakeApiProbes();
  probes.unauthorizedUntilOpen = 1;
  const { w, changes } = watch(probes);
  await settle();
  assert.equal(probes.opens, 2);
  assert.deepEqual(changes.map((c) => c.state), ["reachable"]);
  w.stop();
});

Deno.test("ApiWatch: credentials that cannot be resolved: unknown with the reason, retried slowly", async () => {
  const probes = new FakeApiProbes();
  probes.openError = "exec credential plugin aws not found on PATH";
  const { w, clock, changes } = watch(probes);
  await settle();
  assert.deepEqual(changes, [{
    state: "unknown",
    since: clock.now(),
    why: "exec credential plugin aws not found on PATH",
  }]);
  assert.equal(clock.nextDue(), clock.now() + 60_000);
  probes.openError = undefined;
  clock.advance(60_000);
  await settle();
  assert.equal(w.state.state, "reachable");
  w.stop();
});

Deno.test("ApiWatch: checkNow checks at once instead of waiting for the interval", async () => {
  const probes = new FakeApiProbes();
  const { w } = watch(probes);
  await settle();
  const before = probes.checks;
  w.checkNow();
  await settle();
  assert.equal(probes.checks, before + 1);
  w.stop();
});
