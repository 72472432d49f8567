import assert from "node:assert/strict";
import { fitInFrame, followLog } from "./logs.ts";
import type { HandlerContext } from "../../ipc/server.ts";
import type { LogEntry } from "../../supervisor/types.ts";
import { withDeadline } from "../../../tests/deadline.ts";

Deno.test("fitInFrame keeps the newest log entries that fit in one reply frame", () => {
  const entry = (i: number): LogEntry => ({
    at: "2026-01-01T00:00:00.000Z",
    level: "info",
    source: "stdout",
    profile: "p",
    message: `${i} ${"x".repeat(8000)}`,
  });
  const entries = Array.from({ length: 2000 }, (_, i) => entry(i));
  const kept = fitInFrame(entries);
  assert.ok(kept.length > 10 && kept.length < 2000);
  assert.equal(kept.at(-1), entries.at(-1), "newest kept");
  assert.ok(JSON.stringify({ entries: kept }).length < 1024 * 1024);
  assert.deepEqual(fitInFrame(entries.slice(0, 3)), entries.slice(0, 3));
});

Deno.test("followLog: lines logged while the backlog is still being sent are streamed after it, none lost", async () => {
  const entry = (message: string, profile = "p"): LogEntry => ({
    at: "2026-01-01T00:00:00.000Z",
    level: "info",
    source: "stdout",
    profile,
    message,
  });
  const listeners = new Set<(e: LogEntry) => void>();
  const log = {
    subscribe(listener: (e: LogEntry) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const publish = (e: LogEntry) => listeners.forEach((l) => l(e));
  const sent: string[] = [];
  const aborter = new AbortController();
  // The follower goes live (streams instead of queueing) right before it starts waiting for the abort.
  let goneLive!: () => void;
  const live = new Promise<void>((resolve) => goneLive = resolve);
  const signal = aborter.signal;
  const addEventListener = signal.addEventListener.bind(signal);
  signal.addEventListener = ((...args: Parameters<typeof addEventListener>) => {
    addEventListener(...args);
    goneLive();
  }) as typeof addEventListener;
  let releaseFirst!: () => void;
  const firstSent = new Promise<void>((resolve) => releaseFirst = resolve);
  let sends = 0;
  const ctx = {
    signal,
    requestId: 1,
    send: () => Promise.resolve(),
    async sendLog(e: LogEntry) {
      sent.push(e.message);
      sends++;
      if (sends === 1) { // a slow client: while the first past line is in flight, more is logged
        publish(entry("new-1"));
        publish(entry("other profile", "q"));
        await firstSent;
        publish(entry("new-2"));
      }
    },
  } as HandlerContext;
  const following = followLog(log, "p", [entry("past-1"), entry("past-2")], ctx);
  assert.deepEqual(sent, ["past-1"], "the next line waits for the one in flight");
  releaseFirst();
  await withDeadline(live, 5000, "the follower to send its backlog and go live");
  assert.deepEqual(sent, ["past-1", "past-2", "new-1", "new-2"]);
  publish(entry("live-1"));
  aborter.abort();
  assert.deepEqual(await following, { entries: [] });
  assert.deepEqual(sent, ["past-1", "past-2", "new-1", "new-2", "live-1"]);
  assert.equal(listeners.size, 0, "unsubscribed when the client went away");
  publish(entry("after"));
  assert.equal(sent.length, 5);
});
