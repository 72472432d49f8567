/**
 * Zombie forwards on the real cluster (docs/health-probes.md): `status` must never say `up` while requests
 * fail. Per kubefwd version, one daemon, in order: HTTP and TCP probes on real forwards; the apiserver
 * frozen (SIGSTOP) for 30 s; kwok (the node) stopped for 20 s; a simulated suspend (daemon and kubefwd
 * stopped for 60 s while the apiserver restarts). The fault durations are the faults being injected; every
 * result is a bounded wait, and the measured times are printed for the reports.
 *
 * Run through tests/e2e/run.sh, like daemon_e2e_test.ts.
 */
import assert from "node:assert/strict";
import { type TestEnv, waitFor } from "../integration/harness.ts";
import { cluster, e2eEnv, env, httpGet, profileConfig } from "./e2e_helpers.ts";
import type { ForwardStatus, ProfileStatus } from "../../lib/supervisor/types.ts";

const versions = (Deno.env.get("KFD_E2E_KUBEFWD_VERSIONS") ?? "").split(/\s+/).filter(Boolean);
if (versions.length === 0) throw new Error("KFD_E2E_KUBEFWD_VERSIONS is empty: run through tests/e2e/run.sh");

const answersEchoA = async () =>
  (await httpGet("http://echo-a:8080/", 1))?.includes("echo name=echo-a") ?? false;

async function profile(te: TestEnv): Promise<ProfileStatus> {
  return (await te.status()).profiles[0];
}

function echoA(p: ProfileStatus): ForwardStatus | undefined {
  return p.forwards.find((f) => f.hostname === "echo-a" && f.port === 8080);
}

/** The fault's own duration: a fixed wait is the fault being injected, not a wait for a result. */
function hold(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

/** The apiserver's pid: cluster.sh's pid files hold `PID START_TIME`. */
async function apiserverPid(): Promise<number> {
  const text = await Deno.readTextFile(`${env("KFD_E2E_RUN")}/pids/kube-apiserver.pid`);
  return Number(text.trim().split(/\s+/)[0]);
}

/** Signals one process; refuses anything but a real pid (kill(0) would stop this test's own group). */
function signal(pid: number, sig: Deno.Signal): void {
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`refusing to send ${sig} to pid ${pid}`);
  try {
    Deno.kill(pid, sig);
  } catch {
    // gone already
  }
}

async function dump(te: TestEnv, why: string): Promise<void> {
  const status = await te.cli("--json", "status", "e2e").catch((x) => ({ stdout: String(x) }));
  const logs = await te.cli("logs", "e2e", "-n", "120").catch((x) => ({ stdout: String(x) }));
  console.log(`--- ${why}; status:\n${status.stdout}\n--- daemon logs:\n${logs.stdout}\n---`);
}

/** echo-b:9090 is a plain HTTP echo too; probing it as TCP stands for a service that speaks something else. */
async function withTcpProbe(te: TestEnv, kubeconfig: string, version: string): Promise<void> {
  const text = profileConfig(version, kubeconfig).replace(
    "    health: { interval: 1s, timeout: 1s, failure_threshold: 2 }",
    '    health: { interval: 1s, timeout: 1s, failure_threshold: 2, tcp: ["echo-b:9090"] }',
  );
  assert.match(text, /tcp: \["echo-b:9090"\]/, "the e2e profile's health line changed: update this test");
  await te.writeConfig(text);
}

