import assert from "node:assert/strict";
import { FakeClock } from "../testing/fake_clock.ts";
import { ProfileJournal } from "./profile_journal.ts";
import { newPersistedProfile, ProfileRecord } from "./profile_record.ts";
import type { LogEntry, TransitionEvent } from "./types.ts";

function journal(emit: (e: TransitionEvent) => void = () => {}) {
  const clock = new FakeClock();
  const record = new ProfileRecord(newPersistedProfile(), () => {}, (t) => t.replaceAll("s3cret", "***"));
  const lines: LogEntry[] = [];
  const j = new ProfileJournal("web", { clock, record, emit, log: { write: (e) => lines.push(e) } });
  return { j, record, lines };
}

Deno.test("ProfileJournal: a transition is recorded masked, logged at its level and emitted", () => {
  const emitted: TransitionEvent[] = [];
  const { j, record, lines } = journal((e) => emitted.push(e));
  j.transitioned("starting", "backoff", "exit code 1", "token s3cret");
  j.transitioned("backoff", "failed", "permanent error");
  assert.deepEqual(record.events.map((e) => [e.from, e.to, e.detail]), [
    ["starting", "backoff", "token ***"],
    ["backoff", "failed", undefined],
  ]);
  assert.deepEqual(emitted, [...record.events]);
  assert.deepEqual(lines.map((l) => [l.level, l.profile, l.source]), [
    ["warn", "web", "daemon"],
    ["error", "web", "daemon"],
  ]);
  assert.match(lines[1].message, /^backoff → failed: permanent error$/);
});

Deno.test("ProfileJournal: a counted restart's reason goes on the next transition only", () => {
  const { j, record } = journal();
  j.countRestart("dead_forward");
  j.transitioned("running", "stopping", "restarting: dead forward");
  j.transitioned("stopping", "starting", "restart");
  assert.equal(record.counters.restarts, 1);
  assert.deepEqual(record.events.map((e) => e.restart), ["dead_forward", undefined]);
});

Deno.test("ProfileJournal: a throwing listener is logged as an internal error, the event stays recorded", () => {
  const { j, record, lines } = journal(() => {
    throw new Error("listener broke");
  });
  j.transitioned("stopped", "starting", "start");
  assert.equal(record.events.length, 1);
  assert.equal(lines.at(-1)?.level, "error");
  assert.match(lines.at(-1)!.message, /^internal error in an event listener: listener broke/);
});
