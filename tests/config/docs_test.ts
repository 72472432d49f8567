/**
 * Keeps docs/config-reference.md in sync with the schema: every schema key has exactly one table row
 * whose type and default match, and every documented key exists in the schema.
 */
import assert from "node:assert/strict";
import { schemaKeys } from "../../lib/config/schema.ts";

const DOC = new URL("../../docs/config-reference.md", import.meta.url);

interface Row {
  key: string;
  type: string;
  default: string;
  meaning: string;
  line: number;
}

function tableRows(markdown: string): Row[] {
  const rows: Row[] = [];
  markdown.split("\n").forEach((text, i) => {
    const m = /^\|\s*`([^`]+)`\s*\|(.*)\|\s*$/.exec(text);
    if (!m) return;
    const cells = m[2].split(/(?<!\\)\|/).map((c) => c.trim());
    assert.equal(cells.length, 3, `line ${i + 1}: expected 4 cells`);
    rows.push({ key: m[1], type: cells[0], default: cells[1], meaning: cells[2], line: i + 1 });
  });
  return rows;
}

const POLICY_OVERRIDE = /^profiles\.<name>\.(retry|health|forward_failures)\.(.+)$/;

Deno.test("config reference documents every schema key, and only those", async () => {
  const rows = tableRows(await Deno.readTextFile(DOC));
  const keys = schemaKeys();
  const documented = new Map<string, Row>();
  for (const row of rows) {
    assert.ok(!documented.has(row.key), `${row.key} is documented twice (line ${row.line})`);
    documented.set(row.key, row);
  }
  const schemaPaths = new Set(keys.map((k) => k.path));
  const undocumented = keys.map((k) => k.path).filter((p) => !documented.has(p));
  const unknown = [...documented.keys()].filter((k) => !schemaPaths.has(k));
  assert.deepEqual(undocumented, [], "schema keys missing from docs/config-reference.md");
  assert.deepEqual(unknown, [], "docs/config-reference.md documents keys the schema does not have");

  for (const { path, spec } of keys) {
    const row = documented.get(path)!;
    assert.ok(row.type.startsWith(spec.type), `${path}: type "${row.type}" should start with "${spec.type}"`);
    for (const v of spec.values ?? []) {
      assert.ok(row.type.includes(`\`${v}\``), `${path}: value ${v} undocumented`);
    }
    const override = POLICY_OVERRIDE.exec(path);
    const expectedDefault = override
      ? `inherits \`defaults.${override[1]}.${override[2]}\``
      : spec.required
      ? "required"
      : spec.default !== undefined
      ? `\`${spec.default}\``
      : "—";
    assert.equal(row.default, expectedDefault, `${path}: default`);
    assert.ok(row.meaning.length > 10, `${path}: meaning is missing`);
  }
});
