/**
 * Surviving the daemon's own death: after `kill -9` of the daemon, the next start
 * kills the kubefwd it orphaned (verified by /proc, not by name), removes exactly that child's hosts
 * lines, and restores enable/disable choices and counters from the state file. Also: many concurrent
 * clients, and garbage on the socket leaves the daemon answering.
 */
import assert from "node:assert/strict";
import { MAIN, processAlive, TestEnv, waitFor } from "./harness.ts";
import type { ProfileStatus } from "../../lib/supervisor/types.ts";
import { connectDaemon } from "../../lib/ipc/client.ts";
import { VERSION } from "../../lib/version.ts";

const SCENARIO = {
  // Ports unique to this file (parallel test files share 127.3.x). The orphan must survive the parent-death SIGTERM, as a stuck kubefwd would.
  ignoreSigterm: true,
  namespaces: {
    "team-a": { services: [{ name: "api", ports: [{ port: 18190 }], pods: ["api-1"] }] },
    "team-b": { services: [{ name: "web", ports: [{ port: 18191 }], pods: ["web-1"] }] },
  },
};

function profiles(env: TestEnv): string {
  const p = (name: string, ns: string) =>
    `  ${name}:\n    kubeconfig: ${env.dir}/.kube/config\n    context: sim\n    namespaces: [${ns}]\n` +
    "    retry: { initial_delay: 100ms, max_delay: 500ms }\n    health: { interval: 1s, timeout: 1s, failure_threshold: 3 }\n";
  return env.configHeader() + "profiles:\n" + p("alpha", "team-a") + p("beta", "team-b");
}

async function profile(env: TestEnv, name: string): Promise<ProfileStatus> {
  return (await env.status()).profiles.find((p) => p.name === name)!;
}

async function healthy(env: TestEnv, name: string): Promise<ProfileStatus | undefined> {
  const p = await profile(env, name);
  return p.state === "running" && p.forwards.length > 0 && p.forwards.every((f) => f.state === "up")
    ? p
    : undefined;
}

Deno.test("kill -9 of the daemon: orphans removed, choices and counters restored", async () => {
  await using env = await TestEnv.create({ scenario: SCENARIO });
  await env.writeConfig(profiles(env));
  await env.startDaemon();
  await waitFor(() => healthy(env, "alpha"), "alpha healthy");
  assert.equal((await env.cli("restart", "alpha")).code, 0);
  const alpha = await waitFor(() => healthy(env, "alpha"), "alpha healthy after restart");
  assert.equal(alpha.restarts, 1);
  assert.equal((await env.cli("disable", "beta")).code, 0);
  const orphanPid = alpha.pid!;
  const orphanIp = alpha.forwards[0].ip;
  await waitFor(
    async () => (await Deno.readTextFile(env.hostsPath)).includes(orphanIp),
    "alpha's hosts line",
  );
  // An unrelated line in the same IP range must survive the cleanup.
  await Deno.writeTextFile(env.hostsPath, "127.9.27.9 someone-else\n", { append: true });
  await waitFor(async () => {
    const s = JSON.parse(await Deno.readTextFile(`${env.stateDir}/state.json`));
    return s.profiles.alpha?.child?.pid === orphanPid && s.profiles.beta?.enabledOverride === false;
  }, "state file records the child and the override");

  Deno.kill(env.daemon!.pid, "SIGKILL");
  const dead = await env.daemonExit();
  assert.equal(dead.signal, "SIGKILL");
  assert.ok(processAlive(orphanPid), "kubefwd outlived the daemon (ignores SIGTERM)");

  const r = await env.cli("start");
  assert.equal(r.code, 0, r.stderr);
  await waitFor(() => !processAlive(orphanPid), "orphaned kubefwd killed by the new daemon");
  const restored = await waitFor(() => healthy(env, "alpha"), "alpha healthy under the new daemon");
  assert.notEqual(restored.pid, orphanPid);
  assert.equal(restored.restarts, 1, "restart counter restored from the state file");
  const beta = await profile(env, "beta");
  assert.equal(beta.state, "disabled");
  assert.equal(beta.enabledSource, "cli");
  const hosts = await Deno.readTextFile(env.hostsPath);
  assert.match(hosts, /127\.9\.27\.9 someone-else/);
  assert.match(hosts, /^127\.0\.0\.1 localhost$/m);
  const logs = await env.cli("logs", "-n", "200");
  assert.match(
    logs.stdout,
    new RegExp(`previous daemon left kubefwd of profile alpha \\(pid ${orphanPid}\\)`),
  );
  assert.equal((await env.cli("stop")).code, 0);
  assert.deepEqual(env.liveSimulators(), []);
});

