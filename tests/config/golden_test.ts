/**
 * Golden output of the human `config validate` report (tests/fixtures/configs/golden/*.txt).
 * Regenerate after deliberate format changes with `UPDATE_GOLDEN=1 deno test -A tests/config/golden_test.ts`
 * and review the diff.
 */
import assert from "node:assert/strict";
import { loadConfigFileWithSource } from "../../lib/config/load.ts";
import { formatHuman } from "../../lib/config/format.ts";
import { CONFIG_FIXTURES, FIXTURE_ENV, FIXTURE_HOME, withoutModeWarning } from "./helpers.ts";

const UPDATE = Deno.env.get("UPDATE_GOLDEN") === "1";

/** [fixture relative to tests/fixtures/configs, golden file name, colour]. */
const CASES: [string, string, boolean][] = [
  ["invalid/many_problems.yaml", "many_problems.txt", false],
  ["invalid/many_problems.yaml", "many_problems.color.txt", true],
  ["invalid/toml_unknown_keys.toml", "toml_unknown_keys.txt", false],
  ["invalid/toml_syntax_error.toml", "toml_syntax_error.txt", false],
  ["invalid/yaml_unclosed_flow.yaml", "yaml_unclosed_flow.txt", false],
  ["invalid/empty.yaml", "empty.txt", false],
  ["invalid/context_conflict.yaml", "context_conflict.txt", false],
  ["valid/warn_misc.yaml", "warn_misc.txt", false],
  ["valid/documented_example.yaml", "documented_example.txt", false],
];

for (const [fixture, golden, color] of CASES) {
  Deno.test(`config validate golden: ${golden}`, async () => {
    const outcome = await loadConfigFileWithSource(`${CONFIG_FIXTURES}/${fixture}`, {
      env: FIXTURE_ENV,
      home: FIXTURE_HOME,
    });
    // Show the path relative to the fixtures so the golden text does not depend on the checkout location.
    const result = { ...withoutModeWarning(outcome.result), file: fixture };
    const actual = formatHuman(result, { source: outcome.source, color }) + "\n";
    const goldenPath = `${CONFIG_FIXTURES}/golden/${golden}`;
    if (UPDATE) await Deno.writeTextFile(goldenPath, actual);
    const expected = await Deno.readTextFile(goldenPath);
    assert.equal(actual, expected, `golden ${golden} differs; rerun with UPDATE_GOLDEN=1 if intended`);
  });
}
