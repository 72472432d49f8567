/** Faults around the cluster: the kubeconfig swapped and deleted, the API out of reach. */
import assert from "node:assert/strict";
import { waitFor } from "../integration/harness.ts";
import { BYSTANDER, kubeconfigWithToken, TARGET } from "./chaos_env.ts";
import { simStarts } from "./faults_child.ts";
import { fault } from "./suite.ts";

fault("kubeconfig swapped and deleted", async ({ env, run }) => {
  const swap = async (text: string) => {
    await Deno.writeTextFile(`${env.kubeconfigPath}.new`, text, { mode: 0o600 });
    await Deno.rename(`${env.kubeconfigPath}.new`, env.kubeconfigPath);
  };
  await run("swapped (atomic rename): graceful restart", async () => {
    const before = await env.waitHealthy(TARGET);
    const beta = (await env.waitHealthy(BYSTANDER)).pid;
    await swap(kubeconfigWithToken(env.secrets.kubeconfigToken) + "# rotated\n");
    await waitFor(async () => (await env.profile(TARGET)).pid !== before.pid, "a new child", 20_000);
    await env.waitHealthy(TARGET);
    assert.equal((await env.profile(BYSTANDER)).pid, beta, "the bystander was not touched");
  });
  await run("deleted: the child that cannot start is not looped", async () => {
    const before = await env.waitHealthy(TARGET);
    await Deno.remove(env.kubeconfigPath);
    const p = await waitFor(
      async () => {
        const p = await env.profile(TARGET);
        return p.pid !== before.pid && (p.state === "failed" || p.state === "backoff") ? p : undefined;
      },
      "alpha failed or backing off",
      20_000,
    );
    assert.ok(p.lastError, "the reason is shown");
  });
  await run("restored: re-armed", async () => {
    await swap(kubeconfigWithToken(env.secrets.kubeconfigToken));
    await env.waitHealthy(TARGET, 30_000);
  });
  await run("swapped twice quickly", async () => {
    await swap(kubeconfigWithToken(env.secrets.kubeconfigToken) + "# a\n");
    await swap(kubeconfigWithToken(env.secrets.kubeconfigToken) + "# ab\n");
    await env.waitHealthy(TARGET, 30_000);
  });
});

fault("API unreachable", async ({ env, run, note }) => {
  await run("API outage while running (3 s)", async () => {
    const before = await env.profile(TARGET);
    await env.setScenario({
      actions: [{ type: "api_outage", atMs: 500, durationMs: 3000, onlyIn: "chaos-a" }],
    });
    assert.equal((await env.cli("restart", TARGET)).code, 0);
    await waitFor(
      async () => (await env.profile(TARGET)).forwards.some((f) => f.state !== "up"),
      "a lost forward",
    );
    await env.setScenario({});
    const after = await env.waitHealthy(TARGET, 30_000);
    assert.equal(after.failures, before.failures, "an outage is no failure");
  });
  await run("API refused at start: steady retries, no failure counted", async () => {
    const before = await env.profile(TARGET);
    await env.setScenario({
      startup: {
        fatal:
          'Error connecting to k8s cluster: Get "https://127.0.0.1:6443/version": dial tcp 127.0.0.1:6443: ' +
          `connect: connection refused (Authorization: Bearer ${env.secrets.kubeconfigToken})`,
      },
    });
    const starts = simStarts(env);
    assert.equal((await env.cli("restart", TARGET)).code, 0);
    await waitFor(() => simStarts(env) >= starts + 3, "three refused starts", 30_000);
    const during = await env.profile(TARGET);
    assert.equal(during.failures, before.failures, "unreachable is not counted as a failure");
    assert.notEqual(during.state, "failed");
    note(`${simStarts(env) - starts} refused starts retried`);
    await env.setScenario({});
    await env.waitHealthy(TARGET, 30_000);
  });
});
