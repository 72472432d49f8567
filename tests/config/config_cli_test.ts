/**
 * The config verbs in-process: a commander program with only registerConfigCommands, a capturing
 * CliContext, and a fixture environment (no mutation of the real process env).
 */
import assert from "node:assert/strict";
import { Command } from "commander";
import { registerConfigCommands } from "../../cli/commands/config.ts";
import type { CliContext, GlobalOptions } from "../../cli/context.ts";
import { UserError } from "../../lib/errors.ts";
import { envFrom } from "../../lib/config/paths.ts";
import type { LoadResult, ResolvedConfig } from "../../lib/config/types.ts";
import { isLoadResult } from "../../lib/config/load_result_check.ts";
import { CONFIG_FIXTURES, FIXTURE_HOME } from "./helpers.ts";
import { tempDir } from "../temp_dir.ts";
import { b64, kubeconfigYaml, makePki, startMockApiServer } from "../kube/mock_apiserver.ts";

interface Run {
  out: string[];
  err: string[];
  json: unknown[];
  error?: unknown;
}

async function run(
  args: string[],
  opts: { json?: boolean; config?: string; home?: string } = {},
): Promise<Run> {
  const captured: Run = { out: [], err: [], json: [] };
  const globals: GlobalOptions = {
    json: opts.json ?? false,
    color: false,
    ...(opts.config ? { config: opts.config } : {}),
  };
  const ctx: CliContext = {
    globals: () => globals,
    out: (t) => captured.out.push(t),
    err: (t) => captured.err.push(t),
    json: (v) => captured.json.push(v),
  };
  const program = new Command("kubefwd-daemon").exitOverride();
  const home = opts.home ?? FIXTURE_HOME;
  registerConfigCommands(program, ctx, { env: envFrom({ HOME: home, XDG_RUNTIME_DIR: "/run/user/1000" }) });
  for (const c of program.commands) c.exitOverride();
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (e) {
    captured.error = e;
  }
  return captured;
}

function assertUserError(e: unknown, code: string, exit: number): UserError {
  assert.ok(e instanceof UserError, `expected a UserError, got ${e}`);
  assert.equal(e.code, code);
  assert.equal(e.exitCode, exit);
  return e;
}

const VALID = `${CONFIG_FIXTURES}/valid/documented_example.yaml`;
const INVALID = `${CONFIG_FIXTURES}/invalid/many_problems.yaml`;

