import assert from "node:assert/strict";
import { sleptFor, WakeDetector } from "./wake_detector.ts";
import { FakeClock } from "../testing/fake_clock.ts";

Deno.test("sleptFor: on time or a little late is no sleep; a suspend shows on the wall clock, a stop on both", () => {
  const rows: [string, number, number, number][] = [
    // name, wall lateness, monotonic lateness, expected
    ["on time", 0, 0, 0],
    ["busy machine, 1.5 s late", 1500, 1500, 0],
    ["suspend: wall jumps, monotonic does not", 60_000, 0, 60_000],
    ["SIGSTOP: both late", 30_000, 30_000, 30_000],
    ["wall clock set back, monotonic fine", -3_600_000, 0, 0],
  ];
  for (const [name, wall, mono, want] of rows) {
    const got = sleptFor(
      { expectedWallMs: 1000, wallMs: 1000 + wall, expectedMonoMs: 50, monoMs: 50 + mono },
      4000,
    );
    assert.equal(got, want, name);
  }
});

Deno.test("WakeDetector: ticks quietly, reports a suspend once, keeps ticking, stops", () => {
  const clock = new FakeClock();
  // The wall clock as the daemon sees it: a suspend moves it on while no timer could fire.
  let suspended = 0;
  const wall = {
    now: () => clock.now() + suspended,
    setTimeout: (fn: () => void, ms: number) => clock.setTimeout(fn, ms),
    clearTimeout: (h: number) => clock.clearTimeout(h),
  };
  let mono = 0;
  const wakes: number[] = [];
  const detector = new WakeDetector(wall, () => mono, (ms) => wakes.push(ms), {
    tickMs: 1000,
    thresholdMs: 4000,
  });
  for (let i = 0; i < 10; i++) {
    mono += 1000;
    clock.advance(1000);
  }
  assert.deepEqual(wakes, []);
  // Suspended for a minute: the timer fires 60 s late by the wall clock; the monotonic clock stood still.
  suspended += 60_000;
  clock.advance(1000);
  assert.deepEqual(wakes, [60_000]);
  mono += 1000;
  clock.advance(1000);
  assert.equal(wakes.length, 1, "the next tick is on time again");
  detector.stop();
  assert.equal(clock.pending, 0);
});
