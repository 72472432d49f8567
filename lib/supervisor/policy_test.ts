import assert from "node:assert/strict";
import type { RetryPolicy } from "../config/types.ts";
import { attemptsAfterStableRun, decideAfterExit, type ExitKind, restartDelayMs } from "./policy.ts";

const policy: RetryPolicy = {
  initialDelayMs: 1000,
  maxDelayMs: 60_000,
  multiplier: 2,
  maxAttempts: 0,
  jitter: 0.2,
  resetAfterMs: 300_000,
};

Deno.test("restartDelayMs: exponential, capped, jittered", () => {
  const table: [Partial<RetryPolicy>, number, number, number][] = [
    // [policy overrides, attempt, random, expected]
    [{}, 0, 0.5, 1000],
    [{}, 1, 0.5, 2000],
    [{}, 2, 0.5, 4000],
    [{}, 5, 0.5, 32_000],
    [{}, 6, 0.5, 60_000], // 64 s capped at 60 s
    [{}, 60, 0.5, 60_000],
    [{}, 2000, 0.5, 60_000], // 2^2000 = Infinity, still capped
    [{}, 0, 0, 800], // -20 %
    [{}, 0, 0.999999, 1200], // ~+20 %
    [{}, 6, 0, 48_000], // jitter applies after the cap
    [{ jitter: 0 }, 3, 0, 8000],
    [{ jitter: 0 }, 3, 0.99, 8000],
    [{ multiplier: 1 }, 10, 0.5, 1000],
    [{ multiplier: 1.5 }, 2, 0.5, 2250],
    [{ initialDelayMs: 0 }, 4, 0.5, 0],
    [{ jitter: 5 }, 0, 0, 0], // jitter clamped to 1: never negative
    [{ maxDelayMs: 10 }, 0, 0.5, 1000], // max below initial: initial wins
    [{}, -3, 0.5, 1000], // negative attempt treated as 0
  ];
  for (const [override, attempt, random, expected] of table) {
    assert.equal(
      restartDelayMs({ ...policy, ...override }, attempt, random),
      expected,
      `${JSON.stringify(override)} attempt=${attempt} random=${random}`,
    );
  }
});

Deno.test("decideAfterExit: table", () => {
  type Row = {
    kind: ExitKind;
    attempt: number;
    maxAttempts?: number;
    expect: ReturnType<typeof decideAfterExit>["action"];
    delayMs?: number;
    nextAttempt?: number;
  };
  const rows: Row[] = [
    { kind: "transient", attempt: 0, expect: "restart", delayMs: 1000, nextAttempt: 1 },
    { kind: "transient", attempt: 3, expect: "restart", delayMs: 8000, nextAttempt: 4 },
    { kind: "transient", attempt: 100, expect: "restart", delayMs: 60_000, nextAttempt: 101 }, // forever
    { kind: "transient", attempt: 2, maxAttempts: 3, expect: "restart", nextAttempt: 3 },
    { kind: "transient", attempt: 3, maxAttempts: 3, expect: "fail" },
    { kind: "transient", attempt: 0, maxAttempts: 1, expect: "restart", nextAttempt: 1 },
    { kind: "transient", attempt: 1, maxAttempts: 1, expect: "fail" },
    { kind: "not_root", attempt: 0, expect: "fail" },
    { kind: "permanent", attempt: 0, expect: "fail" },
    { kind: "permanent", attempt: 0, maxAttempts: 0, expect: "fail" },
  ];
  for (const row of rows) {
    const d = decideAfterExit({
      policy: { ...policy, maxAttempts: row.maxAttempts ?? 0 },
      attempt: row.attempt,
      exitKind: row.kind,
      random: 0.5,
    });
    const label = JSON.stringify(row);
    assert.equal(d.action, row.expect, label);
    if (d.action === "restart") {
      if (row.delayMs !== undefined) assert.equal(d.delayMs, row.delayMs, label);
      assert.equal(d.attempt, row.nextAttempt, label);
    }
    if (d.action === "fail") assert.ok(d.reason.length > 0, label);
  }
});

Deno.test("decideAfterExit: max_attempts failure names the limit", () => {
  const d = decideAfterExit({
    policy: { ...policy, maxAttempts: 2 },
    attempt: 2,
    exitKind: "transient",
    random: 0.5,
  });
  assert.deepEqual(d, { action: "fail", reason: "gave up after 2 restart attempts (max_attempts 2)" });
});

Deno.test("attemptsAfterStableRun: reset only after reset_after", () => {
  assert.equal(attemptsAfterStableRun(5, 0, policy), 5);
  assert.equal(attemptsAfterStableRun(5, 299_999, policy), 5);
  assert.equal(attemptsAfterStableRun(5, 300_000, policy), 0);
  assert.equal(attemptsAfterStableRun(0, 10, policy), 0);
});

Deno.test("decideAfterExit: a crash after a stable run restarts at once; the next one backs off from the start", () => {
  const stable = decideAfterExit({
    policy,
    attempt: 0,
    exitKind: "transient",
    random: 0.5,
    afterStableRun: true,
  });
  assert.deepEqual(stable, { action: "restart", delayMs: 0, attempt: 0 });
  const next = decideAfterExit({ policy, attempt: 0, exitKind: "transient", random: 0.5 });
  assert.deepEqual(next, { action: "restart", delayMs: 1000, attempt: 1 });
  const permanent = decideAfterExit({
    policy,
    attempt: 0,
    exitKind: "permanent",
    random: 0.5,
    afterStableRun: true,
  });
  assert.equal(permanent.action, "fail", "a stable run does not make a config error worth retrying");
});

Deno.test("decideAfterExit: an unreachable API is retried every 2 s, never failed, attempts unchanged", () => {
  const table: [number, number, number][] = [ // attempt, maxAttempts, expected delay
    [0, 0, 2000],
    [1, 0, 2000],
    [5, 0, 2000],
    [7, 3, 2000],
  ];
  for (const [attempt, maxAttempts, delayMs] of table) {
    const d = decideAfterExit({
      policy: { ...policy, maxAttempts },
      attempt,
      exitKind: "unreachable",
      random: 0.5,
    });
    assert.deepEqual(d, { action: "restart", delayMs, attempt }, `attempt ${attempt}`);
  }
});

Deno.test("decideAfterExit: the backoff spaces starts, so time the child ran counts towards it", () => {
  const rows: [attempt: number, sinceStartMs: number, delayMs: number][] = [
    [0, 0, 1000], // died at once: the whole first delay
    [0, 300, 700],
    [0, 1000, 0], // ran as long as the delay: restarted at once
    [0, 5000, 0], // a kill after a few seconds of running is no crash loop
    [3, 5000, 3000], // the fourth start in a loop is still held 8 s after the previous one
    [3, -20, 8000], // a clock step backwards never lengthens the wait
  ];
  for (const [attempt, sinceStartMs, delayMs] of rows) {
    const d = decideAfterExit({ policy, attempt, exitKind: "transient", random: 0.5, sinceStartMs });
    assert.deepEqual(d, { action: "restart", delayMs, attempt: attempt + 1 }, `${attempt} ${sinceStartMs}`);
  }
  const unreachable = decideAfterExit({
    policy,
    attempt: 0,
    exitKind: "unreachable",
    random: 0.5,
    sinceStartMs: 9000,
  });
  assert.equal(unreachable.action === "restart" && unreachable.delayMs, 2000, "the API retry keeps its pace");
});
