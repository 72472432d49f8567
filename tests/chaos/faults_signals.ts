/** Faults of the daemon process itself: signal storms, SIGKILL in the middle of a restart, suspend/resume. */
import assert from "node:assert/strict";
import { connectDaemon } from "../../lib/ipc/client.ts";
import type { ProfileState } from "../../lib/supervisor/types.ts";
import { VERSION } from "../../lib/version.ts";
import { processAlive, signalQuietly, waitFor } from "../integration/harness.ts";
import { BYSTANDER, type ChaosEnv, TARGET } from "./chaos_env.ts";
import { fault } from "./suite.ts";

fault("SIGHUP/SIGTERM storms", async ({ env, run, note }) => {
  await run("500 SIGHUPs, config unchanged", async () => {
    const before = (await env.status()).profiles.map((p) => p.pid);
    for (let i = 0; i < 500; i++) {
      signalQuietly(env.t.daemon!, "SIGHUP");
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 1)); // let the daemon's loop run between bursts
    }
    assert.equal((await env.cli("reload")).code, 0);
    assert.deepEqual((await env.status()).profiles.map((p) => p.pid), before);
  });
  await run("SIGHUPs around a config change", async () => {
    const old = (await env.waitHealthy(TARGET)).pid;
    for (let i = 0; i < 100; i++) signalQuietly(env.t.daemon!, "SIGHUP");
    await env.t.writeConfig(env.configText("    allow_empty: true\n"));
    for (let i = 0; i < 100; i++) signalQuietly(env.t.daemon!, "SIGHUP");
    await waitFor(async () => (await env.profile(TARGET)).allowEmpty, "the change applied");
    const now = await env.waitHealthy(TARGET);
    assert.notEqual(now.pid, old, "restarted once for the changed spec");
  });
  await run("100 SIGTERMs mixed with SIGHUPs: one clean exit", async () => {
    for (let i = 0; i < 100; i++) {
      signalQuietly(env.t.daemon!, "SIGTERM");
      signalQuietly(env.t.daemon!, "SIGHUP");
    }
    const exit = await env.t.daemonExit();
    assert.equal(exit.code, 0, exit.output.slice(-2000));
    return [exit.output];
  }, { daemonRunning: false });
  await run("SIGTERMs while the daemon starts", async () => {
    const starting = env.t.startDaemon().catch(() => undefined);
    const daemon = env.t.daemon!;
    for (let i = 0; i < 50; i++) {
      signalQuietly(daemon, "SIGTERM");
      await new Promise((r) => setTimeout(r, 5)); // spread over the startup
    }
    await starting;
    const exit = await env.t.daemonExit();
    // A SIGTERM before the runtime runs any JavaScript meets the default action (nothing is started yet);
    // from main.ts's first statement on, it is a clean shutdown.
    assert.ok(
      exit.code === 0 || exit.signal === "SIGTERM",
      `exit ${exit.code} ${exit.signal}: ${exit.output.slice(-2000)}`,
    );
    note(
      exit.code === 0
        ? "startup SIGTERMs: clean exit 0"
        : "startup SIGTERMs: killed before any JavaScript ran",
    );
  }, { daemonRunning: false });
  await run("started again: state restored", async () => {
    await env.restartDaemon();
  });
  note("500 + 200 SIGHUPs, 150 SIGTERMs");
});

/** Polls the daemon's status through one connection (fast) until the target profile is in `state`. */
async function waitForState(
  env: ChaosEnv,
  states: ProfileState[],
  timeoutMs = 15_000,
): Promise<ProfileState> {
  const client = await connectDaemon(env.t.socketPath, { clientVersion: VERSION });
  try {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const s = await client.request({ type: "status", profiles: [TARGET] });
      const state = s.profiles[0].state;
      if (states.includes(state)) return state;
    }
    throw new Error(`alpha never reached ${states.join("/")}`);
  } finally {
    client.close();
  }
}

fault("daemon SIGKILL in the middle of a restart", async ({ env, run, note }) => {
  const cases: [string, ProfileState[], () => Promise<void>][] = [
    ["while stopping", ["stopping"], async () => {}],
    ["while starting", ["starting"], async () => {}],
    ["while backing off", ["backoff"], async () => {
      await env.setScenario({
        slowShutdownMs: 1500,
        actions: [{ type: "crash", atMs: 100, onlyIn: "chaos-a" }],
      });
    }],
  ];
  for (const [label, states, prepare] of cases) {
    await run(label, async () => {
      await prepare();
      const old = (await env.status()).profiles.find((p) => p.name === TARGET)!.pid;
      const restart = env.cli("restart", TARGET);
      const caught = await waitForState(env, states);
      // The restart's old child must be gone before "starting" counts.
      if (caught === "starting") {
        await waitFor(async () => (await env.profile(TARGET)).pid !== old, "new child");
      }
      Deno.kill(env.daemonPid, "SIGKILL");
      await restart;
      const dead = await env.t.daemonExit();
      assert.equal(dead.signal, "SIGKILL");
      await env.setScenario({ slowShutdownMs: 1500 });
      await env.restartDaemon();
      return [dead.output];
    });
  }
  note("kubefwd shuts down slowly (1.5 s), so the kill lands inside the restart");
}, { scenario: { slowShutdownMs: 1500 } });

/** Seconds the daemon is stopped (CHAOS_SUSPEND_SECONDS, default 60: the number). */
const SUSPEND_SECONDS = Number(Deno.env.get("CHAOS_SUSPEND_SECONDS") ?? "60");

fault("clock jump (SIGSTOP/SIGCONT)", async ({ env, run, note }) => {
  await run(`daemon stopped ${SUSPEND_SECONDS} s while its child crashes`, async () => {
    const beta = (await env.waitHealthy(BYSTANDER)).pid!;
    await env.setScenario({ actions: [{ type: "crash", atMs: 3000, exitCode: 1, onlyIn: "chaos-a" }] });
    assert.equal((await env.cli("restart", TARGET)).code, 0);
    const child = (await env.waitHealthy(TARGET)).pid!;
    Deno.kill(env.daemonPid, "SIGSTOP");
    let cliDuring: { code: number; stderr: string; ms: number } | undefined;
    try {
      const t0 = Date.now();
      const r = await env.cli("status");
      cliDuring = { code: r.code, stderr: r.stderr, ms: Date.now() - t0 };
      await waitFor(() => !processAlive(child), "the child's crash during the stop", 20_000);
      await env.setScenario({});
      const left = SUSPEND_SECONDS * 1000 - (Date.now() - t0);
      if (left > 0) await new Promise((r) => setTimeout(r, left)); // the suspension itself is the fault
    } finally {
      Deno.kill(env.daemonPid, "SIGCONT");
    }
    const said = /did not answer[^\n]*/.exec(cliDuring?.stderr ?? "")?.[0].replace(/\/\S+/g, "…");
    note(
      `status while stopped: exit ${cliDuring?.code} after ${cliDuring?.ms} ms ("${
        said ?? cliDuring?.stderr
      }")`,
    );
    assert.notEqual(cliDuring?.code, 0, "the CLI gave up on a stopped daemon");
    const now = await env.waitHealthy(TARGET, 30_000);
    assert.notEqual(now.pid, child, "the crash was seen after the resume and handled");
    assert.equal((await env.profile(BYSTANDER)).pid, beta, "the bystander kept its child");
  });
});
