/** Faults of the kubefwd child: crash loops, a child that ignores SIGTERM, log floods, a closed stdout. */
import assert from "node:assert/strict";
import { processAlive, waitFor } from "../integration/harness.ts";
import { BYSTANDER, type ChaosEnv, TARGET } from "./chaos_env.ts";
import { fault } from "./suite.ts";

/** Number of simulator starts recorded so far (every `svc` start appends one line). */
export function simStarts(env: ChaosEnv): number {
  try {
    return Deno.readTextFileSync(env.t.simPidFile).trim().split("\n").filter(Boolean).length;
  } catch {
    return 0;
  }
}

/** Pid of the bystander's child, which no fault of the target may touch. */
async function bystanderPid(env: ChaosEnv): Promise<number> {
  return (await env.waitHealthy(BYSTANDER)).pid!;
}

fault("child crash loop", async ({ env, run, note }) => {
  const variants = [
    { label: "exit 1", action: { type: "crash" as const, atMs: 150, exitCode: 1 } },
    { label: "Go panic", action: { type: "crash" as const, atMs: 150, panic: "runtime error: nil map" } },
    { label: "SIGABRT", action: { type: "crash" as const, atMs: 150, signal: "SIGABRT" as const } },
  ];
  let crashes = 0;
  for (const v of variants) {
    await run(`crash loop (${v.label})`, async () => {
      const beta = await bystanderPid(env);
      const before = await env.profile(TARGET);
      await env.setScenario({ actions: [{ ...v.action, onlyIn: "chaos-a" }] });
      assert.equal((await env.cli("restart", TARGET)).code, 0);
      await waitFor(
        async () => (await env.profile(TARGET)).failures >= before.failures + 3,
        "three crashes counted",
        30_000,
      );
      crashes += 3;
      await env.setScenario({});
      const after = await env.waitHealthy(TARGET, 30_000);
      assert.ok(after.failures >= before.failures + 3);
      assert.equal((await env.profile(BYSTANDER)).pid, beta, "the bystander was not touched");
    });
  }
  note(`≥ ${crashes} crashes (exit 1, panic, SIGABRT), each loop ended by a healthy child`);
});

fault("child ignoring SIGTERM", async ({ env, run, note }) => {
  for (let i = 1; i <= 2; i++) {
    await run(`restart #${i} escalates to SIGKILL`, async () => {
      const old = (await env.waitHealthy(TARGET)).pid!;
      assert.equal((await env.cli("restart", TARGET)).code, 0);
      const now = await env.waitHealthy(TARGET);
      assert.notEqual(now.pid, old);
      assert.ok(!processAlive(old), "the old kubefwd is gone");
    });
  }
  await run("disable kills it and cleans its hosts lines", async () => {
    assert.equal((await env.cli("disable", TARGET)).code, 0);
    const p = await env.profile(TARGET);
    assert.equal(p.state, "disabled");
    assert.equal(p.pid, null);
  });
  await run("enable again", async () => {
    assert.equal((await env.cli("enable", TARGET)).code, 0);
    await env.waitHealthy(TARGET);
  });
  note("every child ignores SIGTERM; the final stop kills both");
}, { scenario: { ignoreSigterm: true } });

fault("child log flood", async ({ env, run, note }) => {
  const flood = (linesPerSecond: number, durationMs: number) => ({
    type: "flood" as const,
    atMs: 100,
    linesPerSecond,
    durationMs,
    message: `Runtime: flood Authorization: Bearer ${env.secrets.kubeconfigToken} line`,
    onlyIn: "chaos-a",
  });
  for (const [rate, ms] of [[20_000, 3000], [50_000, 2000]]) {
    await run(`${rate} lines/s for ${ms} ms`, async () => {
      await env.setScenario({ actions: [flood(rate, ms)] });
      const pidBefore = simStarts(env);
      assert.equal((await env.cli("restart", TARGET)).code, 0);
      await waitFor(() => simStarts(env) > pidBefore, "the flooding child started");
      // The daemon answers while the flood runs.
      const t0 = Date.now();
      const s = await env.cli("status");
      assert.equal(s.code, 0);
      note(`status during ${rate}/s: ${Date.now() - t0} ms`);
      await waitFor(
        async () => (await env.cli("logs", TARGET, "-n", "200")).stdout.includes("suppressed"),
        "the suppression notice",
        20_000,
      );
      await env.setScenario({});
      await env.waitHealthy(TARGET);
      const rss = Number(
        /VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${env.daemonPid}/status`))?.[1] ?? 0,
      );
      note(`daemon RSS after ${rate}/s: ${(rss / 1024).toFixed(0)} MB`);
      assert.ok(rss < 200 * 1024, `daemon RSS ${rss} kB`);
    });
  }
});

fault("child closing its stdout", async ({ env, run }) => {
  await run("stdout closed, child lives on", async () => {
    await env.setScenario({ actions: [{ type: "close_stdout", atMs: 200, onlyIn: "chaos-a" }] });
    assert.equal((await env.cli("restart", TARGET)).code, 0);
    const p = await env.waitHealthy(TARGET);
    // Several probe rounds later it is still the same healthy child.
    await waitFor(async () => (await env.profile(TARGET)).uptimeSeconds >= 3, "3 s of uptime", 20_000);
    const again = await env.waitHealthy(TARGET);
    assert.equal(again.pid, p.pid);
  });
  await run("stopping a child whose stdout is closed", async () => {
    const p = await env.waitHealthy(TARGET);
    assert.equal((await env.cli("restart", TARGET)).code, 0);
    const q = await env.waitHealthy(TARGET);
    assert.notEqual(q.pid, p.pid);
    assert.ok(!processAlive(p.pid!));
  });
  await run("stdout closed, then the child crashes", async () => {
    await env.setScenario({
      actions: [
        { type: "close_stdout", atMs: 200, onlyIn: "chaos-a" },
        { type: "crash", atMs: 1500, exitCode: 3, onlyIn: "chaos-a" },
      ],
    });
    const before = await env.profile(TARGET);
    assert.equal((await env.cli("restart", TARGET)).code, 0);
    await waitFor(
      async () => (await env.profile(TARGET)).failures > before.failures,
      "the crash seen",
      20_000,
    );
    await env.setScenario({});
    await env.waitHealthy(TARGET, 20_000);
  });
});
