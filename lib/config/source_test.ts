import assert from "node:assert/strict";
import { formatOf, type SourceNode } from "./source.ts";
import { parseTomlSource, scanTomlPositions } from "./toml_source.ts";
import { parseYamlSource } from "./yaml_source.ts";

function get(node: SourceNode | undefined, ...path: (string | number)[]): SourceNode {
  let n = node!;
  for (const seg of path) {
    if (n.kind === "map") n = n.entries.find((e) => e.key === seg)!.value;
    else if (n.kind === "seq") n = n.items[seg as number];
    assert.ok(n, `missing ${path.join(".")}`);
  }
  return n;
}

Deno.test("formatOf: TOML only for .toml", () => {
  assert.equal(formatOf("/x/config.toml"), "toml");
  assert.equal(formatOf("/x/CONFIG.TOML"), "toml");
  assert.equal(formatOf("/x/config.yaml"), "yaml");
  assert.equal(formatOf("/x/config"), "yaml");
});

Deno.test("YAML: values and positions of keys, values and list items", () => {
  const p = parseYamlSource("a:\n  b: [x, 2, true]\n  c: ~\n  'd e': 1.5\n");
  assert.deepEqual(p.errors, []);
  const root = p.root!;
  assert.equal(root.kind, "map");
  const a = get(root, "a");
  assert.equal(a.kind, "map");
  if (a.kind !== "map") return;
  assert.deepEqual(a.entries.map((e) => [e.key, e.keyPos]), [
    ["b", { line: 2, column: 3 }],
    ["c", { line: 3, column: 3 }],
    ["d e", { line: 4, column: 3 }],
  ]);
  assert.deepEqual(get(root, "a", "b", 1), { kind: "scalar", pos: { line: 2, column: 10 }, value: 2 });
  assert.deepEqual(get(root, "a", "b", 2), { kind: "scalar", pos: { line: 2, column: 13 }, value: true });
  assert.equal((get(root, "a", "c") as { value: unknown }).value, null);
  assert.equal((get(root, "a", "d e") as { value: unknown }).value, 1.5);
});

Deno.test("YAML: implicit null has no position of its own", () => {
  const p = parseYamlSource("a:\nb: 1\n");
  assert.deepEqual(get(p.root, "a"), { kind: "scalar", pos: undefined, value: null });
});

Deno.test("YAML: duplicate keys are reported with path and first position, and dropped", () => {
  const p = parseYamlSource("x:\n  k: 1\n  k: 2\n");
  assert.deepEqual(p.errors, [{
    path: ["x", "k"],
    line: 3,
    column: 3,
    message: 'duplicate key "k" (first defined at line 2)',
  }]);
  const x = get(p.root, "x");
  assert.equal(x.kind === "map" && x.entries.length, 1);
  assert.equal((get(p.root, "x", "k") as { value: unknown }).value, 1);
});

Deno.test("YAML: syntax errors carry positions and stop the walk", () => {
  const p = parseYamlSource("a: [1, 2\nb: 3\n");
  assert.equal(p.root, undefined);
  assert.ok(p.errors.length >= 1);
  assert.match(p.errors[0].message, /^YAML syntax error: /);
  assert.ok(p.errors[0].line !== undefined && p.errors[0].column !== undefined);
  assert.ok(!p.errors[0].message.includes("at line"), "the position is not repeated inside the message");
});

Deno.test("YAML: empty and comment-only documents are empty", () => {
  for (const text of ["", "\n\n", "# nothing\n"]) {
    const p = parseYamlSource(text);
    assert.equal(p.empty, true, JSON.stringify(text));
    assert.equal(p.root, undefined);
  }
});

Deno.test("YAML: aliases resolve, merge keys merge with explicit keys winning", () => {
  const p = parseYamlSource("base: &b\n  k: 1\n  m: 2\nuse:\n  <<: *b\n  m: 3\nlist: *b\n");
  assert.deepEqual(p.errors, []);
  const use = get(p.root, "use");
  assert.equal(use.kind, "map");
  if (use.kind !== "map") return;
  assert.deepEqual(use.entries.map((e) => e.key), ["m", "k"]);
  assert.equal((get(p.root, "use", "m") as { value: unknown }).value, 3);
  // Merged keys keep the anchor's positions: that is where the value is written.
  assert.deepEqual(use.entries[1].keyPos, { line: 2, column: 3 });
  // An alias value is positioned at its use site.
  assert.deepEqual(get(p.root, "list").pos, { line: 7, column: 7 });
});

