import assert from "node:assert/strict";
import { DurationError, formatDuration, parseDuration, tryParseDuration } from "./duration.ts";

Deno.test("parseDuration accepts Go-style durations", () => {
  const cases: [string, number][] = [
    ["500ms", 500],
    ["1s", 1000],
    ["2m", 120_000],
    ["1h30m", 5_400_000],
    ["1.5s", 1500],
    [".5s", 500],
    ["1h0m0s", 3_600_000],
    ["0", 0],
    ["0s", 0],
    ["-5s", -5000],
    ["+2s", 2000],
    [" 3s ", 3000],
    ["1m30s250ms", 90_250],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

Deno.test("parseDuration rejects bad input with a message naming the problem", () => {
  const cases: [string, RegExp][] = [
    ["", /empty/],
    ["10", /no unit/],
    ["5d", /days are not supported; use 120h/],
    ["5us", /sub-millisecond/],
    ["5x", /unknown unit "x"/],
    ["s", /invalid duration/],
    ["1s 2s", /invalid duration/],
    ["0.5ms", /whole number of milliseconds/],
    ["-", /invalid duration/],
    ["1e3s", /unknown unit "e"/],
    ["5 seconds", /unknown unit "seconds"; write 5s/],
    ["2 Minutes", /unknown unit "Minutes"; write 2m/],
    ["100msec", /unknown unit "msec"; write 100ms/],
    ["5 s", /a space before its unit; write 5s/],
  ];
  for (const [text, re] of cases) {
    assert.throws(
      () => parseDuration(text),
      (e: unknown) => e instanceof DurationError && re.test(e.message),
      text,
    );
  }
});

Deno.test("tryParseDuration reports instead of throwing", () => {
  assert.deepEqual(tryParseDuration("2s"), { ok: true, ms: 2000 });
  const bad = tryParseDuration("2");
  assert.equal(bad.ok, false);
});

Deno.test("formatDuration prints Go style and round-trips", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [500, "500ms"],
    [1000, "1s"],
    [1500, "1.5s"],
    [60_000, "1m"],
    [90_500, "1m30.5s"],
    [5_400_000, "1h30m"],
    [3_600_001, "1h0.001s"],
    [-2000, "-2s"],
  ];
  for (const [ms, text] of cases) {
    assert.equal(formatDuration(ms), text, String(ms));
    assert.equal(parseDuration(text), ms, text);
  }
});
