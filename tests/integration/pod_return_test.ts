/**
 * kubefwd 1.22.x (simulated) and a service whose pods were all gone when kubefwd restarted: the real daemon
 * asks a mock API server, with the profile's own kubeconfig credentials, whether the service has a Ready
 * pod, restarts nothing while it has none, and restarts kubefwd once when it has one again.
 * docs/kubefwd-compatibility.md#pod-gone-and-back
 */
import assert from "node:assert/strict";
import { b64, kubeconfigYaml, makePki, startMockApiServer } from "../kube/mock_apiserver.ts";
import { TestEnv, waitFor } from "./harness.ts";
import type { ProfileStatus } from "../../lib/supervisor/types.ts";

// Ports unique to this file (parallel test files share 127.3.x).
function scenario(webPods: string[]) {
  return {
    namespaces: {
      "team-p": {
        services: [
          { name: "web", ports: [{ port: 18380 }], pods: webPods },
          { name: "api", ports: [{ port: 18381 }], pods: ["api-1"] },
        ],
      },
    },
  };
}

Deno.test("1.22: a service back with a Ready pod is forwarded again after one pod_returned restart; no pod, no restart", async () => {
  await using env = await TestEnv.create({ scenario: scenario(["web-1"]), simVersion: "1.22.3" });
  const pki = await makePki(env.dir);
  const mock = startMockApiServer(pki, { "team-p": [["web", {}], ["api", {}]] });
  mock.requireAuth = "Bearer s3cret";
  try {
    const kubeconfig = `${env.dir}/api-kubeconfig`;
    await Deno.writeTextFile(
      kubeconfig,
      kubeconfigYaml(mock.url, `certificate-authority-data: ${b64(pki.caCert)}`, "    token: s3cret"),
      { mode: 0o600 },
    );
    await env.writeConfig(
      env.configHeader() + "profiles:\n" +
        `  alpha:\n    kubeconfig: ${kubeconfig}\n    context: mock\n    namespaces: [team-p]\n` +
        "    health: { interval: 1s, timeout: 1s, failure_threshold: 2 }\n",
    );
    await env.startDaemon();
    const alpha = async (): Promise<ProfileStatus> => (await env.status()).profiles[0];
    const up = async () =>
      (await alpha()).forwards.filter((f) => f.state === "up").map((f) => f.hostname).sort();
    await waitFor(async () => (await up()).join() === "api,web", "both forwards up", 30_000);
    await waitFor(async () => (await alpha()).apiserver?.state === "reachable", "the API server checked");
    const podLists = () => mock.seen.filter((s) => s.path === "/api/v1/namespaces/team-p/pods").length;
    assert.equal(podLists(), 0, "nothing missing: no pod list");

    // web's pods are gone when kubefwd restarts; 1.22 never forwards it again by itself.
    await Deno.writeTextFile(`${env.dir}/scenario.json`, JSON.stringify(scenario([])));
    assert.equal((await env.cli("restart", "alpha")).code, 0);
    await waitFor(() => podLists() >= 4, "the daemon asking for web's pods", 30_000).catch(async (e) => {
      const logs = (await env.cli("logs", "alpha", "-n", "60")).stdout;
      console.log(`API requests: ${JSON.stringify(mock.seen.slice(-10))}\ndaemon log:\n${logs}`);
      throw e;
    });
    assert.deepEqual(await up(), ["api"]);
    assert.equal((await alpha()).restarts, 1, "no Ready pod: no restart");
    assert.ok(mock.seen.every((s) => s.authorization === "Bearer s3cret"), "the profile's own credentials");

    // The replacement is Ready.
    await Deno.writeTextFile(`${env.dir}/scenario.json`, JSON.stringify(scenario(["web-2"])));
    mock.pods["team-p"] = [{ name: "web-2", app: "web", ready: true }];
    await waitFor(async () => (await up()).join() === "api,web", "web forwarded again", 30_000);
    const p = await alpha();
    assert.equal(p.forwards.find((f) => f.hostname === "web")!.pod, "web-2");
    assert.equal(p.restarts, 2);
    const logs = await env.cli("logs", "alpha", "-n", "200");
    assert.match(
      logs.stdout,
      /restarting: web has a Ready pod again, which kubefwd 1\.22\.3 \(no pod watch\)/,
    );
  } finally {
    await mock.close();
  }
});