Deno.test("config validate: a valid file prints a summary and exits 0", async () => {
  const r = await run(["config", "validate", VALID]);
  assert.equal(r.error, undefined);
  assert.match(r.out.join("\n"), /documented_example.yaml: valid \(1 profile, 1 enabled/);
});

Deno.test("config validate: an invalid file prints every diagnostic and exits 4 without a second message", async () => {
  const r = await run(["config", "validate", INVALID]);
  const e = assertUserError(r.error, "config_invalid", 4);
  assert.deepEqual(e.details, { alreadyPrinted: true });
  const text = r.err.join("\n");
  assert.match(text, /many_problems.yaml:3:3: error: daemon.log_levl: unknown key "log_levl"/);
  assert.match(text, /14 errors and \d+ warnings? in /); // the mode warning depends on the checkout
  assert.match(text, / 3 \| {3}log_levl: info\n +\| {3}\^/, "code frames are printed");
  assert.deepEqual(r.out, []);
});

Deno.test("config validate --json prints exactly one validate object", async () => {
  const r = await run(["config", "validate", INVALID], { json: true });
  assertUserError(r.error, "config_invalid", 4);
  assert.deepEqual([r.out, r.err], [[], []]);
  assert.equal(r.json.length, 1);
  const doc = r.json[0] as {
    valid: boolean;
    errors: { path: unknown[]; line: number; column: number; message: string }[];
  };
  assert.equal(doc.valid, false);
  assert.equal(doc.errors.length, 14);
  assert.deepEqual(Object.keys(doc.errors[0]), ["path", "line", "column", "message"]);
  assert.deepEqual(doc.errors[0], {
    path: ["daemon", "log_levl"],
    line: 3,
    column: 3,
    message: 'unknown key "log_levl" in "daemon" (did you mean "log_level"?)',
  });
  const ok = await run(["config", "validate", VALID], { json: true });
  assert.equal(ok.error, undefined);
  assert.equal((ok.json[0] as { valid: boolean }).valid, true);
});

Deno.test("config validate without a path uses --config; a missing file is exit 1 with a hint", async () => {
  const viaGlobal = await run(["config", "validate"], { config: VALID });
  assert.equal(viaGlobal.error, undefined);
  const missing = await run(["config", "validate", "/nonexistent/config.yaml"]);
  const e = assertUserError(missing.error, "error", 1);
  assert.match(
    e.message,
    /config file not found: \/nonexistent\/config.yaml \(create one with `kubefwd-daemon config init`\)/,
  );
});

Deno.test("config show prints the effective config with masked kubeconfigs", async () => {
  const r = await run(["config", "show"], { config: `${CONFIG_FIXTURES}/valid/full.yaml` });
  assert.equal(r.error, undefined);
  const text = r.out.join("\n");
  assert.match(text, /^# Effective configuration from /);
  assert.match(text, /kubeconfig: ~\/…\/config/);
  assert.match(text, /initial_delay: 500ms/);
  assert.ok(!text.includes(FIXTURE_HOME + "/.kube"), "no unmasked kubeconfig path");
  const j = await run(["config", "show"], { config: `${CONFIG_FIXTURES}/valid/full.yaml`, json: true });
  const cfg = j.json[0] as ResolvedConfig;
  assert.equal(cfg.profiles[0].kubeconfig, "~/…/config");
  assert.equal(cfg.profiles[0].retry.maxDelayMs, 30_000);
  const bad = await run(["config", "show"], { config: INVALID });
  assertUserError(bad.error, "config_invalid", 4);
});

Deno.test("config resolve prints one JSON line, even for an invalid config", async () => {
  const r = await run(["config", "resolve", VALID]);
  assert.equal(r.error, undefined);
  assert.equal(r.out.length, 1);
  assert.ok(!r.out[0].includes("\n"));
  const result = JSON.parse(r.out[0]) as LoadResult;
  assert.ok(isLoadResult(result), "the daemon accepts what config resolve prints");
  assert.equal(result.config?.profiles[0].name, "dev-services");
  const bad = await run(["config", "resolve", INVALID]);
  assert.equal(bad.error, undefined);
  const badResult = JSON.parse(bad.out[0]) as LoadResult;
  assert.ok(isLoadResult(badResult));
  assert.equal(badResult.config, undefined);
  assert.equal(badResult.errors.length, 14);
  const missing = await run(["config", "resolve", "/nonexistent/c.yaml"]);
  assertUserError(missing.error, "error", 1);
});

Deno.test("config init writes a 0600 starter once, listing the kubeconfig's contexts", async () => {
  await using tmp = await tempDir("kfd-init-");
  const home = tmp.path;
  await Deno.mkdir(`${home}/.kube`);
  await Deno.copyFile(`${FIXTURE_HOME}/.kube/config`, `${home}/.kube/config`);
  const r = await run(["config", "init"], { home });
  assert.equal(r.error, undefined);
  const path = `${home}/.config/kubefwd-daemon/config.yaml`;
  assert.deepEqual(r.out.slice(0, 5), [
    `wrote ${path} (mode 0600)`,
    "contexts in ~/.kube/config:",
    "  dev-cluster (current)",
    "  staging",
    "  prod-cluster",
  ]);
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  const text = await Deno.readTextFile(path);
  assert.match(text, /context: dev-cluster/);
  const validate = await run(["config", "validate", path], { home });
  assert.equal(validate.error, undefined, validate.err.join("\n"));
  assert.match(validate.out.join("\n"), /valid \(1 profile, 0 enabled\)/);

  await Deno.writeTextFile(path, "# edited by the user\n" + text);
  const again = await run(["config", "init"], { home });
  const e = assertUserError(again.error, "error", 1);
  assert.match(e.message, /already exists; not overwriting/);
  assert.match(await Deno.readTextFile(path), /^# edited by the user/);
});

Deno.test("config init --json, and without any kubeconfig", async () => {
  await using tmp = await tempDir("kfd-init-");
  const home = tmp.path;
  const r = await run(["config", "init"], { home, json: true, config: `${home}/custom/kfd.yaml` });
  assert.equal(r.error, undefined);
  assert.deepEqual(r.json, [{
    path: `${home}/custom/kfd.yaml`,
    kubeconfig: "~/…/config",
    contexts: [],
    currentContext: null,
  }]);
  assert.match(await Deno.readTextFile(`${home}/custom/kfd.yaml`), /No kubeconfig could be read/);
});

Deno.test("config validate --online warns about namespaces and labels that match no service", async () => {
  await using tmp = await tempDir();
  const pki = await makePki(tmp.path);
  await using cleanup = new AsyncDisposableStack();
  const mock = cleanup.adopt(
    startMockApiServer(pki, { shop: [["web", { app: "web" }]], store: [["api", { app: "api" }]] }),
    (m) => m.close(),
  );
  const kubeconfig = `${tmp.path}/kubeconfig`;
  await Deno.writeTextFile(
    kubeconfig,
    kubeconfigYaml(mock.url, `certificate-authority-data: ${b64(pki.caCert)}`, "    token: t0k"),
    { mode: 0o600 },
  );
  const profile = (name: string, ns: string, extra = "") =>
    `  ${name}:\n    kubeconfig: ${kubeconfig}\n    context: mock\n    namespaces: [${ns}]\n${extra}`;
  const config = `${tmp.path}/config.yaml`;
  await Deno.writeTextFile(
    config,
    "profiles:\n" + profile("ok", "shop") +
      profile("typo", "shpo") +
      profile("nolabel", "store, other", "    labels: [app=nope]\n") +
      profile("excluded", "shop-x", "    enabled: false\n") +
      profile("allowed", "void", "    allow_empty: true\n") +
      profile("denied", "forbidden", "    exclude_services: [zzz]\n"),
    { mode: 0o600 },
  );
  const offline = await run(["config", "validate", config]);
  assert.equal(offline.error, undefined);
  assert.doesNotMatch(offline.out.join("\n"), /no service/, "nothing is asked without --online");
  assert.equal(mock.seen.length, 0);

  const r = await run(["config", "validate", "--online", config]);
  assert.equal(r.error, undefined, "warnings only: still valid");
  const text = r.out.join("\n");
  assert.match(
    text,
    /profile typo: no service in namespace shpo of context mock; kubefwd would forward nothing/,
  );
  assert.match(text, /profile nolabel: no service with labels app=nope in namespace store of context mock/);
  assert.match(text, /profile nolabel: no service with labels app=nope in namespace other/);
  assert.match(text, /profile denied: could not check namespace forbidden: .*HTTP 403/);
  assert.doesNotMatch(text, /profile (ok|excluded|allowed)\b/, "matching, disabled and allow_empty: silent");
  assert.match(text, /valid \(6 profiles, 5 enabled; \d+ warnings\)/);
  const json = await run(["config", "validate", "--online", config], { json: true });
  const doc = json.json[0] as { warnings: { path: unknown[] }[] };
  assert.ok(doc.warnings.some((w) => JSON.stringify(w.path) === '["profiles","typo","namespaces",0]'));
});
