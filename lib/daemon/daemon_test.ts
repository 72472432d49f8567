import assert from "node:assert/strict";
import { fitInFrame } from "./daemon.ts";
import type { LogEntry } from "../supervisor/types.ts";

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
