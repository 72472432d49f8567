import assert from "node:assert/strict";
import { WriteHealth } from "./write_health.ts";

Deno.test("WriteHealth: the listener hears of changes only, and `since` is when writes began to fail", () => {
  let now = "2026-01-01T00:00:00.000Z";
  let changes = 0;
  const health = new WriteHealth("/s/state.json", () => now, () => changes++);
  health.succeeded();
  assert.deepEqual([health.state, changes], [{ ok: true }, 0]);

  health.failed(new Error("disk full"));
  const failing = { ok: false, error: "cannot write /s/state.json: disk full", since: now };
  assert.deepEqual([health.state, changes], [failing, 1]);

  now = "2026-01-01T00:00:10.000Z";
  health.failed(new Error("disk full")); // the retry fails alike: no news
  assert.deepEqual([health.state, changes], [failing, 1]);

  health.failed("read-only file system"); // another error: news, but the failure began earlier
  assert.deepEqual([health.state, changes], [{
    ok: false,
    error: "cannot write /s/state.json: read-only file system",
    since: "2026-01-01T00:00:00.000Z",
  }, 2]);

  health.succeeded();
  health.succeeded();
  assert.deepEqual([health.state, changes], [{ ok: true }, 3]);
  health.failed(new Error("disk full"));
  assert.equal(health.state.since, now, "a new failure starts its own clock");
});
