import assert from "node:assert/strict";
import { loadConfigText } from "./load.ts";
import { envFrom } from "./paths.ts";
import { starterConfig } from "./starter.ts";

const env = envFrom({ HOME: "/home/u", XDG_RUNTIME_DIR: "/run/user/1" });

Deno.test("starter config lists contexts, uses the current one, and validates cleanly", async () => {
  const text = starterConfig({
    kubeconfig: "~/.kube/config",
    kubeconfigFound: true,
    contexts: [{ name: "prod" }, { name: "dev-cluster", namespace: "team-a" }, { name: "weird: name" }],
    currentContext: "dev-cluster",
  });
  assert.match(text, /# {3}- prod\n/);
  assert.match(text, /# {3}- dev-cluster \(current, namespace team-a\)\n/);
  assert.match(text, / {4}context: dev-cluster\n/);
  assert.match(text, / {4}namespaces: \[team-a\]/);
  assert.match(text, / {4}enabled: false/);
  const r = await loadConfigText(text, {
    file: "/home/u/.config/kubefwd-daemon/config.yaml",
    env,
    home: "/home/u",
  });
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.warnings, []);
  const p = r.config!.profiles[0];
  assert.equal(p.context, "dev-cluster");
  assert.equal(p.enabled, false);
  assert.equal(p.kubeconfig, "/home/u/.kube/config");
  // The defaults section shows the schema's defaults, so it changes nothing.
  const bare = await loadConfigText(
    "profiles: { example: { namespaces: [team-a], context: dev-cluster, enabled: false } }",
    {
      file: "/c.yaml",
      env,
      home: "/home/u",
    },
  );
  assert.deepEqual(p.retry, bare.config!.profiles[0].retry);
  assert.deepEqual(p.health, bare.config!.profiles[0].health);
  assert.deepEqual(p.forwardFailures, bare.config!.profiles[0].forwardFailures);
});

Deno.test("starter config without a kubeconfig leaves the context to the user and still validates", async () => {
  const text = starterConfig({ kubeconfig: "~/.kube/config", kubeconfigFound: false, contexts: [] });
  assert.match(text, /No kubeconfig could be read at ~\/.kube\/config/);
  assert.match(text, /# context: my-cluster/);
  const r = await loadConfigText(text, { file: "/c.yaml", env, home: "/home/u" });
  assert.deepEqual(r.errors, []);
  assert.equal(r.config!.profiles[0].context, undefined);
  assert.deepEqual(r.config!.profiles[0].namespaces, ["default"]);
});

Deno.test("starter quotes context names YAML would misread", async () => {
  for (const name of ["yes", "1.5", "a: b", "#x", "-dash"]) {
    const text = starterConfig({
      kubeconfig: "/k",
      kubeconfigFound: true,
      contexts: [{ name }],
      currentContext: name,
    });
    const r = await loadConfigText(text, { file: "/c.yaml", env, home: "/home/u" });
    assert.deepEqual(r.errors, [], name);
    assert.equal(r.config!.profiles[0].context, name);
  }
});
