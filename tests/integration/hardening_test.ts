/**
 * Hardening against faults and hostile inputs (issue #10), through the real daemon and CLI: an unwritable
 * state directory, secrets in kubefwd's errors, reloads of a vanished config, untrusted paths.
 */
import assert from "node:assert/strict";
import type { ProfileStatus } from "../../lib/supervisor/types.ts";
import { daemonCommand } from "../../lib/self_command.ts";
import { signalQuietly, TestEnv, waitFor } from "./harness.ts";

const SCENARIO = {
  // Ports unique to this file (parallel test files and other worktrees share the loopback).
  namespaces: {
    "team-h": { services: [{ name: "api", ports: [{ port: 18470 }], pods: ["api-1"] }] },
  },
};

function config(env: TestEnv, extra = ""): string {
  return env.configHeader() + "profiles:\n" +
    `  alpha:\n    kubeconfig: ${env.dir}/.kube/config\n    context: sim\n    namespaces: [team-h]\n` +
    "    retry: { initial_delay: 100ms, max_delay: 500ms }\n" + extra;
}

async function healthy(env: TestEnv, name: string): Promise<ProfileStatus | undefined> {
  const p = (await env.status()).profiles.find((x) => x.name === name);
  return p && p.state === "running" && p.forwards.length > 0 && p.forwards.every((f) => f.state === "up")
    ? p
    : undefined;
}

/**
 * Makes the state directory unwritable even for root: it becomes a plain file (the lock stays open). A save
 * between the rename and the write recreates the directory (the daemon makes its state directory when it is
 * missing): that new one goes too, until the plain file is in place.
 */
async function breakStateDir(env: TestEnv): Promise<void> {
  await Deno.rename(env.stateDir, `${env.stateDir}.real`);
  for (;;) {
    try {
      return await Deno.writeTextFile(env.stateDir, "not a directory\n");
    } catch (e) {
      if (!(e instanceof Deno.errors.IsADirectory)) throw e;
      await Deno.remove(env.stateDir, { recursive: true });
    }
  }
}

async function repairStateDir(env: TestEnv): Promise<void> {
  await Deno.remove(env.stateDir);
  await Deno.rename(`${env.stateDir}.real`, env.stateDir);
}

Deno.test("unwritable state dir: disable says it is not persisted, status says so, stop still exits", async () => {
  const env = await TestEnv.create({ scenario: SCENARIO });
  try {
    await env.writeConfig(config(env));
    await env.startDaemon();
    await waitFor(() => healthy(env, "alpha"), "alpha healthy");
    await breakStateDir(env);

    const disable = await env.cli("disable", "alpha");
    assert.equal(disable.code, 0, disable.stderr);
    assert.match(disable.stdout, /alpha: disabled.*NOT persisted/);
    assert.match(disable.stderr, /persistence failing/);

    const json = await env.status();
    assert.equal(json.daemon.persistence?.ok, false, JSON.stringify(json.daemon));
    assert.match(json.daemon.persistence?.error ?? "", /state\.json/);
    const human = await env.cli("status");
    assert.equal(human.code, 0);
    assert.match(human.stdout, /persistence failing/);

    // A successful save clears the condition.
    await repairStateDir(env);
    const enable = await env.cli("enable", "alpha");
    assert.equal(enable.code, 0, enable.stderr);
    assert.doesNotMatch(enable.stdout, /NOT persisted/);
    assert.equal((await env.status()).daemon.persistence?.ok, true);
    await waitFor(() => healthy(env, "alpha"), "alpha healthy again");

    // Broken again at shutdown: the final flush fails, and the daemon exits anyway.
    await breakStateDir(env);
    await env.cli("disable", "alpha");
    const stop = await env.cli("stop");
    assert.equal(stop.code, 0, stop.stdout + stop.stderr);
    const exit = await env.daemonExit();
    assert.equal(exit.code, 0, exit.output);
    assert.deepEqual(env.liveSimulators(), []);
  } finally {
    await Deno.remove(env.stateDir).catch(() => {});
    await Deno.rename(`${env.stateDir}.real`, env.stateDir).catch(() => {});
    await env.cleanup();
  }
});

