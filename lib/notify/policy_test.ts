import assert from "node:assert/strict";
import type { NotificationSettings } from "../config/types.ts";
import type { ProfileState, TransitionEvent } from "../supervisor/types.ts";
import { FRESH_MEMORY, notificationKind, onTransition, onWake, type ProfileMemory } from "./policy.ts";

const T0 = Date.UTC(2026, 0, 1);
const settings: NotificationSettings = {
  enabled: true,
  on: ["failed", "degraded", "recovered"],
  minIntervalMs: 60_000,
};

function ev(from: ProfileState, to: ProfileState, reason = "why", detail?: string): TransitionEvent {
  return { at: new Date(T0).toISOString(), profile: "dev", from, to, reason, ...(detail ? { detail } : {}) };
}

Deno.test("notificationKind: table", () => {
  const rows: [ProfileState, ProfileState, boolean, string | undefined][] = [
    // [from, to, troubled before, kind]
    ["running", "backoff", false, "failed"],
    ["starting", "failed", false, "failed"],
    ["running", "degraded", false, "degraded"],
    ["degraded", "running", true, "recovered"],
    ["starting", "running", true, "recovered"],
    ["starting", "running", false, undefined], // a first start is no recovery
    ["stopped", "starting", true, undefined],
    ["running", "stopping", false, undefined],
    ["stopping", "stopped", true, undefined],
    ["backoff", "starting", true, undefined],
  ];
  for (const [from, to, troubled, kind] of rows) {
    assert.equal(notificationKind(ev(from, to), troubled), kind, `${from} → ${to} troubled=${troubled}`);
  }
});

Deno.test("onTransition / onWake: table of steps", () => {
  type Row = {
    name: string;
    memory: ProfileMemory;
    event?: TransitionEvent;
    at: number;
    on?: NotificationSettings["on"];
    sends?: { kind: string; title: string; body?: string; urgency?: string };
    wakeAt?: number;
    memoryAfter: ProfileMemory;
  };
  const rows: Row[] = [
    {
      name: "a first failure is sent at once",
      memory: FRESH_MEMORY,
      event: ev("running", "backoff", "kubefwd killed by SIGKILL", "retry 1 in 1000 ms"),
      at: T0,
      sends: {
        kind: "failed",
        title: "dev: kubefwd failed, restarting",
        body: "kubefwd killed by SIGKILL (retry 1 in 1000 ms)",
        urgency: "critical",
      },
      memoryAfter: { troubled: true, lastSentAt: T0 },
    },
    {
      name: "within the interval: counted, wake-up at its end",
      memory: { troubled: true, lastSentAt: T0 },
      event: ev("starting", "running", "the forward answers"),
      at: T0 + 5000,
      wakeAt: T0 + 60_000,
      memoryAfter: {
        troubled: false,
        lastSentAt: T0,
        suppressed: { counts: { recovered: 1 }, last: ev("starting", "running", "the forward answers") },
      },
    },
    {
      name: "a kind not in `on` changes the memory only",
      memory: FRESH_MEMORY,
      event: ev("running", "degraded", "1 of 2 forwards down"),
      at: T0,
      on: ["failed"],
      memoryAfter: { troubled: true },
    },
    {
      name: "a kind not in `on` keeps a pending summary's wake-up",
      memory: {
        troubled: true,
        lastSentAt: T0,
        suppressed: { counts: { failed: 2 }, last: ev("x" as ProfileState, "backoff") },
      },
      event: ev("backoff", "starting"),
      at: T0 + 10_000,
      wakeAt: T0 + 60_000,
      memoryAfter: {
        troubled: true,
        lastSentAt: T0,
        suppressed: { counts: { failed: 2 }, last: ev("x" as ProfileState, "backoff") },
      },
    },
    {
      name: "after the interval, an event with a summary pending is folded into the summary",
      memory: {
        troubled: true,
        lastSentAt: T0,
        suppressed: { counts: { failed: 2 }, last: ev("running", "backoff") },
      },
      event: ev("starting", "running", "all forwards up"),
      at: T0 + 61_000,
      sends: {
        kind: "summary",
        title: "dev: 3 more changes",
        body: "within 1m: failed 2×, recovered 1×; now running: all forwards up",
        urgency: "low",
      },
      memoryAfter: { troubled: false, lastSentAt: T0 + 61_000 },
    },
    {
      name: "stopping by hand ends the trouble without a recovery",
      memory: { troubled: true, lastSentAt: T0 },
      event: ev("stopping", "stopped", "stop requested"),
      at: T0 + 100_000,
      memoryAfter: { troubled: false, lastSentAt: T0 },
    },
    {
      name: "wake-up with a summary: sent, memory cleared",
      memory: {
        troubled: true,
        lastSentAt: T0,
        suppressed: {
          counts: { degraded: 1 },
          last: ev("running", "degraded", "1 of 1 forwards down", "api:80"),
        },
      },
      at: T0 + 60_000,
      sends: {
        kind: "summary",
        title: "dev: 1 more change",
        body: "within 1m: degraded 1×; now degraded: 1 of 1 forwards down (api:80)",
        urgency: "normal",
      },
      memoryAfter: { troubled: true, lastSentAt: T0 + 60_000 },
    },
    {
      name: "an early wake-up waits for the interval's end",
      memory: {
        troubled: true,
        lastSentAt: T0,
        suppressed: { counts: { failed: 1 }, last: ev("running", "backoff") },
      },
      at: T0 + 30_000,
      wakeAt: T0 + 60_000,
      memoryAfter: {
        troubled: true,
        lastSentAt: T0,
        suppressed: { counts: { failed: 1 }, last: ev("running", "backoff") },
      },
    },
    {
      name: "a wake-up with nothing suppressed does nothing",
      memory: { troubled: false, lastSentAt: T0 },
      at: T0 + 60_000,
      memoryAfter: { troubled: false, lastSentAt: T0 },
    },
  ];
  for (const row of rows) {
    const s = { ...settings, on: row.on ?? settings.on };
    const step = row.event ? onTransition(row.memory, row.event, row.at, s) : onWake(row.memory, row.at, s);
    assert.deepEqual(step.memory, row.memoryAfter, row.name);
    assert.equal(step.wakeAt, row.wakeAt, `${row.name}: wakeAt`);
    if (!row.sends) {
      assert.equal(step.send, undefined, `${row.name}: nothing sent`);
      continue;
    }
    assert.ok(step.send, `${row.name}: sends`);
    for (const [key, value] of Object.entries(row.sends)) {
      assert.equal(step.send[key as keyof typeof step.send], value, `${row.name}: ${key}`);
    }
  }
});
