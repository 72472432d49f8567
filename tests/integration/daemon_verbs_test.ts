/**
 * The CLI contract (README.md) end to end through the real CLI: the daemon started detached by `start`, every
 * verb, socket permissions, and a clean `stop` that leaves no kubefwd behind. Reload semantics:
 * daemon_reload_test.ts. Every test runs its own daemon.
 */
import assert from "node:assert/strict";
import { MAIN, signalQuietly, TestEnv, waitFor } from "./harness.ts";
import { alphaBeta, healthyDaemon, profileOf, profileYaml, runningWithForwards } from "./verbs_fixture.ts";
import { readUntil, withDeadline } from "../deadline.ts";
import type { StatusResult } from "../../lib/ipc/protocol.ts";

// Ports unique to this file: test files run in parallel and every test daemon starts its IP ranges at 127.3.
const SCENARIO = {
  namespaces: {
    "team-a": {
      services: [{ name: "api", ports: [{ port: 18180, targetPort: 8080 }], pods: ["api-7d9f-aaaaa"] }],
    },
    "team-b": { services: [{ name: "web", ports: [{ port: 18181 }], pods: ["web-5c6d-bbbbb"] }] },
  },
};

Deno.test("a daemon's life through the real CLI: start, wait until healthy, stop", async (t) => {
  await using env = await TestEnv.create({ scenario: SCENARIO });
  await env.writeConfig(alphaBeta(env));
  let daemonPid = 0;
  await t.step("start detaches, waits for the socket, and is idempotent", async () => {
    const r = await env.cli("start");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /daemon started \(pid \d+/);
    const again = await env.cli("--json", "start");
    assert.equal(again.code, 0);
    const body = JSON.parse(again.stdout);
    assert.equal(body.started, false);
    daemonPid = body.pid;
    assert.ok(daemonPid > 0);
  });

  await t.step("status --wait-healthy returns once every forward is up", async () => {
    const r = await env.cli("status", "--wait-healthy", "--timeout", "30s");
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /healthy: alpha, beta/);
  });

  await t.step("the daemon is the one start reported", async () => {
    assert.equal((await env.status()).daemon.pid, daemonPid);
  });

  await t.step("stop shuts the daemon down and leaves no kubefwd and no hosts lines", async () => {
    const r = await env.cli("stop");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /daemon stopped \(pid \d+\)/);
    assert.deepEqual(env.liveSimulators(), []);
    assert.equal((await env.cli("status")).code, 3);
    const hosts = await Deno.readTextFile(env.hostsPath);
    assert.doesNotMatch(hosts, /127\.\d+\.27\./);
    await assert.rejects(Deno.stat(env.socketPath));
  });
});

