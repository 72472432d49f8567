import assert from "node:assert/strict";
import { stripAnsi } from "../kubefwd/output.ts";
import { codeFrame, formatDiagnosticLine, formatHuman, keyPathText, toValidateJson } from "./format.ts";
import type { LoadResult } from "./types.ts";

Deno.test("keyPathText: dots, indices, quoting of ambiguous segments", () => {
  assert.equal(keyPathText([]), "");
  assert.equal(keyPathText(["profiles", "dev", "namespaces", 1]), "profiles.dev.namespaces[1]");
  assert.equal(keyPathText(["profiles", "a b", "x"]), 'profiles."a b".x');
  assert.equal(keyPathText(["profiles", "a.b"]), 'profiles."a.b"');
});

Deno.test("formatDiagnosticLine: file:line:col: severity: path: message", () => {
  const d = { path: ["daemon", "log_levl"], line: 2, column: 3, message: "unknown key" };
  assert.equal(formatDiagnosticLine("c.yaml", d, "error"), "c.yaml:2:3: error: daemon.log_levl: unknown key");
  assert.equal(
    formatDiagnosticLine("c.yaml", { path: [], message: "file mode 0644" }, "warning"),
    "c.yaml: warning: file mode 0644",
  );
  const colored = formatDiagnosticLine("c.yaml", d, "error", true);
  assert.ok(colored.includes("\x1b[31;1merror\x1b[0m"));
  assert.equal(stripAnsi(colored), "c.yaml:2:3: error: daemon.log_levl: unknown key");
});

Deno.test("codeFrame points at the column, keeping tabs for alignment", () => {
  assert.deepEqual(codeFrame("a: 1\n\tb: x\n", 2, 5), [" 2 | \tb: x", "   | \t   ^"]);
  assert.deepEqual(codeFrame("a\n", 9, 1), [], "no frame past the end");
  assert.deepEqual(codeFrame("a\n\n", 2, 1), [], "no frame for a blank line");
  const lines = Array.from({ length: 12 }, (_, i) => `l${i + 1}`).join("\n");
  assert.deepEqual(codeFrame(lines, 3, 2), ["  3 | l3", "    |  ^"], "gutter fits the widest line number");
});

Deno.test("formatHuman: errors, then warnings, then a summary", () => {
  const result: LoadResult = {
    file: "c.yaml",
    errors: [{ path: ["a"], line: 1, column: 1, message: "bad" }],
    warnings: [{ path: [], message: "mode" }],
  };
  assert.equal(
    formatHuman(result, { source: "a: 1\n" }),
    [
      "c.yaml:1:1: error: a: bad",
      " 1 | a: 1",
      "   | ^",
      "c.yaml: warning: mode",
      "1 error and 1 warning in c.yaml",
    ]
      .join("\n"),
  );
  const ok: LoadResult = {
    file: "c.yaml",
    errors: [],
    warnings: [],
    config: {
      path: "/c.yaml",
      daemon: { logLevel: "info", logFile: "", pidFile: "", socketPath: "", stateDir: "" },
      kubefwd: { path: "kubefwd", privilege: "auto", extraArgs: [], hostsPath: "", stopTimeoutMs: 1 },
      profiles: [],
    },
  };
  assert.equal(formatHuman(ok), "c.yaml: valid (0 profiles, 0 enabled)");
});

Deno.test("toValidateJson has a fixed shape with null for unknown positions", () => {
  const json = toValidateJson({
    file: "c.yaml",
    errors: [{ path: ["a", 0], line: 3, column: 4, message: "m" }],
    warnings: [{ path: [], message: "w" }],
  });
  assert.deepEqual(json, {
    valid: false,
    errors: [{ path: ["a", 0], line: 3, column: 4, message: "m" }],
    warnings: [{ path: [], line: null, column: null, message: "w" }],
  });
  assert.equal(toValidateJson({ file: "x", errors: [], warnings: [] }).valid, true);
});