for (const version of versions) {
  let setup: Promise<TestEnv> | undefined;
  const step = (name: string, fn: (te: TestEnv) => Promise<void>, last = false) =>
    Deno.test({
      name: `zombie e2e kubefwd ${version}: ${name}`,
      sanitizeOps: false,
      sanitizeResources: false,
      fn: async () => {
        setup ??= (async () => {
          const { env: te, kubeconfig } = await e2eEnv(version);
          await withTcpProbe(te, kubeconfig, version);
          await te.startDaemon();
          return te;
        })();
        const te = await setup;
        try {
          await fn(te);
        } catch (e) {
          await dump(te, `${version} ${name} failed`);
          throw e;
        } finally {
          if (last) await te.cleanup();
        }
      },
    });

  step("HTTP probe on the echo service, a held TCP connection on the other forward; both up", async (te) => {
    const r = await te.cli("status", "--wait-healthy", "--timeout", "60s");
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const p = await profile(te);
    assert.equal(echoA(p)?.probe, "http");
    assert.equal(echoA(p)?.state, "up");
    const tcp = p.forwards.find((f) => f.hostname === "echo-b" && f.port === 9090);
    assert.equal(tcp?.probe, "tcp");
    assert.equal(tcp?.state, "up");
    assert.equal(p.apiserver?.state, "reachable");
    await waitFor(answersEchoA, "echo-a answering", 20_000, 200);
  });

  step(
    "apiserver frozen 30 s: not up within 5 s with the API reason, no restart; answering within 3 s of the thaw",
    async (te) => {
      const before = await profile(te);
      const pid = await apiserverPid();
      const t0 = Date.now();
      signal(pid, "SIGSTOP");
      try {
        const seen = await waitFor(
          async () => {
            const p = await profile(te);
            const f = echoA(p);
            return f && f.state !== "up" && /apiserver unreachable/.test(p.stateDetail ?? "") ? p : undefined;
          },
          "echo-a not up, with the API reason",
          5_000,
          100,
        );
        console.log(
          `kubefwd ${version}: frozen apiserver shown after ${Date.now() - t0} ms: ${seen.state}, ` +
            `echo-a ${echoA(seen)?.state} (${echoA(seen)?.reason}); ${seen.stateDetail}`,
        );
        while (Date.now() - t0 < 30_000) {
          const p = await profile(te);
          assert.equal(p.pid, before.pid, "no restart during the freeze");
          assert.notEqual(echoA(p)?.state, "up", "never up while frozen");
          await hold(1000);
        }
      } finally {
        signal(pid, "SIGCONT");
      }
      const t1 = Date.now();
      await waitFor(answersEchoA, "echo-a answering after the thaw", 3_000, 100);
      const answered = Date.now() - t1;
      await waitFor(async () => echoA(await profile(te))?.state === "up", "status up again", 10_000, 100);
      const after = await profile(te);
      console.log(
        `kubefwd ${version}: after the thaw echo-a answered in ${answered} ms, status up in ${
          Date.now() - t1
        } ms; ` +
          `restarts ${before.restarts} → ${after.restarts}`,
      );
    },
  );

  step(
    "kwok stopped 20 s: not up within 5 s, at most one restart, answering within 3 s of its return",
    async (te) => {
      const before = await profile(te);
      let duringOutage = -1;
      const t0 = Date.now();
      await cluster("stop", "kwok");
      try {
        const seen = await waitFor(
          async () => {
            const p = await profile(te);
            const f = echoA(p);
            return f === undefined || f.state !== "up" ? p : undefined;
          },
          "echo-a not up",
          5_000,
          100,
        );
        console.log(
          `kubefwd ${version}: node outage shown after ${Date.now() - t0} ms: ${seen.state}, ` +
            `echo-a ${echoA(seen)?.state ?? "gone"} (${echoA(seen)?.reason ?? ""}); ${seen.stateDetail}`,
        );
        await hold(20_000 - (Date.now() - t0));
      } finally {
        duringOutage = (await profile(te)).restarts - before.restarts;
        await cluster("start", "kwok");
      }
      const t1 = Date.now();
      let answered = -1;
      try {
        await waitFor(answersEchoA, "echo-a answering after kwok's return", 3_000, 100);
        answered = Date.now() - t1;
      } finally {
        if (answered < 0) {
          await waitFor(answersEchoA, "echo-a answering at all after kwok's return", 60_000, 200).catch(() =>
            false
          );
          console.log(
            `kubefwd ${version}: after kwok's return echo-a answered only after ${Date.now() - t1} ms`,
          );
        }
      }
      const after = await profile(te);
      console.log(
        `kubefwd ${version}: after kwok's return echo-a answered in ${answered} ms; restarts during the ` +
          `outage ${duringOutage}, in all ${after.restarts - before.restarts}`,
      );
      // 1.22.x never reconnects: the restart that brings it back after the node's return is the recovery.
      assert.ok(duringOutage <= 1, `${duringOutage} restarts while the node was away`);
    },
  );

  step(
    "simulated suspend (daemon and kubefwd stopped 60 s while the apiserver restarts): answering within 5 s",
    async (te) => {
      const before = await profile(te);
      const daemonPid = te.daemon!.pid;
      const kubefwdPid = before.pid!;
      const t0 = Date.now();
      signal(kubefwdPid, "SIGSTOP");
      signal(daemonPid, "SIGSTOP");
      try {
        await cluster("stop", "apiserver");
        await cluster("start", "apiserver");
        await hold(60_000 - (Date.now() - t0));
      } finally {
        signal(kubefwdPid, "SIGCONT");
        signal(daemonPid, "SIGCONT");
      }
      const t1 = Date.now();
      await waitFor(answersEchoA, "echo-a answering after the wake", 5_000, 100);
      const answered = Date.now() - t1;
      const logs = await te.cli("logs", "e2e", "-n", "200");
      const after = await profile(te);
      console.log(
        `kubefwd ${version}: after the wake echo-a answered in ${answered} ms; restarts ${before.restarts} → ` +
          `${after.restarts}; wake logged: ${/woke up after/.test(logs.stdout)}`,
      );
    },
  );

  step("stop", async (te) => {
    assert.equal((await te.cli("stop")).code, 0);
    assert.equal((await te.daemonExit()).code, 0);
  }, true);
}
