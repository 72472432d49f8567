import assert from "node:assert/strict";
import { isRecord } from "./is_record.ts";

Deno.test("isRecord: objects yes; null, arrays and primitives no", () => {
  assert.equal(isRecord({}), true);
  assert.equal(isRecord({ a: 1 }), true);
  assert.equal(isRecord(JSON.parse('{"x":[1]}')), true);
  for (const v of [null, undefined, [], [1], "x", 1, true]) assert.equal(isRecord(v), false, String(v));
});
