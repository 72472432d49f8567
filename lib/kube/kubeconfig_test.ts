import assert from "node:assert/strict";
import { findContext, KubeconfigError, parseKubeconfig, readKubeconfig } from "./kubeconfig.ts";

const SAMPLE = `
apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: c1
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: Q0E=
    insecure-skip-tls-verify: false
- cluster: { server: https://nameless }
users:
- name: u1
  user: { token: abc }
contexts:
- name: dev
  context: { cluster: c1, user: u1, namespace: team-a }
- name: bare
  context: { cluster: c1, user: u1 }
- context: { cluster: c1 }
`;

Deno.test("parseKubeconfig reads contexts, clusters, users and current-context", () => {
  const kc = parseKubeconfig(SAMPLE, "/k");
  assert.equal(kc.path, "/k");
  assert.equal(kc.currentContext, "dev");
  assert.deepEqual(kc.contexts, [
    { name: "dev", cluster: "c1", user: "u1", namespace: "team-a" },
    { name: "bare", cluster: "c1", user: "u1" },
  ]);
  assert.equal(kc.clusters.length, 1, "entries without a name are skipped");
  assert.equal(kc.clusters[0].server, "https://10.0.0.1:6443");
  assert.equal(kc.clusters[0].certificateAuthorityData, "Q0E=");
  assert.equal(kc.clusters[0].insecureSkipTlsVerify, false);
  assert.deepEqual(kc.users, [{ name: "u1", raw: { token: "abc" } }]);
  assert.deepEqual(findContext(kc, "bare"), { name: "bare", cluster: "c1", user: "u1" });
  assert.equal(findContext(kc, "nope"), undefined);
});

Deno.test("parseKubeconfig: empty is empty, non-mappings and bad YAML are KubeconfigError", () => {
  assert.deepEqual(parseKubeconfig(""), { path: "<memory>", contexts: [], clusters: [], users: [] });
  assert.throws(() => parseKubeconfig("- a\n", "/k"), KubeconfigError);
  assert.throws(
    () => parseKubeconfig("a: [\n", "/k"),
    (e: unknown) => e instanceof KubeconfigError && /not valid YAML/.test(e.message),
  );
  const noCurrent = parseKubeconfig("current-context: ''\ncontexts: oops\n");
  assert.equal(noCurrent.currentContext, undefined);
  assert.deepEqual(noCurrent.contexts, []);
});

Deno.test("readKubeconfig rejects with NotFound for a missing file", async () => {
  await assert.rejects(readKubeconfig("/nonexistent/kubeconfig"), Deno.errors.NotFound);
});
