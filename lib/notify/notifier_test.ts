import assert from "node:assert/strict";
import type { NotificationSettings } from "../config/types.ts";
import type { LogEntry, ProfileState, TransitionEvent } from "../supervisor/types.ts";
import { FakeClock } from "../testing/fake_clock.ts";
import { FakeNotificationSender } from "../testing/fake_notification_sender.ts";
import { MAX_QUEUED, Notifier } from "./notifier.ts";

interface Setup {
  clock: FakeClock;
  sender: FakeNotificationSender;
  notifier: Notifier;
  logs: [LogEntry["level"], string][];
  settings: NotificationSettings;
  emit(profile: string, from: ProfileState, to: ProfileState, reason?: string): void;
}

function setup(overrides: Partial<NotificationSettings> = {}): Setup {
  const clock = new FakeClock();
  const sender = new FakeNotificationSender();
  const logs: [LogEntry["level"], string][] = [];
  const settings: NotificationSettings = {
    enabled: true,
    on: ["failed", "degraded", "recovered"],
    minIntervalMs: 60_000,
    ...overrides,
  };
  const notifier = new Notifier({
    clock,
    sender,
    settings: () => settings,
    log: (level, message) => logs.push([level, message]),
  });
  const emit = (profile: string, from: ProfileState, to: ProfileState, reason = "why") => {
    const event: TransitionEvent = { at: new Date(clock.now()).toISOString(), profile, from, to, reason };
    notifier.onEvent(event);
  };
  return { clock, sender, notifier, logs, settings, emit };
}

Deno.test("a crash-looping profile for 2 minutes of fake time: 3 notifications that account for every failure", async () => {
  const s = setup();
  // kubefwd dies 2 s after each start, is retried 1 s later and runs again 1 s after that: a 4 s cycle.
  let notifiable = 0;
  s.emit("dev", "starting", "running", "the forward answers");
  for (let t = 0; t < 120_000; t += 4000) {
    s.clock.advance(t === 0 ? 0 : 1000);
    s.emit("dev", "running", "backoff", "kubefwd killed by SIGKILL");
    notifiable++;
    s.clock.advance(1000);
    s.emit("dev", "backoff", "starting", "retry after backoff");
    s.clock.advance(1000);
    s.emit("dev", "starting", "running", "the forward answers");
    notifiable++; // a recovery
    s.clock.advance(1000);
  }
  s.clock.advance(60_000); // the last summary
  await s.notifier.idle();
  const sent = s.sender.sent;
  assert.deepEqual(sent.map((n) => n.kind), ["failed", "summary", "summary"]);
  assert.equal(sent[0].title, "dev: kubefwd failed, restarting");
  assert.equal(sent[0].body, "kubefwd killed by SIGKILL");
  const summarised = sent.slice(1).map((n) => Number(/^dev: (\d+) more changes$/.exec(n.title)?.[1]));
  assert.equal(1 + summarised[0] + summarised[1], notifiable, "every failure and recovery is accounted for");
  assert.match(sent[1].body, /^within 1m: failed \d+×, recovered \d+×; now /);
  assert.match(sent[2].body, /now running: the forward answers$/, "the last summary says where it stands");
  assert.equal(s.clock.pending, 0, "no wake-up left once everything was told");
});

Deno.test("profiles are rate-limited independently", async () => {
  const s = setup();
  s.emit("a", "running", "backoff");
  s.emit("b", "running", "degraded", "1 of 1 forwards down");
  s.emit("a", "backoff", "failed", "max attempts");
  await s.notifier.idle();
  assert.deepEqual(s.sender.sent.map((n) => `${n.profile} ${n.kind}`), ["a failed", "b degraded"]);
  s.clock.advance(60_000);
  await s.notifier.idle();
  assert.deepEqual(s.sender.sent.map((n) => `${n.profile} ${n.kind}`), [
    "a failed",
    "b degraded",
    "a summary",
  ]);
});

Deno.test("disabled, or a kind not chosen: nothing is sent and no timer is armed", async () => {
  const off = setup({ enabled: false });
  off.emit("a", "running", "backoff");
  assert.equal(off.sender.sent.length, 0);
  const onlyFailed = setup({ on: ["failed"] });
  onlyFailed.emit("a", "running", "degraded");
  onlyFailed.emit("a", "degraded", "running");
  await onlyFailed.notifier.idle();
  assert.equal(onlyFailed.sender.sent.length, 0);
  assert.equal(onlyFailed.clock.pending, 0);
  // Turned on by a reload: the next failure is sent.
  off.settings.enabled = true;
  off.emit("a", "starting", "failed");
  await off.notifier.idle();
  assert.deepEqual(off.sender.sent.map((n) => n.kind), ["failed"]);
});

Deno.test("a sender problem is logged once as a warning, then at debug level; supervision never waits", async () => {
  const s = setup({ minIntervalMs: 1000 });
  s.sender.outcome = { ok: false, problem: "missing_helper", message: "notify-send is not on PATH" };
  for (let i = 0; i < 3; i++) {
    s.emit("a", "running", "backoff");
    s.emit("a", "backoff", "running");
    await s.notifier.idle();
    s.clock.advance(1000);
  }
  await s.notifier.idle();
  const warnings = s.logs.filter(([level]) => level === "warn");
  assert.equal(warnings.length, 1);
  assert.match(warnings[0][1], /notify-send is not on PATH; notifications are skipped until it is fixed/);
  assert.ok(s.logs.filter(([level]) => level === "debug").length >= 2);
});

Deno.test("a hung sender: onEvent returns at once, the queue is bounded, close cancels the summaries", async () => {
  const s = setup({ minIntervalMs: 1 });
  s.sender.hold = true;
  for (let i = 0; i < MAX_QUEUED + 10; i++) {
    s.emit(`p${i}`, "running", "backoff"); // each profile has its own interval: all are due
  }
  assert.equal(s.sender.sent.length, 1, "one helper at a time");
  assert.ok(s.logs.some(([, m]) => m.includes("desktop notification dropped")));
  s.emit("p0", "backoff", "running");
  assert.equal(s.clock.pending, 1, "p0's summary waits");
  s.notifier.close();
  assert.equal(s.clock.pending, 0);
  s.sender.release();
  await s.notifier.idle();
  assert.equal(s.sender.sent.length, 1 + MAX_QUEUED, "the queued ones went out, the dropped ones did not");
});
