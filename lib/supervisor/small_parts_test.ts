/** Unit tests of the runner's small parts: limiter, file watch, timers, queue, throttle, record, outcome. */
import assert from "node:assert/strict";
import { FakeClock } from "../testing/fake_clock.ts";
import { watchFile } from "./file_watcher.ts";
import { NamedTimers } from "./named_timers.ts";
import { describeOutcome } from "./outcome.ts";
import { childLogEntry, OutputLimiter, suppressedNotice } from "./output_limiter.ts";
import type { KubefwdLine } from "../kubefwd/types.ts";
import type { LogEntry } from "./types.ts";
import { newPersistedProfile, ProfileRecord } from "./profile_record.ts";
import {
  HOLD_MAX_MS,
  HOLD_MIN_MS,
  holdDelayMs,
  RestartThrottle,
  STORM_WINDOW_MS,
} from "./restart_throttle.ts";
import { SerialQueue, waitFor } from "../util/async.ts";
import { MAX_PERSISTED_EVENTS } from "../state/types.ts";

Deno.test("OutputLimiter: a burst passes, the excess is counted and reported once a second later", () => {
  const clock = new FakeClock();
  const reports: number[] = [];
  const limiter = new OutputLimiter(clock, { linesPerSecond: 10, burst: 5 }, (n) => reports.push(n));
  const admitted = Array.from({ length: 8 }, () => limiter.admit()).filter(Boolean).length;
  assert.equal(admitted, 5);
  assert.deepEqual(reports, []);
  clock.advance(1000);
  assert.deepEqual(reports, [3], "one summary of the 3 dropped lines");
  assert.equal(limiter.admit(), true, "the bucket refilled");
  limiter.admit();
  limiter.close();
  assert.equal(clock.pending, 0);
});

Deno.test("suppressedNotice: how many lines were dropped, and the rate they exceeded", () => {
  assert.equal(suppressedNotice(1, 200), "1 kubefwd output line suppressed (more than 200/s)");
  assert.equal(suppressedNotice(1600, 200), "1600 kubefwd output lines suppressed (more than 200/s)");
});

Deno.test("OutputLimiter: close reports what is still pending", () => {
  const clock = new FakeClock();
  const reports: number[] = [];
  const limiter = new OutputLimiter(clock, { linesPerSecond: 1, burst: 1 }, (n) => reports.push(n));
  limiter.admit();
  limiter.admit();
  limiter.close();
  assert.deepEqual(reports, [1]);
  assert.equal(clock.pending, 0);
});

Deno.test("watchFile: the first poll is the baseline, a change is reported once, stop ends the polling", async () => {
  const clock = new FakeClock();
  let fingerprint = "a";
  let changes = 0;
  /** A poll that found no change arms the next one `intervalMs` after it. */
  const rearmed = () =>
    waitFor(() => clock.nextDue() === clock.now() + 5000, 5000, {
      step: 1,
      what: "the next poll to be armed",
    });
  const watch = watchFile({
    clock,
    fingerprint: () => Promise.resolve(fingerprint),
    path: "/k",
    intervalMs: 5000,
    onChange: () => changes++,
    onError: (e) => assert.fail(String(e)),
  });
  await rearmed();
  clock.advance(5000);
  await rearmed();
  assert.equal(changes, 0);
  fingerprint = "b";
  clock.advance(5000);
  await waitFor(() => changes > 0, 5000, { step: 1, what: "the change to be reported" });
  assert.equal(changes, 1);
  assert.equal(clock.pending, 0, "no more polling after a change");
  watch.stop();

  const stopped = watchFile({
    clock,
    fingerprint: () => Promise.reject(new Error("EACCES")),
    path: "/k",
    intervalMs: 5000,
    onChange: () => changes++,
    onError: (e) => assert.fail(String(e)),
  });
  await rearmed();
  assert.equal(clock.pending, 1, "an unreadable file is a fingerprint too: polling goes on");
  stopped.stop();
  assert.equal(clock.pending, 0);
});