Deno.test("reload with the config file deleted or replaced by a directory changes nothing and exits 4", async () => {
  const env = await TestEnv.create({ scenario: SCENARIO });
  try {
    await env.writeConfig(config(env));
    const daemon = await env.startDaemon();
    const before = await waitFor(() => healthy(env, "alpha"), "alpha healthy");
    await Deno.remove(env.configPath);

    const reload = await env.cli("reload");
    assert.equal(reload.code, 4, reload.stdout + reload.stderr);
    assert.match(reload.stderr, /missing; nothing was changed/);
    assert.doesNotMatch(reload.stdout, /removed/);
    daemon.kill("SIGHUP");
    await new Promise((r) => setTimeout(r, 500));
    const after = await healthy(env, "alpha");
    assert.equal(after?.pid, before.pid, "alpha kept running, untouched");

    await Deno.mkdir(env.configPath);
    const again = await env.cli("reload");
    assert.equal(again.code, 4, again.stdout + again.stderr);
    assert.equal((await healthy(env, "alpha"))?.pid, before.pid);
    const validate = await env.cli("config", "validate");
    assert.equal(validate.code, 4, validate.stdout + validate.stderr);
    assert.match(validate.stderr, /not a regular file/);
  } finally {
    await env.cleanup();
  }
});

Deno.test("state_dir or log_file in a world-writable directory: the daemon refuses to start", async () => {
  const env = await TestEnv.create({ scenario: SCENARIO });
  try {
    await Deno.mkdir(`${env.dir}/shared`);
    await Deno.chmod(`${env.dir}/shared`, 0o1777);
    await env.writeConfig(`daemon:\n  state_dir: ${env.dir}/shared/kfd\n` + config(env));
    const r = await env.cli("daemon");
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /state_dir .*shared\/kfd is in .*shared, which every user can write \(mode 1777, sticky/,
    );

    await env.writeConfig(`daemon:\n  log_file: ${env.dir}/shared/daemon.log\n` + config(env));
    const log = await env.cli("daemon");
    assert.equal(log.code, 1, log.stdout + log.stderr);
    assert.match(log.stderr, /log_file .*shared\/daemon\.log is in .*shared, which every user can write/);
  } finally {
    await env.cleanup();
  }
});

Deno.test("kubefwd's secrets never reach status or state.json; its escape sequences never reach the terminal", async () => {
  const evil = "title\x1b]0;pwned\x07 clip\x1b]52;c;ZXZpbA==\x07 reset\x1bc csi\u009b2J done";
  const env = await TestEnv.create({
    scenario: {
      ...SCENARIO,
      actions: [{ type: "log", atMs: 50, level: "INFO", message: evil }],
    },
  });
  const secretEnv = await TestEnv.create({
    scenario: {
      startup: {
        fatal: "Error connecting: Authorization: Bearer abc.def.ghi token=s3cr3tvalue while reading KUBECFG",
      },
    },
  });
  try {
    await env.writeConfig(config(env));
    await env.startDaemon();
    await waitFor(() => healthy(env, "alpha"), "alpha healthy");
    await waitFor(async () => (await env.cli("logs", "alpha")).stdout.includes("done"), "the evil line");
    const human = await env.cli("logs", "alpha");
    assert.equal(human.code, 0);
    // deno-lint-ignore no-control-regex -- asserting that no control character is left
    assert.doesNotMatch(human.stdout, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/, "no raw control character");
    assert.match(human.stdout, /title\\x1b\]0;pwned\\x07/);
    const json = await env.cli("--json", "logs", "alpha");
    // deno-lint-ignore no-control-regex -- asserting that no control character is left
    assert.doesNotMatch(json.stdout, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    const entries = json.stdout.trim().split("\n").map((l) => JSON.parse(l) as { message: string });
    assert.ok(entries.some((e) => e.message.includes(evil)), "--json keeps the text");

    const kubeconfig = `${secretEnv.dir}/.kube/prod-eu-cluster`;
    await Deno.copyFile(`${secretEnv.dir}/.kube/config`, kubeconfig);
    const text = config(secretEnv).replace(`${secretEnv.dir}/.kube/config`, kubeconfig);
    await secretEnv.writeConfig(text);
    // The simulator's fatal names the kubeconfig the way kubefwd does.
    const scenario = JSON.parse(await Deno.readTextFile(`${secretEnv.dir}/scenario.json`));
    scenario.startup.fatal = scenario.startup.fatal.replace("KUBECFG", kubeconfig);
    await Deno.writeTextFile(`${secretEnv.dir}/scenario.json`, JSON.stringify(scenario));
    await secretEnv.startDaemon();
    await waitFor(async () => (await secretEnv.status()).profiles[0].lastError, "alpha's error");
    await waitFor(
      async () => (await Deno.readTextFile(`${secretEnv.stateDir}/state.json`)).includes("backoff"),
      "the events persisted",
    );
    const outputs = [
      (await secretEnv.cli("--json", "status", "alpha")).stdout,
      (await secretEnv.cli("status")).stdout,
      (await secretEnv.cli("status", "alpha")).stdout,
      // The events; the owned child's cmdline keeps the real argv, which orphan recovery compares with /proc.
      JSON.stringify(
        JSON.parse(await Deno.readTextFile(`${secretEnv.stateDir}/state.json`)).profiles.alpha.events,
      ),
    ];
    for (const out of outputs) {
      for (const secret of ["s3cr3tvalue", "abc.def.ghi", "prod-eu-cluster"]) {
        assert.ok(!out.includes(secret), `${secret} leaked in:\n${out}`);
      }
    }
  } finally {
    await env.cleanup();
    await secretEnv.cleanup();
  }
});

