/**
 * Reload through the real CLI and SIGHUP: only the difference is applied (added/removed/changed/unchanged),
 * and an invalid config keeps everything running. Every test runs its own daemon.
 */
import assert from "node:assert/strict";
import { waitFor } from "./harness.ts";
import { config, FAST, healthyDaemon, profileOf, profileYaml, runningWithForwards } from "./verbs_fixture.ts";

// Ports unique to this file: test files run in parallel and every test daemon starts its IP ranges at 127.3.
const SCENARIO = {
  namespaces: {
    "team-a": {
      services: [{ name: "api", ports: [{ port: 18184, targetPort: 8080 }], pods: ["api-7d9f-aaaaa"] }],
    },
    "team-b": { services: [{ name: "web", ports: [{ port: 18185 }], pods: ["web-5c6d-bbbbb"] }] },
    "team-c": { services: [{ name: "db", ports: [{ port: 18186 }], pods: ["db-0"] }] },
  },
};

Deno.test("reload applies only the difference", async () => {
  await using d = await healthyDaemon(SCENARIO);
  const env = d.env;
  const before = await env.status();
  await env.writeConfig(
    config(
      env,
      profileYaml(env, "alpha", "team-a", FAST) + // unchanged
        profileYaml(env, "gamma", "team-c", FAST), // added; beta removed
    ),
  );
  const r = await env.cli("--json", "reload");
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const diff = JSON.parse(r.stdout);
  assert.deepEqual(diff.added, ["gamma"]);
  assert.deepEqual(diff.removed, ["beta"]);
  assert.deepEqual(diff.changed, []);
  assert.deepEqual(diff.unchanged, ["alpha"]);
  await waitFor(() => runningWithForwards(env, "gamma"), "gamma running");
  const after = await env.status();
  assert.equal(
    profileOf(after, "alpha").pid,
    profileOf(before, "alpha").pid,
    "unchanged profile untouched",
  );
  assert.ok(!after.profiles.some((p) => p.name === "beta"));
  assert.ok(
    !env.liveSimulators().includes(profileOf(before, "beta").pid!),
    "removed profile's kubefwd stopped",
  );
});

Deno.test("an invalid reload changes nothing and exits 4", async () => {
  await using d = await healthyDaemon(SCENARIO);
  const env = d.env;
  const before = await env.status();
  await env.writeConfig(
    config(env, profileYaml(env, "alpha", "team-a", FAST).replace("namespaces:", "namespacez:")),
  );
  const r = await env.cli("reload");
  assert.equal(r.code, 4);
  assert.match(r.stderr, /config\.yaml:\d+:\d+: error: .*namespacez.*did you mean "namespaces"/);
  const after = await env.status();
  for (const name of ["alpha", "beta"]) {
    assert.equal(profileOf(after, name).pid, profileOf(before, name).pid, `${name} untouched`);
    assert.equal(profileOf(after, name).state, "running", JSON.stringify(profileOf(after, name)));
  }
});

Deno.test("SIGHUP reloads the config", async () => {
  await using d = await healthyDaemon(SCENARIO);
  const env = d.env;
  await env.writeConfig(config(env, profileYaml(env, "alpha", "team-a", FAST.replace("200ms", "300ms"))));
  Deno.kill(d.pid, "SIGHUP");
  await waitFor(
    async () => !(await env.status()).profiles.some((p) => p.name === "beta"),
    "beta removed by SIGHUP",
  );
  await waitFor(() => runningWithForwards(env, "alpha"), "alpha (changed) running again");
  const logs = await env.cli("logs", "-n", "50");
  assert.match(logs.stdout, /changed \[alpha\]/);
});

Deno.test("a reload to a context the kubeconfig lacks keeps the running profile on its previous config", async () => {
  await using d = await healthyDaemon(SCENARIO);
  const env = d.env;
  const before = profileOf(await env.status(), "alpha");
  await env.writeConfig(
    config(
      env,
      profileYaml(env, "alpha", "team-a", FAST).replace("context: sim", "context: sim-typo") +
        profileYaml(env, "beta", "team-b", FAST),
    ),
  );
  const r = await env.cli("reload");
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stderr, /profile alpha keeps running with its previous config: context "sim-typo"/);
  const after = profileOf(await env.status(), "alpha");
  assert.equal(after.pid, before.pid, "the working kubefwd was not restarted");
  assert.equal(after.context, "sim");
  assert.ok(await runningWithForwards(env, "alpha"), "its forwards keep working");
});
