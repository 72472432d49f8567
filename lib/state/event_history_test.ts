import assert from "node:assert/strict";
import type { ProfileState, TransitionEvent } from "../supervisor/types.ts";
import { FakeClock } from "../testing/fake_clock.ts";
import { waitFor } from "../util/async.ts";
import {
  EventHistory,
  type HistoryFiles,
  type HistoryHealth,
  MAX_UNWRITTEN,
  parseHistoryLine,
  readHistoryFiles,
  realHistoryFiles,
} from "./event_history.ts";

const T0 = Date.UTC(2026, 0, 1);

function ev(i: number, profile = "dev", to: ProfileState = "running"): TransitionEvent {
  return { at: new Date(T0 + i * 1000).toISOString(), profile, from: "starting", to, reason: `event ${i}` };
}

/** `read` that expects no read error. */
async function eventsOf(
  h: EventHistory,
  filter: Parameters<EventHistory["read"]>[0],
): Promise<TransitionEvent[]> {
  const r = await h.read(filter);
  assert.equal(r.error, undefined);
  return r.events;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kfd-history-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("events persist across instances, filtered by profile, time and count; private file", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/events.jsonl`;
    const first = new EventHistory({ path, clock: new FakeClock() });
    for (let i = 0; i < 6; i++) first.append(ev(i, i % 2 === 0 ? "dev" : "ops"));
    first.append({ ...ev(6), detail: "api:80", cause: "pod api-1: forward down" });
    await first.close(5000);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);

    const second = new EventHistory({ path, clock: new FakeClock() });
    const all = await eventsOf(second, { limit: 100 });
    assert.deepEqual(all.map((e) => e.reason), [0, 1, 2, 3, 4, 5, 6].map((i) => `event ${i}`));
    assert.equal(all[6].cause, "pod api-1: forward down");
    assert.deepEqual((await eventsOf(second, { profile: "ops", limit: 100 })).map((e) => e.reason), [
      "event 1",
      "event 3",
      "event 5",
    ]);
    assert.deepEqual((await eventsOf(second, { sinceMs: T0 + 4000, limit: 100 })).map((e) => e.reason), [
      "event 4",
      "event 5",
      "event 6",
    ]);
    assert.deepEqual((await eventsOf(second, { limit: 2 })).map((e) => e.reason), ["event 5", "event 6"]);
    assert.deepEqual(await eventsOf(second, { limit: 0 }), []);
  });
});

Deno.test("bounded on disk: rotated at maxBytes into one older file; the newest events are kept", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/events.jsonl`;
    const h = new EventHistory({ path, clock: new FakeClock(), maxBytes: 2000 });
    for (let i = 0; i < 200; i++) h.append(ev(i));
    await h.close(5000);
    const sizes = [await Deno.stat(path), await Deno.stat(`${path}.1`)].map((s) => s.size);
    assert.ok(sizes.every((s) => s <= 2000), `${sizes}`);
    const kept = await eventsOf(h, { limit: 1000 });
    assert.equal(kept.at(-1)!.reason, "event 199");
    assert.ok(kept.length < 200 && kept.length > 10, `${kept.length} kept`);
    const reasons = kept.map((e) => Number(e.reason.split(" ")[1]));
    assert.deepEqual(reasons, reasons.toSorted((a, b) => a - b), "in order, no gaps inside");
    assert.equal(reasons.at(-1)! - reasons[0] + 1, reasons.length);
  });
});

Deno.test("torn and foreign lines are skipped", () => {
  assert.equal(parseHistoryLine('{"at":"2026-01-01T00:00:00.000Z","profile":"dev","from":"st'), undefined);
  assert.equal(parseHistoryLine("not json"), undefined);
  assert.equal(
    parseHistoryLine('{"at":"x","profile":"dev","from":"stopped","to":"starting","reason":"r"}'),
    undefined,
  );
  assert.equal(
    parseHistoryLine('{"at":"2026-01-01T00:00:00Z","profile":"d","from":"up","to":"x","reason":"r"}'),
    undefined,
  );
  assert.deepEqual(
    parseHistoryLine(
      '{"at":"2026-01-01T00:00:00Z","profile":"d","from":"stopped","to":"starting","reason":"r","x":1}',
    ),
    { at: "2026-01-01T00:00:00Z", profile: "d", from: "stopped", to: "starting", reason: "r" },
  );
});

Deno.test("a failing disk: reported once, events kept in memory and readable, retried until it works", async () => {
  await withDir(async (dir) => {
    const clock = new FakeClock(T0);
    let broken = true;
    const files: HistoryFiles = {
      ...realHistoryFiles,
      append: (p, d) =>
        broken ? Promise.reject(new Error("No space left on device")) : realHistoryFiles.append(p, d),
    };
    const changes: HistoryHealth[] = [];
    const h = new EventHistory({
      path: `${dir}/events.jsonl`,
      clock,
      files,
      retryMs: 10_000,
      onHealthChange: (x) => changes.push(x),
    });
    h.append(ev(0));
    await waitFor(() => !h.health.ok, 3000);
    h.append(ev(1));
    h.append(ev(2));
    assert.deepEqual(changes, [{
      ok: false,
      file: `${dir}/events.jsonl`,
      error: `cannot write ${dir}/events.jsonl: No space left on device`,
      since: new Date(T0).toISOString(),
    }]);
    assert.deepEqual((await eventsOf(h, { limit: 10 })).map((e) => e.reason), [
      "event 0",
      "event 1",
      "event 2",
    ]);
    clock.advance(10_000); // retried, fails the same way: not reported again
    await waitFor(() => clock.pending === 1, 3000);
    assert.equal(changes.length, 1);
    broken = false;
    clock.advance(10_000);
    await waitFor(() => h.health.ok, 3000);
    assert.deepEqual(changes.at(-1), { ok: true, file: `${dir}/events.jsonl` });
    assert.deepEqual((await readHistoryFiles(h.path, { limit: 10 })).map((e) => e.reason), [
      "event 0",
      "event 1",
      "event 2",
    ]);
    await h.close(5000);
  });
});

Deno.test("a hung disk: append returns at once, memory stays bounded, followers still get every event", async () => {
  const files: HistoryFiles = {
    ...realHistoryFiles,
    append: () => new Promise(() => {}),
    size: () => Promise.resolve(0),
  };
  const h = new EventHistory({ path: "/nonexistent/events.jsonl", clock: new FakeClock(), files });
  const followed: string[] = [];
  const unsubscribe = h.subscribe((e) => followed.push(e.reason));
  for (let i = 0; i < MAX_UNWRITTEN + 50; i++) h.append(ev(i));
  unsubscribe();
  h.append(ev(99_999));
  assert.equal(followed.length, MAX_UNWRITTEN + 50);
  const held = await eventsOf(h, { limit: 1_000_000 });
  assert.ok(
    held.length <= MAX_UNWRITTEN + 1,
    `${held.length} held: at most the queue and one batch in flight`,
  );
  assert.equal(held.at(-1)!.reason, "event 99999");
  await assert.rejects(h.close(50), /did not finish within 50 ms/);
});
