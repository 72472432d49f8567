import assert from "node:assert/strict";
import { isoTime } from "./iso_time.ts";

Deno.test("isoTime: epoch milliseconds as ISO 8601 UTC", () => {
  assert.equal(isoTime(0), "1970-01-01T00:00:00.000Z");
  assert.equal(isoTime(Date.UTC(2026, 11, 2, 5, 6, 7, 89)), "2026-12-02T05:06:07.089Z");
});
