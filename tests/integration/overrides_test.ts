/**
 * The user's enable/disable choices through the real CLI: an override that masks a changed config says so
 * on `reload`, `reset` drops it, and `enable` refuses a profile that would share a namespace with an enabled
 * one (exit 7), the rule `config validate` applies to the config.
 */
import assert from "node:assert/strict";
import { TestEnv, waitFor } from "./harness.ts";

// Ports unique to this file: test files run in parallel and every test daemon starts its IP ranges at 127.3.
const SCENARIO = {
  namespaces: {
    "team-a": {
      services: [{ name: "api", labels: { app: "api" }, ports: [{ port: 18285 }], pods: ["api-1"] }],
    },
    "team-b": { services: [{ name: "web", ports: [{ port: 18286 }], pods: ["web-1"] }] },
  },
};

function profileYaml(env: TestEnv, name: string, ns: string, extra = ""): string {
  return `  ${name}:\n    kubeconfig: ${env.dir}/.kube/config\n    context: sim\n    namespaces: [${ns}]\n` +
    "    retry: { initial_delay: 200ms, max_delay: 1s }\n" +
    `    health: { interval: 1s, timeout: 1s, failure_threshold: 3 }\n${extra}`;
}

Deno.test("reload says when an override masks a changed enabled; reset drops the override", async () => {
  const env = await TestEnv.create({ scenario: SCENARIO });
  const config = (enabled: boolean) =>
    env.configHeader() + "profiles:\n" + profileYaml(env, "dev", "team-b", `    enabled: ${enabled}\n`);
  try {
    await env.writeConfig(config(true));
    await env.startDaemon();
    await waitFor(() => env.healthy("dev"), "dev healthy");
    assert.equal((await env.cli("disable", "dev")).code, 0);
    assert.equal((await env.cli("enable", "dev")).code, 0);
    assert.equal((await env.profile("dev")).enabledSource, "cli");

    await env.writeConfig(config(false));
    const reload = await env.cli("reload");
    assert.equal(reload.code, 0, reload.stderr);
    assert.match(
      reload.stdout,
      /dev: the config now says enabled: false, but `enable` from the CLI still decides \(enabled\); to follow the config: kubefwd-daemon reset dev/,
    );
    assert.equal((await env.profile("dev")).enabled, true, "the override still decides");

    assert.equal((await env.cli("disable", "dev")).code, 0);
    await env.writeConfig(config(true));
    const json = await env.cli("--json", "reload");
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout).masked, [{
      profile: "dev",
      configEnabled: true,
      override: false,
    }]);
    assert.equal((await env.profile("dev")).state, "disabled");

    const reset = await env.cli("reset", "dev");
    assert.equal(reset.code, 0, reset.stderr);
    assert.match(reset.stdout, /^dev: override dropped \(enabled in the config\): started$/m);
    const dev = await waitFor(() => env.healthy("dev"), "dev follows the config again");
    assert.equal(dev.enabledSource, "config");
    const again = await env.cli("reset", "dev");
    assert.match(again.stdout, /^dev: no override \(enabled in the config\)$/m);
    const help = await env.cli("--help");
    assert.match(help.stdout, /reset .*drop the enable\/disable override/);
  } finally {
    await env.cleanup();
  }
});

Deno.test("enable refuses a profile that overlaps an enabled one (exit 7), like validate", async () => {
  const env = await TestEnv.create({ scenario: SCENARIO });
  try {
    await env.writeConfig(
      env.configHeader() + "profiles:\n" + profileYaml(env, "alpha", "team-a") +
        profileYaml(env, "beta", "team-a", "    enabled: false\n    labels: [app=api]\n"),
    );
    assert.equal((await env.cli("config", "validate")).code, 0, "valid while beta is disabled");
    await env.startDaemon();
    await waitFor(() => env.healthy("alpha"), "alpha healthy");

    const refused = await env.cli("enable", "beta");
    assert.equal(refused.code, 7, refused.stdout + refused.stderr);
    assert.match(
      refused.stderr,
      /error: cannot enable "beta": namespace "team-a" of context "sim" is also forwarded by enabled profile "alpha"/,
    );
    const beta = await env.profile("beta");
    assert.equal(beta.state, "disabled");
    assert.equal(beta.enabledSource, "config", "a refused enable persists nothing");
    const json = await env.cli("--json", "enable", "beta");
    assert.equal(json.code, 7);
    assert.equal(JSON.parse(json.stdout).error.code, "conflict");
    assert.equal((await env.cli("start", "beta")).code, 7, "a transient start is refused as well");
    assert.ok(await env.healthy("alpha"), "alpha untouched");

    assert.equal((await env.cli("disable", "alpha")).code, 0);
    const enabled = await env.cli("enable", "beta");
    assert.equal(enabled.code, 0, enabled.stderr);
    await waitFor(() => env.healthy("beta"), "beta healthy once alpha is disabled");
  } finally {
    await env.cleanup();
  }
});

Deno.test("reload does not start a profile next to one started by a one-off `start` in the same namespace", async () => {
  const env = await TestEnv.create({ scenario: SCENARIO });
  const header = env.configHeader() + "profiles:\n";
  const alpha = (ns: string) => profileYaml(env, "alpha", ns);
  const beta = profileYaml(env, "beta", "team-a", "    enabled: false\n");
  try {
    await env.writeConfig(header + alpha("team-b") + beta);
    await env.startDaemon();
    await waitFor(() => env.healthy("alpha"), "alpha healthy");
    assert.equal((await env.cli("start", "beta")).code, 0, "a one-off start of the disabled beta");
    await waitFor(() => env.healthy("beta"), "beta healthy");
    const betaPid = (await env.profile("beta")).pid;

    // Valid for `config validate` (beta is disabled in the config), yet both would forward team-a.
    const warningsOf = async (config: string) => {
      await env.writeConfig(config);
      assert.equal((await env.cli("config", "validate")).code, 0);
      const reload = await env.cli("--json", "reload");
      assert.equal(reload.code, 0, reload.stdout + reload.stderr);
      return (JSON.parse(reload.stdout).warnings as { message: string }[]).map((w) => w.message).join("\n");
    };
    assert.match(
      await warningsOf(header + alpha("team-b") + beta + profileYaml(env, "gamma", "team-a")),
      /^profile gamma was not started: namespace "team-a" of context "sim" is also forwarded by profile "beta"/m,
    );
    const gamma = await env.profile("gamma");
    assert.equal(gamma.state, "stopped");
    assert.equal(gamma.pid, null);
    assert.match(
      await warningsOf(header + alpha("team-a") + beta),
      /^profile alpha keeps its previous config: namespace "team-a" of context "sim" is also forwarded by profile "beta"/m,
    );
    const a = await env.profile("alpha");
    assert.deepEqual(a.namespaces, ["team-b"], "alpha still forwards its old namespace");
    assert.equal((await env.profile("beta")).pid, betaPid, "beta untouched");
    assert.ok(await env.healthy("beta"));

    const human = await env.cli("reload");
    assert.match(human.stderr, /profile alpha keeps its previous config: .*stop beta, then reload/);
    // Once beta is stopped, the next reload applies alpha's change.
    assert.equal((await env.cli("stop", "beta")).code, 0);
    assert.equal((await env.cli("reload")).code, 0);
    await waitFor(async () => (await env.healthy("alpha"))?.namespaces[0] === "team-a", "alpha on team-a");
  } finally {
    await env.cleanup();
  }
});