Deno.test("a running daemon: socket, status and logs", async (t) => {
  // These steps only read: each sees the daemon as healthyDaemon() left it.
  await using d = await healthyDaemon(SCENARIO);
  const env = d.env;
  await t.step("socket is 0600 inside a 0700 directory", async () => {
    const sock = await Deno.stat(env.socketPath);
    assert.equal(sock.mode! & 0o777, 0o600);
    const dir = await Deno.stat(env.socketPath.replace(/\/[^/]+$/, ""));
    assert.equal(dir.mode! & 0o777, 0o700);
  });

  await t.step("status --json has the documented shape", async () => {
    const status = await env.status();
    assert.deepEqual(Object.keys(status.daemon).sort(), [
      "configPath",
      "controlConnections",
      "eventHistory",
      "metricsEndpoint",
      "persistence",
      "pid",
      "privateMemoryBytes",
      "residentMemoryBytes",
      "socketPath",
      "startedAt",
      "uptimeSeconds",
      "version",
    ]);
    assert.equal(status.daemon.pid, d.pid);
    assert.equal(status.daemon.socketPath, env.socketPath);
    const alpha = profileOf(status, "alpha");
    for (
      const key of [
        "name",
        "enabled",
        "enabledSource",
        "state",
        "pid",
        "startedAt",
        "uptimeSeconds",
        "restarts",
        "failures",
        "lastError",
        "nextRetryAt",
        "context",
        "namespaces",
        "kubefwdVersion",
        "forwards",
      ]
    ) assert.ok(key in alpha, `profile has ${key}`);
    assert.equal(alpha.enabledSource, "config");
    assert.equal(alpha.kubefwdVersion, "1.25.16");
    assert.deepEqual(alpha.namespaces, ["team-a"]);
    assert.ok(!Number.isNaN(Date.parse(alpha.startedAt!)));
    const fwd = alpha.forwards[0];
    assert.deepEqual(Object.keys(fwd).sort(), [
      "hostname",
      "ip",
      "namespace",
      "pod",
      "podPort",
      "port",
      "probe",
      "since",
      "state",
    ]);
    assert.equal(fwd.probe, "http", "pod port 8080: the HTTP probe by default");
    assert.equal(fwd.hostname, "api");
    assert.equal(fwd.namespace, "team-a");
    assert.equal(fwd.port, 18180);
    assert.equal(fwd.pod, "api-7d9f-aaaaa");
    assert.equal(fwd.podPort, "8080");
    assert.match(fwd.ip, /^127\.(\d+)\.27\.1$/);
    const beta = profileOf(status, "beta");
    assert.notEqual(
      beta.forwards[0].ip.split(".")[1],
      fwd.ip.split(".")[1],
      "profiles get disjoint IP ranges",
    );
  });

  await t.step("status PROFILE shows its detail; unknown profile exits 5", async () => {
    const r = await env.cli("status", "alpha");
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^alpha\s+running/m);
    assert.match(r.stdout, /api\s+127\.\d+\.27\.1:18180\s+api-7d9f-aaaaa:8080\s+up/);
    assert.match(r.stdout, /recent events:\n.*stopped → starting/);
    const j = JSON.parse((await env.cli("--json", "status", "alpha")).stdout) as StatusResult;
    assert.ok(j.profiles[0].events!.length >= 2);
    const bad = await env.cli("status", "alpah");
    assert.equal(bad.code, 5);
    assert.match(bad.stderr, /unknown profile.*alpah.*alpha/);
  });

  await t.step("logs shows kubefwd output attributed to its profile", async () => {
    const r = await env.cli("logs", "alpha", "-n", "200");
    assert.equal(r.code, 0);
    assert.match(
      r.stdout,
      /alpha\/stdout Port-Forward: +127\.\d+\.27\.1 api:18180 to pod api-7d9f-aaaaa:8080/,
    );
    assert.doesNotMatch(r.stdout, /beta\//);
    assert.match(r.stdout, /spawned kubefwd .* -c ~\/\.kube\/config /, "kubeconfig path masked to ~");
    assert.ok(!r.stdout.includes(`${env.dir}/.kube`), "no raw kubeconfig path in the log");
    assert.ok(!(await Deno.readTextFile(`${env.stateDir}/daemon.log`)).includes(`${env.dir}/.kube`));
    const all = await env.cli("--json", "logs", "-n", "500");
    const entries = all.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(
      entries.some((e) => e.profile === "beta" && e.source === "stdout" && /Port-Forward/.test(e.message)),
    );
    assert.ok(entries.some((e) => e.source === "daemon" && e.profile === undefined));
  });
});

Deno.test("logs -f streams new lines until interrupted", async () => {
  await using d = await healthyDaemon(SCENARIO);
  const env = d.env;
  await using cleanup = new AsyncDisposableStack();
  const follower = cleanup.adopt(
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-prompt", MAIN, "logs", "-f", "-n", "1", "alpha"],
      env: env.env,
      clearEnv: true,
      stdout: "piped",
      stderr: "null",
    }).spawn(),
    async (follower) => {
      signalQuietly(follower, "SIGKILL");
      await follower.status;
    },
  );
  const reader = follower.stdout.getReader();
  cleanup.defer(() => reader.cancel().catch(() => {}));
  // The one past line proves the follower is subscribed: from here on nothing may be missed.
  const first = await readUntil(reader, (s) => s.includes("\n"), "the follower's first line");
  const restarted = await env.cli("restart", "alpha");
  assert.equal(restarted.code, 0, restarted.stderr);
  const fresh = await readUntil(
    reader,
    (s) => /running → stopping/.test(s) && /Port-Forward/.test(s),
    "the restart's lines in the follow stream",
  );
  follower.kill("SIGINT");
  await readUntil(reader, () => false, "the follower to end after SIGINT");
  const st = await withDeadline(follower.status, 10_000, "the follower to exit");
  assert.equal(st.code, 0);
  assert.match(first + fresh, /alpha\/daemon .*running → stopping/);
  assert.match(fresh, /alpha\/stdout .*Port-Forward/);
});

Deno.test("status --watch repeats until interrupted, then exits 0", async () => {
  await using d = await healthyDaemon(SCENARIO);
  const env = d.env;
  await using cleanup = new AsyncDisposableStack();
  const watcher = cleanup.adopt(
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-prompt", MAIN, "--json", "status", "--watch"],
      env: env.env,
      clearEnv: true,
      stdout: "piped",
      stderr: "null",
    }).spawn(),
    async (watcher) => {
      signalQuietly(watcher, "SIGKILL");
      await watcher.status;
    },
  );
  const reader = watcher.stdout.getReader();
  cleanup.defer(() => reader.cancel().catch(() => {}));
  const shown = await readUntil(reader, (s) => s.split("\n").length > 2, "two status renders");
  for (const line of shown.trim().split("\n").slice(0, 2)) {
    assert.deepEqual((JSON.parse(line) as StatusResult).profiles.map((p) => p.name).sort(), [
      "alpha",
      "beta",
    ]);
  }
  watcher.kill("SIGINT");
  await readUntil(reader, () => false, "the watcher to end after SIGINT");
  const st = await withDeadline(watcher.status, 10_000, "the watcher to exit");
  assert.equal(st.code, 0);
});