Deno.test("three `start` at once: only the one whose daemon runs says started; errors keep their first characters", async () => {
  const env = await TestEnv.create({ scenario: SCENARIO });
  try {
    // Earlier multi-byte output in daemon.out: the new output starts at a byte offset, not a character one.
    await Deno.mkdir(env.stateDir, { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(`${env.stateDir}/daemon.out`, "é…".repeat(200) + "\n");
    await env.writeConfig(config(env) + "    bogus_key: 1\n");
    const bad = await env.cli("start");
    assert.equal(bad.code, 4, bad.stdout + bad.stderr);
    assert.match(bad.stderr, /\nerror: config .*config\.yaml is invalid/);

    await env.writeConfig(config(env));
    const starts = await Promise.all([
      env.cli("--json", "start"),
      env.cli("--json", "start"),
      env.cli("--json", "start"),
    ]);
    for (const r of starts) assert.equal(r.code, 0, r.stdout + r.stderr);
    const replies = starts.map((r) => JSON.parse(r.stdout) as { started: boolean; pid: number });
    assert.equal(replies.filter((r) => r.started).length, 1, JSON.stringify(replies));
    const pids = new Set(replies.map((r) => r.pid));
    assert.equal(pids.size, 1, `every start names the running daemon: ${JSON.stringify(replies)}`);
    assert.equal((await env.status()).daemon.pid, replies[0].pid);
    const stop = await env.cli("stop");
    assert.equal(stop.code, 0, stop.stdout + stop.stderr);
  } finally {
    await env.cleanup();
  }
});

/** Whether the process has a handler for SIGHUP (bit 0 of SigCgt in /proc/PID/status). */
function catchesSighup(pid: number): boolean {
  try {
    const m = /SigCgt:\s*([0-9a-f]+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m !== null && (BigInt(`0x${m[1]}`) & 1n) === 1n;
  } catch {
    return false;
  }
}

Deno.test("SIGHUPs during the daemon's startup do not kill it", async () => {
  const env = await TestEnv.create({ scenario: SCENARIO });
  try {
    await env.writeConfig(config(env));
    const [cmd, ...args] = daemonCommand();
    const daemon = new Deno.Command(cmd, {
      args,
      env: env.env,
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    let exited: Deno.CommandStatus | undefined;
    daemon.status.then((s) => exited = s);
    const t0 = Date.now();
    // Before its first line of JavaScript (main.ts installs the handlers there) the process has Deno's default
    // action, which no program can change; from that moment on SIGHUPs come every 10 ms until the socket
    // answers. (A fixed 150 ms instead of this wait killed the daemon on a loaded machine: Deno had not
    // reached main.ts yet.) Deno sets the OS handler a moment before it records main.ts's listener, and a
    // SIGHUP in between still gets the default action (seen once in CI), so the handler must have been
    // there for 20 ms.
    let catchingSince: number | undefined;
    while (exited === undefined) {
      assert.ok(Date.now() - t0 < 10_000, "the daemon never installed its SIGHUP handler");
      catchingSince = catchesSighup(daemon.pid) ? catchingSince ?? Date.now() : undefined;
      if (catchingSince !== undefined && Date.now() - catchingSince >= 20) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    let sent = 0;
    let answering = false;
    const stopAt = Date.now() + 15_000;
    while (!answering && exited === undefined && Date.now() < stopAt) {
      signalQuietly(daemon, "SIGHUP");
      sent++;
      await new Promise((r) => setTimeout(r, 10));
      if (sent % 10 === 0) answering = (await env.cli("status")).code === 0;
    }
    assert.equal(exited, undefined, `the daemon died after ${sent} SIGHUPs: ${JSON.stringify(exited)}`);
    assert.ok(answering, "the daemon came up");
    assert.ok(sent > 5);
    await waitFor(() => healthy(env, "alpha"), "alpha healthy");
    signalQuietly(daemon, "SIGTERM");
    const status = await daemon.status;
    assert.equal(status.code, 0);
  } finally {
    await env.cleanup();
  }
});
