import assert from "node:assert/strict";
import { dirname } from "./path.ts";

Deno.test("dirname: the results of @std/path/posix dirname", () => {
  const rows: [string, string][] = [
    ["/a/b/c", "/a/b"],
    ["/a/b/c.yaml", "/a/b"],
    ["/a", "/"],
    ["/", "/"],
    ["//", "/"],
    ["///a", "/"],
    ["/a/b/", "/a"],
    ["/a/b//", "/a"],
    ["/a//b", "/a"],
    ["/a/../b/c", "/a/../b"],
    ["a/b", "a"],
    ["a//b", "a"],
    ["a", "."],
    ["a/", "."],
    ["", "."],
    [".", "."],
    ["./a", "."],
    ["../a", ".."],
  ];
  for (const [path, want] of rows) assert.equal(dirname(path), want, JSON.stringify(path));
});