Deno.test("NamedTimers: setting a name replaces its timer; clearAll leaves none", () => {
  const clock = new FakeClock();
  const timers = new NamedTimers<"a" | "b">(clock);
  const fired: string[] = [];
  timers.set("a", 100, () => fired.push("a1"));
  timers.set("a", 200, () => fired.push("a2"));
  timers.set("b", 50, () => fired.push("b"));
  assert.equal(timers.dueAt("a"), clock.now() + 200);
  clock.advance(300);
  assert.deepEqual(fired, ["b", "a2"]);
  assert.equal(timers.has("a"), false);
  timers.set("a", 100, () => fired.push("never"));
  timers.clearAll();
  clock.advance(1000);
  assert.equal(clock.pending, 0);
  assert.deepEqual(fired, ["b", "a2"]);
});

Deno.test("SerialQueue: the first operation starts synchronously, later ones in order, failures do not block", async () => {
  const queue = new SerialQueue();
  const order: string[] = [];
  let release!: () => void;
  const first = queue.run(() => {
    order.push("first started");
    return new Promise<void>((resolve) => release = resolve);
  });
  assert.deepEqual(order, ["first started"], "started before run() returned");
  const failing = queue.run(() => {
    order.push("second");
    return Promise.reject(new Error("boom"));
  });
  const third = queue.run(() => {
    order.push("third");
    return Promise.resolve(3);
  });
  release();
  await first;
  await assert.rejects(failing, /boom/);
  assert.equal(await third, 3);
  assert.deepEqual(order, ["first started", "second", "third"]);
});

const throttlePolicy = {
  forwardFailures: { maxFailures: 3, windowMs: 60_000, debounceMs: 0 },
  retry: {
    initialDelayMs: 1000,
    maxDelayMs: 30_000,
    multiplier: 2,
    maxAttempts: 0,
    jitter: 0,
    resetAfterMs: 1,
  },
  random: 0.5,
};

Deno.test("RestartThrottle: different causes restart at once while rare, then on the retry schedule", () => {
  const throttle = new RestartThrottle();
  const t0 = 1_000_000;
  const delays = [0, 10, 20, 30, 40].map((s, i) =>
    throttle.decide(t0 + s * 1000, `cause ${i}`, throttlePolicy)
  );
  assert.deepEqual(delays.map((d) => d.action === "restart" ? d.delayMs : "hold"), [0, 0, 1000, 2000, 4000]);
  const planned = throttle.decide(t0 + 200_000, undefined, throttlePolicy);
  assert.deepEqual(planned, { action: "restart", delayMs: 0 }, "old restarts leave the window");
});

Deno.test("RestartThrottle: the same failure after its restart is held, retried slowly, longer each time", () => {
  const throttle = new RestartThrottle();
  const t0 = 1_000_000;
  const k = "listen [{8080 8081}]";
  assert.deepEqual(throttle.decide(t0, k, throttlePolicy), { action: "restart", delayMs: 0 });
  assert.deepEqual(throttle.decide(t0 + 3000, k, throttlePolicy), {
    action: "hold",
    retryInMs: 30_000,
    alreadyHeld: false,
  });
  assert.equal(throttle.heldForMs(k, t0 + 4000), 29_000);
  assert.deepEqual(throttle.decide(t0 + 5000, k, throttlePolicy), {
    action: "hold",
    retryInMs: 28_000,
    alreadyHeld: true,
  });
  assert.deepEqual(throttle.decide(t0 + 5000, "another cause", throttlePolicy), {
    action: "restart",
    delayMs: 0,
  });
  throttle.retrying(k, t0 + 33_000); // the slow retry restarted kubefwd; it fails the same way again
  assert.equal(throttle.heldForMs(k, t0 + 34_000), 0);
  assert.deepEqual(throttle.decide(t0 + 36_000, k, throttlePolicy), {
    action: "hold",
    retryInMs: 60_000,
    alreadyHeld: false,
  });
  // Starts within 90 s for a failure that comes back after every start: t0, the slow retry at +33 s. Then a
  // change gives it a fresh chance.
  throttle.reset();
  assert.deepEqual(throttle.decide(t0 + 40_000, k, throttlePolicy), { action: "restart", delayMs: 0 });
  // Quiet for the storm window after its restart: resolved, a later failure is a new one.
  assert.equal(throttle.decide(t0 + 40_000 + STORM_WINDOW_MS + 1, k, throttlePolicy).action, "restart");
});

