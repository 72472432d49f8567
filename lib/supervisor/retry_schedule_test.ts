import assert from "node:assert/strict";
import type { RetryPolicy } from "../config/types.ts";
import { FakeClock } from "../testing/fake_clock.ts";
import type { ExitKind } from "./policy.ts";
import { type RetryPort, RetrySchedule } from "./retry_schedule.ts";
import type { ProfileState } from "./types.ts";

const policy: RetryPolicy = {
  initialDelayMs: 1000,
  maxDelayMs: 8000,
  multiplier: 2,
  maxAttempts: 0,
  jitter: 0.2,
  resetAfterMs: 60_000,
};

/** A runner stand-in that writes down what the schedule asked of it. */
function setup(over: Partial<RetryPolicy> = {}) {
  const clock = new FakeClock();
  const calls: string[] = [];
  const queued: (() => void)[] = [];
  const watches: { onChange: () => void; stopped: boolean }[] = [];
  const runner = { state: "starting" as ProfileState, disposed: false, lastError: "", failures: 0 };
  const port: RetryPort = {
    clock,
    random: () => 0.5, // the exact delay
    policy: () => ({ ...policy, ...over }),
    state: () => runner.state,
    disposed: () => runner.disposed,
    transition: (to, reason, detail) => {
      runner.state = to;
      calls.push(`${to}: ${reason}${detail ? ` (${detail})` : ""}`);
    },
    setLastError: (text) => runner.lastError = text,
    countFailure: () => runner.failures++,
    countRestart: (why) => calls.push(`restart counted: ${why}`),
    log: () => {},
    launch: (reason) => {
      runner.state = "starting";
      calls.push(`launch: ${reason}`);
    },
    enqueue: (job) => queued.push(job),
    watchKubeconfig: (onChange) => {
      const watch = { onChange, stopped: false };
      watches.push(watch);
      return { stop: () => watch.stopped = true };
    },
  };
  return { clock, calls, queued, watches, runner, schedule: new RetrySchedule(port) };
}

const exit = (kind: ExitKind, reason = "exit code 1") => ({ kind, reason, errorText: `${reason}!` });

Deno.test("RetrySchedule: what each kind of failure leads to", () => {
  const cases: [ExitKind, string, number | null, number, boolean][] = [
    // [kind, transition, next retry in ms, failures counted, kubeconfig watched]
    ["transient", "backoff: exit code 1 (retry 1 in 600 ms)", 600, 1, false], // 400 ms already ran
    ["unreachable", "backoff: exit code 1 (retry 0 in 2000 ms)", 2000, 0, false],
    ["permanent", "failed: exit code 1", null, 1, true],
    ["not_root", "failed: exit code 1", null, 1, false],
  ];
  for (const [kind, transition, retryInMs, failures, watched] of cases) {
    const { clock, calls, watches, runner, schedule } = setup();
    schedule.childEnded(exit(kind), 400, 0);
    assert.deepEqual(calls, [transition], kind);
    assert.equal(schedule.nextRetryAt, retryInMs === null ? null : clock.now() + retryInMs, kind);
    assert.equal(runner.failures, failures, kind);
    assert.equal(runner.lastError, "exit code 1!", kind);
    assert.equal(watches.length, watched ? 1 : 0, kind);
  }
});

Deno.test("RetrySchedule: a start that never produced a child follows the same policy", () => {
  const { calls, runner, schedule } = setup();
  schedule.startFailed({ kind: "transient", message: "cannot start kubefwd" });
  assert.deepEqual(calls, ["backoff: cannot start kubefwd (retry 1 in 1000 ms)"]);
  assert.equal(runner.failures, 1);
  assert.equal(runner.lastError, "cannot start kubefwd");
});

Deno.test("RetrySchedule: the retry launches after the backoff; the delay grows until a stable run", () => {
  const { clock, calls, schedule } = setup();
  const delays: (number | null)[] = [];
  const crash = (runningMs = 0) => {
    schedule.childEnded(exit("transient"), 0, runningMs);
    const due = schedule.nextRetryAt;
    delays.push(due === null ? null : due - clock.now());
    clock.advance(due === null ? 0 : due - clock.now());
  };
  crash();
  assert.deepEqual(calls.slice(1), ["restart counted: crash", "launch: retry 1 after backoff"]);
  crash();
  crash();
  crash();
  crash(60_000); // after a stable run: at once, and the backoff starts over
  crash();
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 0, 1000]);
  assert.equal(schedule.nextRetryAt, null, "no retry pending once it ran");
});