Deno.test("200 concurrent status calls (CLI processes and raw connections) and 1000 garbage frames", async () => {
  await using env = await TestEnv.create({ scenario: { namespaces: {} } });
  await env.writeConfig(env.configHeader() + "profiles: {}\n");
  await env.startDaemon();

  // The CLI's own client code, 200 connections at once.
  const results = await Promise.all(Array.from({ length: 200 }, async () => {
    await using closing = new AsyncDisposableStack();
    const c = closing.adopt(
      await connectDaemon(env.socketPath, { clientVersion: VERSION }),
      (c) => c.close(),
    );
    return await c.request({ type: "status", profiles: [] });
  }));
  assert.equal(results.length, 200);
  assert.ok(results.every((s) => s.daemon.pid === env.daemon!.pid));

  // And 200 real CLI processes started at once.
  const cli = await Promise.all(Array.from({ length: 200 }, () => env.cli("--json", "status")));
  assert.ok(cli.every((r) => r.code === 0), cli.map((r) => r.stderr).join(""));
  assert.ok(cli.every((r) => JSON.parse(r.stdout).daemon.pid === env.daemon!.pid));

  const enc = new TextEncoder();
  const garbage = ["not json", "{", "[1,2,3]", '{"type":"hello"}', "\u0000\u0001", '{"id":"x"}', "null"];
  for (let i = 0; i < 1000; i += 50) {
    await Promise.all(Array.from({ length: 50 }, async (_, j) => {
      using conn = await Deno.connect({ transport: "unix", path: env.socketPath });
      await conn.write(enc.encode(garbage[(i + j) % garbage.length] + "\n"));
      const buf = new Uint8Array(4096);
      await conn.read(buf).catch(() => null);
    }));
  }
  // Garbage after a valid hello on one connection.
  const conn = await Deno.connect({ transport: "unix", path: env.socketPath });
  await conn.write(
    enc.encode(JSON.stringify({ type: "hello", protocolVersion: 1, clientVersion: "x" }) + "\n"),
  );
  await conn.write(enc.encode("x".repeat(2 * 1024 * 1024) + "\n")).catch(() => 0);
  conn.close();

  const r = await env.cli("--json", "status");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).daemon.pid, env.daemon!.pid);
  assert.equal((await env.cli("stop")).code, 0);
  const exit = await env.daemonExit();
  assert.equal(exit.code, 0);
});

Deno.test("a second daemon on the same state directory is refused", async () => {
  await using env = await TestEnv.create();
  await env.writeConfig(env.configHeader() + "profiles: {}\n");
  await env.startDaemon();
  const second = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", MAIN, "daemon", "--socket", `${env.dir}/run/other.sock`],
    env: env.env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(second.code, 1);
  assert.match(new TextDecoder().decode(second.stderr), /another daemon \(pid \d+\)/);
  assert.equal((await env.cli("status")).code, 0);
});

Deno.test("SIGTERM while the orphans of a killed daemon are being stopped: recovery finishes and is saved first", async () => {
  await using env = await TestEnv.create({ scenario: SCENARIO });
  await env.writeConfig(profiles(env));
  await env.startDaemon();
  const alpha = await waitFor(() => healthy(env, "alpha"), "alpha healthy");
  const orphanPid = alpha.pid!;
  await waitFor(async () => {
    const s = JSON.parse(await Deno.readTextFile(`${env.stateDir}/state.json`));
    return s.profiles.alpha?.child?.pid === orphanPid;
  }, "state file records the child");
  Deno.kill(env.daemon!.pid, "SIGKILL");
  await env.daemonExit();
  assert.ok(processAlive(orphanPid), "kubefwd outlived the daemon (ignores SIGTERM)");

  // The new daemon answers while it still escalates on the orphan (it ignores SIGTERM): stop it then.
  await env.startDaemon();
  assert.ok(processAlive(orphanPid), "the recovery is still under way");
  Deno.kill(env.daemon!.pid, "SIGTERM");
  const exit = await env.daemonExit();
  assert.equal(exit.code, 0, exit.output);
  assert.ok(!processAlive(orphanPid), "the orphan was stopped before the daemon exited");
  const saved = JSON.parse(await Deno.readTextFile(`${env.stateDir}/state.json`));
  assert.equal(
    saved.profiles.alpha?.child,
    undefined,
    "forgetting the orphan was saved before the state closed",
  );
});