Deno.test("logs -f | head ends quietly when head has had enough", async () => {
  await using d = await healthyDaemon(SCENARIO);
  const env = d.env;
  // --node-modules-dir=manual: this CLI uses the node_modules the earlier CLI runs set up, so it never waits
  // on Deno's node_modules lock while the `restart` CLIs below start, and its stderr holds only what the
  // CLI itself writes, not Deno's "Blocking waiting for file lock on node_modules directory".
  const piped = new Deno.Command("bash", {
    args: [
      "-c",
      `"${Deno.execPath()}" run -A --no-prompt --node-modules-dir=manual "${MAIN}" logs -f -n 5 alpha ` +
      '| head -n 1 >/dev/null; echo "cli=${PIPESTATUS[0]}"',
    ],
    env: env.env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // head exits after one line; the CLI notices only when it writes again, so keep producing lines
  // (restarts) until the pipeline ends. One restart is not enough: it may finish before the CLI
  // has even connected.
  const output = piped.output();
  let ended = false;
  output.finally(() => ended = true);
  try {
    await waitFor(
      async () => {
        if (ended) return true;
        await env.cli("restart", "alpha");
        return ended;
      },
      "the pipeline to end",
      30_000,
      500,
    );
  } finally {
    if (!ended) piped.kill("SIGKILL");
  }
  const out = await output;
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "cli=0");
  assert.equal(new TextDecoder().decode(out.stderr), "");
});

Deno.test("restart PROFILE replaces only that child", async () => {
  await using d = await healthyDaemon(SCENARIO);
  const env = d.env;
  await waitFor(() => runningWithForwards(env, "alpha"), "alpha running again");
  const before = await env.status();
  const r = await env.cli("restart", "alpha");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^alpha: /);
  const alpha = await waitFor(() => runningWithForwards(env, "alpha"), "alpha running after restart");
  assert.notEqual(alpha.pid, profileOf(before, "alpha").pid);
  assert.equal(alpha.restarts, profileOf(before, "alpha").restarts + 1);
  assert.equal(profileOf(await env.status(), "beta").pid, profileOf(before, "beta").pid);
});

Deno.test("stop/start PROFILE are transient", async () => {
  await using d = await healthyDaemon(SCENARIO);
  const env = d.env;
  assert.equal((await env.cli("stop", "alpha")).code, 0);
  const stopped = profileOf(await env.status(), "alpha");
  assert.equal(stopped.state, "stopped");
  assert.equal(stopped.pid, null);
  assert.equal(stopped.enabledSource, "config");
  assert.equal((await env.cli("start", "alpha")).code, 0);
  await waitFor(() => runningWithForwards(env, "alpha"), "alpha running after start");
});

Deno.test("disable/enable are persisted overrides shown in status", async () => {
  await using d = await healthyDaemon(SCENARIO);
  const env = d.env;
  const r = await env.cli("disable", "beta");
  assert.equal(r.code, 0, r.stderr);
  const beta = profileOf(await env.status(), "beta");
  assert.equal(beta.state, "disabled");
  assert.equal(beta.enabled, false);
  assert.equal(beta.enabledSource, "cli");
  const state = JSON.parse(await Deno.readTextFile(`${env.stateDir}/state.json`));
  await waitFor(
    async () =>
      JSON.parse(await Deno.readTextFile(`${env.stateDir}/state.json`)).profiles.beta.enabledOverride ===
        false,
    "override persisted",
  );
  assert.ok(state);
  assert.equal((await env.cli("enable", "nope")).code, 5);
  assert.equal((await env.cli("enable", "beta")).code, 0);
  await waitFor(() => runningWithForwards(env, "beta"), "beta running after enable");
  assert.equal(profileOf(await env.status(), "beta").enabledSource, "cli");
});

Deno.test("start PROFILE starts the daemon if needed; the start is transient, restart of the daemon forgets it", async () => {
  await using env = await TestEnv.create({
    scenario: {
      namespaces: { "team-d": { services: [{ name: "api", ports: [{ port: 18183 }], pods: ["api-1"] }] } },
    },
  });
  await env.writeConfig(
    env.configHeader() + "profiles:\n" +
      profileYaml(
        env,
        "delta",
        "team-d",
        "    enabled: false\n    health: { interval: 1s, timeout: 1s, failure_threshold: 3 }\n",
      ),
  );
  const r = await env.cli("start", "delta");
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^delta: /m);
  const started = await waitFor(() => runningWithForwards(env, "delta"), "delta running");
  assert.equal(started.enabled, false, "the config still says disabled");
  assert.equal(started.enabledSource, "config");
  const restarted = await env.cli("restart");
  assert.equal(restarted.code, 0, restarted.stderr);
  await waitFor(
    async () => profileOf(await env.status(), "delta").state === "disabled",
    "delta disabled again",
  );
  assert.deepEqual(env.liveSimulators(), []);
  assert.equal((await env.cli("stop")).code, 0);
});
