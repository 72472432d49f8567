import assert from "node:assert/strict";
import { escapeControl, jsonWithoutRawControls } from "./terminal_text.ts";

Deno.test("escapeControl: OSC 0/52, ESC c and C1 CSI are shown, not obeyed; tabs and text stay", () => {
  const evil = "a\x1b]0;t\x07b\x1b]52;c;eA==\x07c\x1bcd\u009b2Je\tf\ng\u00e9";
  assert.equal(
    escapeControl(evil),
    "a\\x1b]0;t\\x07b\\x1b]52;c;eA==\\x07c\\x1bcd\\x9b2Je\tf\\ngé",
  );
});

Deno.test("jsonWithoutRawControls: JSON keeps the text but carries no raw DEL/C1 character", () => {
  const text = "x\u009b2J\u007fy\u2028z";
  const json = jsonWithoutRawControls(JSON.stringify({ m: text }));
  assert.doesNotMatch(json, /[\u007f-\u009f\u2028]/);
  assert.equal(JSON.parse(json).m, text);
});
