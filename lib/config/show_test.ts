import assert from "node:assert/strict";
import { stringify } from "yaml";
import { loadConfigText } from "./load.ts";
import { envFrom } from "./paths.ts";
import { maskConfig, toFileShape } from "./show.ts";

const env = envFrom({ HOME: "/home/u", XDG_RUNTIME_DIR: "/run/user/1" });
const TEXT = `
kubefwd: { privilege: sudo, stop_timeout: 90s }
defaults: { retry: { initial_delay: 1.5s }, health: { interval: 1h30m } }
profiles:
  shop:
    kubeconfig: ~/clients/acme/kubeconfig.yaml
    context: prod
    namespaces: [shop]
    domain: lab
    labels: ["a in (b, c)"]
    mapping: ["80:8080"]
    extra_args: ["--token", "s3cr3t-raw", "-v"]
  lab:
    enabled: false
    namespaces: [lab]
`;

Deno.test("config show's YAML is itself a config that resolves to the same thing", async () => {
  const first = await loadConfigText(TEXT, { file: "/etc/c.yaml", env, home: "/home/u" });
  assert.ok(first.config);
  const shown = stringify(toFileShape(first.config));
  assert.match(shown, /stop_timeout: 1m30s/);
  assert.match(shown, /interval: 1h30m/);
  assert.match(shown, /initial_delay: 1.5s/);
  const second = await loadConfigText(shown, { file: "/etc/c.yaml", env, home: "/home/u" });
  assert.deepEqual(second.errors, []);
  assert.deepEqual(second.config, first.config);
});

Deno.test("maskConfig hides kubeconfig directories and leaves the rest alone", async () => {
  const r = await loadConfigText(TEXT, { file: "/etc/c.yaml", env, home: "/home/u" });
  const masked = maskConfig(r.config!, "/home/u");
  assert.deepEqual(masked.profiles.map((p) => p.kubeconfig), ["~/…/***", "~/…/config"]);
  assert.equal(r.config!.profiles[0].kubeconfig, "/home/u/clients/acme/kubeconfig.yaml", "input not mutated");
  assert.ok(!JSON.stringify(masked).includes("acme"));
  assert.deepEqual(masked.daemon, r.config!.daemon);
});

Deno.test("maskConfig masks raw tokens in extra_args and the kubeconfig file name, like the log", async () => {
  const text = TEXT.replace(
    "kubefwd: { privilege: sudo, stop_timeout: 90s }",
    'kubefwd: { privilege: sudo, stop_timeout: 90s, extra_args: ["--token=abc123", "--kubeconfig", "/home/u/.kube/prod-eu"] }',
  );
  const r = await loadConfigText(text, { file: "/etc/c.yaml", env, home: "/home/u" });
  assert.deepEqual(r.errors, []);
  const masked = maskConfig(r.config!, "/home/u");
  assert.deepEqual(masked.profiles[0].extraArgs, ["--token", "***", "-v"]);
  assert.deepEqual(masked.kubefwd.extraArgs, ["--token=***", "--kubeconfig", "~/.kube/***"]);
  const json = JSON.stringify(masked);
  for (const secret of ["s3cr3t-raw", "abc123", "prod-eu", "kubeconfig.yaml"]) {
    assert.ok(!json.includes(secret), secret);
  }
});
