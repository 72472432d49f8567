import assert from "node:assert/strict";
import { checkGlob, globMatch, globToRegExp, impossibleServiceChars } from "./glob.ts";

Deno.test("globMatch supports *, ?, classes, ranges and negation", () => {
  const cases: [string, string, boolean][] = [
    ["legacy-*", "legacy-api", true],
    ["legacy-*", "legacy-", true],
    ["legacy-*", "new-legacy-api", false],
    ["db-?", "db-1", true],
    ["db-?", "db-12", false],
    ["[abc]-svc", "b-svc", true],
    ["[abc]-svc", "d-svc", false],
    ["svc-[0-9]", "svc-7", true],
    ["svc-[!0-9]", "svc-7", false],
    ["svc-[!0-9]", "svc-x", true],
    ["svc-[^0-9]", "svc-x", true],
    ["a\\b*", "a\\bc", true], // backslash is an ordinary character
    ["a.b", "axb", false],
    ["*", "anything", true],
    ["x]", "x]", true],
  ];
  for (const [pattern, name, want] of cases) {
    assert.equal(globMatch(pattern, name), want, `${pattern} ~ ${name}`);
  }
});

Deno.test("checkGlob reports syntax errors with their index", () => {
  assert.equal(checkGlob("legacy-*"), undefined);
  const cases: [string, RegExp, number][] = [
    ["", /empty pattern/, 0],
    ["legacy-[abc", /unterminated "\["/, 7],
    ["x[]", /empty character class/, 1],
    ["[!]", /empty character class/, 0],
    ["[z-a]", /reversed range "z-a"/, 1],
  ];
  for (const [pattern, re, index] of cases) {
    const err = checkGlob(pattern);
    assert.ok(err, pattern);
    assert.match(err.message, re);
    assert.equal(err.index, index, pattern);
  }
  assert.throws(() => globToRegExp("[x"), /invalid glob/);
});

Deno.test("impossibleServiceChars flags literals no service name contains", () => {
  assert.deepEqual(impossibleServiceChars("Legacy-*"), ["L"]);
  assert.deepEqual(impossibleServiceChars("api.v1_*"), [".", "_"]);
  assert.deepEqual(impossibleServiceChars("[A-Z]*"), []);
  assert.deepEqual(impossibleServiceChars("legacy-*"), []);
  assert.deepEqual(impossibleServiceChars("a\\*"), ["\\"]);
});
