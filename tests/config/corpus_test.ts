/**
 * Table test over tests/fixtures/configs/{invalid,valid}: every config file has a sibling
 * `<name>.expected.json` listing each expected error and warning with its key path, line, column and a
 * message substring. The invalid corpus must produce exactly the listed errors; valid configs must
 * produce no errors and exactly the listed warnings (none when no expected file exists).
 *
 * Regenerate after deliberate message changes with `UPDATE_FIXTURES=1 deno test -A tests/config/`, then
 * review the diff: the expectations are the spec, not a snapshot to accept blindly.
 */
import assert from "node:assert/strict";
import { loadConfigFile } from "../../lib/config/load.ts";
import type { Diagnostic } from "../../lib/config/types.ts";
import { CONFIG_FIXTURES, FIXTURE_ENV, FIXTURE_HOME, fixtureFiles, withoutModeWarning } from "./helpers.ts";

interface Expected {
  path: (string | number)[];
  line: number | null;
  column: number | null;
  /** Substring the actual message must contain. */
  message: string;
}
interface ExpectedFile {
  errors: Expected[];
  warnings?: Expected[];
}

const UPDATE = Deno.env.get("UPDATE_FIXTURES") === "1";

function toExpected(d: Diagnostic): Expected {
  // Messages may quote absolute fixture paths; expectations keep only the machine-independent tail.
  const at = d.message.indexOf(CONFIG_FIXTURES);
  const message = at < 0 ? d.message : d.message.slice(at + CONFIG_FIXTURES.length);
  return { path: d.path, line: d.line ?? null, column: d.column ?? null, message };
}

function compare(kind: string, actual: Diagnostic[], expected: Expected[]): void {
  const shown = JSON.stringify(actual.map(toExpected), null, 1);
  assert.equal(actual.length, expected.length, `number of ${kind}; actual:\n${shown}`);
  expected.forEach((e, i) => {
    const a = actual[i];
    assert.deepEqual(a.path, e.path, `${kind}[${i}] path; actual:\n${shown}`);
    assert.equal(a.line ?? null, e.line, `${kind}[${i}] line; actual:\n${shown}`);
    assert.equal(a.column ?? null, e.column, `${kind}[${i}] column; actual:\n${shown}`);
    assert.ok(
      a.message.includes(e.message),
      `${kind}[${i}] message ${JSON.stringify(a.message)} lacks ${JSON.stringify(e.message)}`,
    );
  });
}

for (const dir of ["invalid", "valid"] as const) {
  const base = `${CONFIG_FIXTURES}/${dir}`;
  for (const name of fixtureFiles(base)) {
    Deno.test(`config corpus: ${dir}/${name}`, async () => {
      const file = `${base}/${name}`;
      const expectedPath = file.replace(/\.(ya?ml|toml)$/, "") + `.${name.split(".").pop()}.expected.json`;
      const result = withoutModeWarning(
        await loadConfigFile(file, { env: FIXTURE_ENV, home: FIXTURE_HOME, checkEnvironment: true }),
      );
      if (UPDATE) {
        const doc: ExpectedFile = { errors: result.errors.map(toExpected) };
        if (result.warnings.length > 0 || dir === "invalid") doc.warnings = result.warnings.map(toExpected);
        if (dir === "valid" && result.warnings.length === 0) {
          await Deno.remove(expectedPath).catch(() => {});
        } else {
          await Deno.writeTextFile(expectedPath, JSON.stringify(doc, null, 2) + "\n");
        }
      }
      let expected: ExpectedFile;
      try {
        expected = JSON.parse(await Deno.readTextFile(expectedPath));
      } catch (e) {
        if (dir === "invalid" || !(e instanceof Deno.errors.NotFound)) throw e;
        expected = { errors: [], warnings: [] };
      }
      if (dir === "invalid") {
        assert.ok(expected.errors.length > 0, "an invalid fixture must expect at least one error");
        assert.equal(result.config, undefined, "no config may be returned when there are errors");
      } else {
        assert.equal(expected.errors.length, 0, "a valid fixture must expect no errors");
        assert.ok(result.config, "a valid fixture must resolve");
      }
      compare("errors", result.errors, expected.errors);
      compare("warnings", result.warnings, expected.warnings ?? []);
    });
  }
}

Deno.test("config corpus: at least 40 malformed configs, each with expectations", () => {
  const files = fixtureFiles(`${CONFIG_FIXTURES}/invalid`);
  assert.ok(files.length >= 40, `only ${files.length} invalid fixtures`);
  for (const f of files) {
    const ext = f.split(".").pop();
    const expected = `${CONFIG_FIXTURES}/invalid/${f.replace(/\.(ya?ml|toml)$/, "")}.${ext}.expected.json`;
    assert.ok(Deno.statSync(expected).isFile, `missing ${expected}`);
  }
});