Deno.test("holdDelayMs: at least the retry policy's max_delay and 30 s, doubling, at most 10 min", () => {
  const retry = throttlePolicy.retry;
  const table: [number, number, number][] = [
    [1, 30_000, 30_000],
    [2, 30_000, 60_000],
    [3, 30_000, 120_000],
    [9, 30_000, HOLD_MAX_MS],
    [1, 5_000, HOLD_MIN_MS],
    [1, 120_000, 120_000],
  ];
  for (const [restarts, maxDelayMs, expected] of table) {
    assert.equal(holdDelayMs(restarts, { ...retry, maxDelayMs }), expected, `${restarts} ${maxDelayMs}`);
  }
});

Deno.test("ProfileRecord: every named operation persists; events stay bounded; the child is tracked by pid", () => {
  let saves = 0;
  const data = newPersistedProfile();
  const record = new ProfileRecord(data, () => saves++);
  record.countRestart();
  record.countFailure();
  record.addUptime(1500);
  record.addUptime(-5);
  assert.deepEqual(data.counters, { restarts: 1, failures: 1, totalUptimeMs: 1500 });
  record.childSpawned({ pid: 42, cmdline: "kubefwd", startedAt: "t", viaSudo: false });
  record.childAnnounced("127.1.27.1");
  record.childAnnounced("127.1.27.1");
  assert.deepEqual(data.child?.announcedIps, ["127.1.27.1"]);
  record.childGone(7);
  assert.ok(data.child, "another pid's end does not clear the record");
  record.childGone(42);
  assert.equal(data.child, undefined);
  for (let i = 0; i < MAX_PERSISTED_EVENTS + 5; i++) {
    record.recordEvent({ at: String(i), profile: "p", from: "stopped", to: "starting", reason: "r" });
  }
  assert.equal(record.events.length, MAX_PERSISTED_EVENTS);
  assert.equal(record.events[0].at, "5");
  record.setEnabledOverride(false);
  record.setBaseIp("127.4.27.1");
  assert.equal(record.enabledOverride, false);
  assert.equal(
    saves,
    7 + 1 + MAX_PERSISTED_EVENTS + 5 + 2 - 1,
    "one save per change (the repeated address is none)",
  );
});

Deno.test("describeOutcome: the texts the CLI prints", () => {
  assert.equal(describeOutcome({ kind: "started" }), "started");
  assert.equal(describeOutcome({ kind: "started", was: "failed" }), "started (was failed)");
  assert.equal(describeOutcome({ kind: "started", was: "backoff" }), "started now (was waiting to retry)");
  assert.equal(
    describeOutcome({ kind: "started", was: "disabled_in_config" }),
    "started (disabled in config: until stopped or the daemon restarts)",
  );
  assert.equal(describeOutcome({ kind: "already", state: "running" }), "already running");
  assert.equal(describeOutcome({ kind: "shutting_down" }), "shutting down");
  assert.equal(describeOutcome({ kind: "restarted" }), "restarted");
});

Deno.test("childLogEntry: logrus levels kept, stderr a warning, attributed to the profile", () => {
  const at = Date.UTC(2026, 0, 1);
  const table: [Partial<KubefwdLine>, LogEntry["level"]][] = [
    [{ stream: "stdout", level: "INFO" }, "info"],
    [{ stream: "stdout", level: "WARN" }, "warn"],
    [{ stream: "stdout", level: "ERRO" }, "error"],
    [{ stream: "stdout", level: "FATA" }, "error"],
    [{ stream: "stdout", level: "DEBU" }, "debug"],
    [{ stream: "stdout" }, "info"],
    [{ stream: "stderr" }, "warn"],
  ];
  for (const [line, level] of table) {
    const entry = childLogEntry("dev", { stream: "stdout", message: "m", ...line }, at);
    assert.deepEqual(entry, {
      at: "2026-01-01T00:00:00.000Z",
      level,
      profile: "dev",
      source: line.stream,
      message: "m",
    });
  }
});

Deno.test("NamedTimers: fireNow runs a set timer at once, once; an unset name does nothing", () => {
  const clock = new FakeClock();
  const timers = new NamedTimers<"a">(clock);
  let fired = 0;
  timers.set("a", 30_000, () => fired++);
  assert.equal(timers.fireNow("a"), true);
  assert.equal(fired, 1);
  assert.equal(timers.has("a"), false);
  clock.advance(30_000);
  assert.equal(fired, 1, "not again at its due time");
  assert.equal(timers.fireNow("a"), false);
  assert.equal(clock.pending, 0);
});
