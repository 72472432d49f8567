/**
 * kubefwd 1.22.x and a service whose pods were all gone when it started (the simulator prints `No Running
 * Pods` and never forwards it, as 1.22.3 does): the Supervisor with real processes, the TCP prober and the
 * simulator, and a fake API server answering whether the service has a Ready pod. The service comes back
 * only through the daemon's restart, and only once it has a Ready pod.
 */
import assert from "node:assert/strict";
import { realClock } from "../clock.ts";
import type { KubefwdSettings, ProfileSpec } from "../config/types.ts";
import { SocketProber } from "../health/socket_prober.ts";
import { FileHostsFile } from "../kubefwd/hosts.ts";
import { FakeApiProbes } from "../testing/fake_api_probes.ts";
import { FakeServiceLister } from "../testing/fake_service_lister.ts";
import { testProfile } from "../testing/profile_spec.ts";
import { emptyState } from "../state/types.ts";
import { isTimeoutError, waitFor } from "../util/async.ts";
import type { Scenario } from "../../tests/simulator/kubefwd_sim.ts";
import { writeScenario, writeSimulatorWrapper } from "../../tests/simulator/harness.ts";
import { DenoSpawner } from "./spawner.ts";
import { Supervisor } from "./supervisor.ts";
import type { LogEntry } from "./types.ts";

function scenario(webPods: string[]): Scenario {
  return {
    namespaces: {
      ns: {
        services: [
          { name: "web", ports: [{ port: 8080, targetPort: 8080 }], pods: webPods },
          { name: "api", ports: [{ port: 8081, targetPort: 8080 }], pods: ["api-1"] },
        ],
      },
    },
  };
}

Deno.test("sim 1.22: a service restarted without pods stays missing, costs no restart; its Ready pod → one pod_returned restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pod_return_sim_" });
  const hostsPath = `${dir}/hosts`;
  await Deno.writeTextFile(hostsPath, "127.0.0.1 localhost\n");
  await Deno.writeTextFile(`${dir}/kubeconfig`, "apiVersion: v1\nkind: Config\n");
  await Deno.mkdir(`${dir}/bin`);
  const path = await writeSimulatorWrapper(`${dir}/bin`, {
    KUBEFWD_SIM_SCENARIO: await writeScenario(dir, scenario(["web-1"])),
    KUBEFWD_SIM_VERSION: "1.22.3",
    KUBEFWD_SIM_HOSTS: hostsPath,
    KUBEFWD_SIM_PIDFILE: `${dir}/pids`,
  });
  const settings: KubefwdSettings = {
    path,
    privilege: "auto",
    extraArgs: [],
    hostsPath,
    stopTimeoutMs: 5000,
  };
  const logs: LogEntry[] = [];
  const api = new FakeApiProbes();
  const state = emptyState();
  // A range of its own, away from the other simulator tests (which start at 127.3).
  const n = 100 + Math.floor(Math.random() * 151);
  state.profiles.a = {
    counters: { restarts: 0, failures: 0, totalUptimeMs: 0 },
    events: [],
    baseIp: `127.${n}.27.1`,
  };
  const sup = new Supervisor({
    spawner: new DenoSpawner(),
    clock: realClock,
    log: { write: (e) => logs.push(e) },
    prober: new SocketProber(),
    serviceLister: new FakeServiceLister(),
    apiProbes: api,
    hostsFile: (s) => new FileHostsFile(s.hostsPath),
    isRoot: true,
    stateDir: dir,
    state,
    persist: () => {},
    env: { PATH: "/usr/bin:/bin" },
    home: dir,
    stopOptions: { secondTermWaitMs: 1000, killWaitMs: 5000 },
    tuning: {
      startStaggerMs: 0,
      apiWatch: { intervalMs: 100, downIntervalMs: 100, timeoutMs: 500, resolveRetryMs: 1000 },
      podReturn: { pollMs: 100, graceMs: 100, settleMs: 300, maxPolled: 20 },
    },
  });
  const status = () => sup.status(["a"], { details: true })[0];
  const until = async (cond: () => boolean, what: string) => {
    try {
      await waitFor(cond, 20_000, { step: 10 });
    } catch (e) {
      if (!isTimeoutError(e)) throw e;
      const tail = logs.slice(-30).map((l) => `${l.source} ${l.message}`).join("\n");
      throw new Error(`timed out waiting for ${what}\n${tail}`);
    }
  };
  const forwarded = () => status().forwards.filter((f) => f.state === "up").map((f) => f.hostname).sort();
  try {
    const profile: ProfileSpec = testProfile("a", {
      kubeconfig: `${dir}/kubeconfig`,
      context: "sim",
      health: { intervalMs: 200, timeoutMs: 500, failureThreshold: 2 },
    });
    sup.reconcile({
      path: `${dir}/config.yaml`,
      daemon: { logLevel: "info", logFile: "", pidFile: "", socketPath: "", stateDir: dir },
      kubefwd: settings,
      profiles: [profile],
    });
    await until(() => forwarded().join() === "api,web", "both forwards up");
    // Give the daemon a few rounds to see web forwarded (its API checks run at the same pace).
    const checks = api.checks;
    await until(() => api.checks >= checks + 3, "a few API checks with web up");
    assert.deepEqual(api.readyPodsAsked, [], "nothing missing: nothing asked");

    // web's pods are gone when kubefwd restarts: 1.22 never forwards it.
    await writeScenario(dir, scenario([]));
    await sup.restart(["a"]);
    await until(() => api.readyPodsAsked.length >= 10, "the daemon asking about web");
    assert.ok(api.readyPodsAsked.every((k) => k === "ns/web"), api.readyPodsAsked.join());
    assert.deepEqual(forwarded(), ["api"]);
    assert.equal(status().restarts, 1, "no Ready pod: no restart, however often it is asked");

    // The replacement is Ready.
    await writeScenario(dir, scenario(["web-2"]));
    api.readyPods.set("ns/web", { kind: "pods", ready: 1 });
    await until(() => forwarded().join() === "api,web", "web forwarded again");
    const s = status();
    assert.equal(s.forwards.find((f) => f.hostname === "web")!.pod, "web-2");
    assert.equal(s.restarts, 2);
    assert.deepEqual(s.events!.flatMap((e) => e.restart ? [e.restart] : []), ["manual", "pod_returned"]);
    assert.ok(
      logs.some((l) => /restarting: web has a Ready pod again, which kubefwd 1\.22\.3/.test(l.message)),
      "the log says why",
    );
    const asked = api.readyPodsAsked.length;
    const checksNow = api.checks;
    await until(() => api.checks >= checksNow + 3, "a few more API checks");
    assert.equal(api.readyPodsAsked.length, asked, "nothing missing any more: nothing asked");
  } finally {
    await sup.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
