import assert from "node:assert/strict";
import { isLoadResult } from "./load_result_check.ts";
import { loadConfigFile } from "./load.ts";
import { CONFIG_FIXTURES } from "../../tests/config/helpers.ts";

Deno.test("isLoadResult: accepts what config resolve prints for valid and invalid configs", async () => {
  for (const file of ["valid/full.yaml", "valid/documented_example.toml", "invalid/many_problems.yaml"]) {
    const result = await loadConfigFile(`${CONFIG_FIXTURES}/${file}`);
    const wire = JSON.parse(JSON.stringify(result));
    assert.ok(isLoadResult(wire), file);
  }
});

Deno.test("isLoadResult: refuses a wrong field anywhere, down to a profile's policies", async () => {
  const good = JSON.parse(JSON.stringify(await loadConfigFile(`${CONFIG_FIXTURES}/valid/full.yaml`)));
  assert.equal(isLoadResult(good), true);
  assert.ok(good.config.profiles.length > 0);
  // deno-lint-ignore no-explicit-any -- each row breaks a different part of the parsed JSON
  const breakages: [string, (r: any) => void][] = [
    ["file missing", (r) => delete r.file],
    ["errors not an array", (r) => r.errors = {}],
    ["a warning without message", (r) => r.warnings = [{ path: [] }]],
    ["a diagnostic line as text", (r) => r.errors = [{ path: ["a", 0], line: "3", message: "m" }]],
    ["config null", (r) => r.config = null],
    ["unknown log level", (r) => r.config.daemon.logLevel = "trace"],
    ["socket path missing", (r) => delete r.config.daemon.socketPath],
    ["unknown privilege", (r) => r.config.kubefwd.privilege = "root"],
    ["stop timeout as text", (r) => r.config.kubefwd.stopTimeoutMs = "10s"],
    ["profiles not an array", (r) => r.config.profiles = {}],
    ["enabled as text", (r) => r.config.profiles[0].enabled = "yes"],
    ["a namespace not a string", (r) => r.config.profiles[0].namespaces = [1]],
    ["context null", (r) => r.config.profiles[0].context = null],
    ["retry delay missing", (r) => delete r.config.profiles[0].retry.maxDelayMs],
    ["health interval null", (r) => r.config.profiles[0].health.intervalMs = null],
    ["forward failures missing", (r) => delete r.config.profiles[0].forwardFailures],
  ];
  for (const [what, breakIt] of breakages) {
    const copy = structuredClone(good);
    breakIt(copy);
    assert.equal(isLoadResult(copy), false, what);
  }
  assert.equal(isLoadResult(null), false);
  assert.equal(isLoadResult([]), false);
});