Deno.test("RetrySchedule: max_attempts gives up with the last error", () => {
  const { clock, calls, runner, schedule } = setup({ maxAttempts: 1 });
  schedule.childEnded(exit("transient"), 0, 0);
  clock.advance(1000);
  schedule.childEnded(exit("transient"), 0, 0);
  assert.equal(calls.at(-1), "failed: gave up after 1 restart attempt (max_attempts 1)");
  assert.equal(
    runner.lastError,
    "gave up after 1 restart attempt (max_attempts 1); last error: exit code 1!",
  );
  schedule.reset();
  schedule.childEnded(exit("transient"), 0, 0);
  assert.equal(calls.at(-1), "backoff: exit code 1 (retry 1 in 1000 ms)", "a fresh start counts anew");
});

Deno.test("RetrySchedule: a cancelled or overtaken retry does not launch", () => {
  const cancelled = setup();
  cancelled.schedule.childEnded(exit("transient"), 0, 0);
  cancelled.schedule.cancel();
  assert.equal(cancelled.schedule.nextRetryAt, null);
  cancelled.clock.advance(10_000);
  assert.equal(cancelled.calls.length, 1);

  const overtaken = setup();
  overtaken.schedule.childEnded(exit("transient"), 0, 0);
  overtaken.runner.state = "stopped";
  overtaken.clock.advance(10_000);
  assert.equal(overtaken.calls.length, 1);

  const disposed = setup();
  disposed.schedule.childEnded(exit("transient"), 0, 0);
  disposed.runner.disposed = true;
  disposed.clock.advance(10_000);
  assert.equal(disposed.calls.length, 1);
});

Deno.test("RetrySchedule: a permanent failure starts afresh once the kubeconfig changed, through the queue", () => {
  const { calls, queued, watches, schedule } = setup();
  schedule.childEnded(exit("transient"), 0, 0);
  schedule.childEnded(exit("permanent", "bad kubeconfig"), 0, 0);
  watches[0].onChange();
  assert.equal(calls.at(-1), "failed: bad kubeconfig", "nothing before the queue runs the job");
  queued.shift()!();
  assert.equal(calls.at(-1), "launch: kubeconfig changed");
  schedule.childEnded(exit("transient"), 0, 0);
  assert.equal(calls.at(-1), "backoff: exit code 1 (retry 1 in 1000 ms)", "the attempts started over");
});

Deno.test("RetrySchedule: a re-arm queued before a cancel, or while disposing, does nothing", () => {
  const cancelled = setup();
  cancelled.schedule.childEnded(exit("permanent"), 0, 0);
  cancelled.watches[0].onChange();
  cancelled.schedule.cancel();
  assert.equal(cancelled.watches[0].stopped, true);
  cancelled.queued.shift()!();
  assert.equal(cancelled.calls.length, 1);

  const disposed = setup();
  disposed.schedule.childEnded(exit("permanent"), 0, 0);
  disposed.watches[0].onChange();
  disposed.runner.disposed = true;
  disposed.queued.shift()!();
  assert.equal(disposed.calls.length, 1);
});

Deno.test("RetrySchedule: a stable run resets the attempts even when it ends with the API out of reach", () => {
  const { clock, calls, schedule } = setup();
  schedule.childEnded(exit("transient"), 0, 0);
  clock.advance(1000);
  schedule.childEnded(exit("transient"), 0, 0);
  clock.advance(2000);
  schedule.childEnded(exit("unreachable"), 0, 60_000);
  assert.equal(calls.at(-1), "backoff: exit code 1 (retry 0 in 2000 ms)");
  clock.advance(2000);
  schedule.childEnded(exit("transient"), 0, 0);
  assert.equal(calls.at(-1), "backoff: exit code 1 (retry 1 in 1000 ms)");
});