Deno.test("YAML: alias expansion is bounded", () => {
  let text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (let i = 1; i < 8; i++) {
    text += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(", ")}]\n`;
  }
  const p = parseYamlSource(text);
  assert.ok(p.errors.some((e) => /more than 100000 nodes/.test(e.message)), JSON.stringify(p.errors));
});

Deno.test("YAML: non-string keys are errors", () => {
  const p = parseYamlSource("? [a]\n: 1\n");
  assert.match(p.errors[0].message, /keys must be plain strings/);
});

Deno.test("TOML: values with positions from the scanner", () => {
  const text = [
    "# comment",
    "[daemon]",
    'log_level = "info" # trailing',
    "",
    '[profiles."dev x"]',
    'namespaces = ["a", "b"]',
    'retry = { max_delay = "30s", jitter = 0.5 }',
    'health.interval = "5s"',
    "labels = [",
    '  "x=y",',
    "  'z',",
    "]",
    'multi = """',
    'still "string" [not a table]',
    '"""',
    "after = 1",
  ].join("\n");
  const p = parseTomlSource(text);
  assert.deepEqual(p.errors, []);
  const root = p.root!;
  const daemon = get(root, "daemon");
  assert.equal(daemon.kind === "map" && daemon.entries[0].keyPos?.line, 3);
  assert.deepEqual(get(root, "daemon", "log_level").pos, { line: 3, column: 13 });
  assert.deepEqual(get(root, "profiles", "dev x", "namespaces", 1).pos, { line: 6, column: 20 });
  assert.deepEqual(get(root, "profiles", "dev x", "retry", "jitter").pos, { line: 7, column: 39 });
  assert.deepEqual(get(root, "profiles", "dev x", "health", "interval").pos, { line: 8, column: 19 });
  assert.deepEqual(get(root, "profiles", "dev x", "labels", 1).pos, { line: 11, column: 3 });
  assert.deepEqual(get(root, "profiles", "dev x", "after").pos, { line: 16, column: 9 });
  const profiles = get(root, "profiles");
  assert.ok(profiles.kind === "map");
  assert.deepEqual(profiles.entries[0].keyPos, { line: 5, column: 11 });
});

Deno.test("TOML: array-of-tables headers are indexed", () => {
  const pos = scanTomlPositions("[[a]]\nx = 1\n[[a]]\nx = 2\n[a.b]\ny = 3\n");
  assert.deepEqual(pos.get(JSON.stringify(["a", 1, "x"]))?.valuePos, { line: 4, column: 5 });
  assert.deepEqual(pos.get(JSON.stringify(["a", 1, "b", "y"]))?.valuePos, { line: 6, column: 5 });
});

Deno.test("TOML: syntax errors and empty documents", () => {
  const bad = parseTomlSource('a = "x\n');
  assert.equal(bad.root, undefined);
  assert.deepEqual(bad.errors.map((e) => [e.line, e.column]), [[1, 7]]);
  assert.match(bad.errors[0].message, /^TOML syntax error: string is not closed/);
  const dup = parseTomlSource("a = 1\na = 2\n");
  assert.match(dup.errors[0].message, /redefine/);
  assert.deepEqual(parseTomlSource("# only\n").empty, true);
});

Deno.test("TOML scanner: nested inline tables and arrays, stray commas, unclosed brackets", () => {
  const pos = scanTomlPositions("a = { b = [1, , { c = 2 }], d = 3, }\ne = [[4], [5\nf = { g = 6\n");
  const at = (...path: (string | number)[]) => pos.get(JSON.stringify(path))?.valuePos;
  assert.deepEqual(at("a", "b", 1), { line: 1, column: 17 });
  assert.deepEqual(at("a", "b", 1, "c"), { line: 1, column: 23 });
  assert.deepEqual(at("a", "d"), { line: 1, column: 33 });
  assert.deepEqual(at("e", 1, 0), { line: 2, column: 12 });
  // The unclosed array swallows what follows as items, to the end of the text.
  assert.deepEqual(at("e", 1, 1), { line: 3, column: 1 });
  assert.equal(pos.has(JSON.stringify(["f"])), false);
});
