/**
 * The smaller findings of a newcomer's trial, through the real CLI: backoff shows when it retries, detail
 * views say how old things are, `logs` works when the daemon is gone, a named config file must exist,
 * durations name the unit to write, `--timeout` needs `--wait-healthy`, and `deno task start --help` works.
 */
import assert from "node:assert/strict";
import { TestEnv, waitFor } from "./harness.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

// Ports unique to this file: test files run in parallel and every test daemon starts its IP ranges at 127.3.
const SCENARIO = {
  namespaces: { "team-a": { services: [{ name: "api", ports: [{ port: 18290 }], pods: ["api-1"] }] } },
  actions: [{ type: "crash", atMs: 300, exitCode: 1 }],
};

/** A daemon whose only profile crashed and waits 30 s in backoff. */
async function daemonInBackoff(): Promise<TestEnv> {
  const env = await TestEnv.create({ scenario: SCENARIO });
  await env.writeConfig(
    env.configHeader() + "profiles:\n" +
      `  dev:\n    kubeconfig: ${env.dir}/.kube/config\n    context: sim\n    namespaces: [team-a]\n` +
      "    retry: { initial_delay: 30s, max_delay: 30s, jitter: 0 }\n",
  );
  await env.startDaemon();
  await waitFor(
    async () => (await env.profile("dev")).state === "backoff",
    "dev in backoff after the crash",
  );
  return env;
}

Deno.test("backoff shows its retry time in the table; detail views say how old things are", async () => {
  const env = await daemonInBackoff();
  try {
    const table = await env.cli("status");
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /dev\s+backoff \(retry in \d+s\)/);
    const detail = await env.cli("status", "dev");
    assert.match(detail.stdout, /next retry: in \d+s \(\d{4}-\d\d-\d\dT/);
    assert.match(detail.stdout, /last error: .*\((\d+s ago|just now)\)/);
    assert.match(detail.stdout, /Z \((\d+s ago|just now)\)\s+\w+ → backoff/);
  } finally {
    await env.cleanup();
  }
});

Deno.test("status --timeout without --wait-healthy is a usage error", async () => {
  const env = await daemonInBackoff();
  try {
    const timeout = await env.cli("status", "--timeout", "5s");
    assert.equal(timeout.code, 2, `a --timeout without --wait-healthy is a usage error: ${timeout.stderr}`);
    assert.match(timeout.stderr, /--timeout only applies to --wait-healthy/);
  } finally {
    await env.cleanup();
  }
});

Deno.test("logs reads the log file once the daemon is gone", async () => {
  const env = await daemonInBackoff();
  try {
    assert.equal((await env.cli("stop")).code, 0);
    await env.daemonExit();
    const logs = await env.cli("logs", "dev");
    assert.equal(logs.code, 0, `logs of a stopped daemon: ${logs.stderr}`);
    assert.match(logs.stderr, /the daemon is not running; showing its log file /);
    assert.match(logs.stdout, /dev\/daemon spawned kubefwd/);
    assert.doesNotMatch(logs.stdout, /^\S+ \S+ +daemon /m, "only the profile's lines");
    const json = await env.cli("--json", "logs", "-n", "1");
    assert.equal(json.code, 0);
    assert.equal(json.stdout.trim().split("\n").length, 1);
    assert.ok(JSON.parse(json.stdout).message);
  } finally {
    await env.cleanup();
  }
});

Deno.test("--config naming a missing file fails start with exit 4; the default path may be missing", async () => {
  const env = await TestEnv.create();
  try {
    const missing = `${env.dir}/missing.yaml`;
    const r = await env.cli("--config", missing, "start");
    assert.equal(r.code, 4, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`config file ${missing} does not exist`));
    assert.equal((await env.cli("status")).code, 3, "no daemon was left running");

    const fresh = await env.cli("start");
    assert.equal(fresh.code, 0, `no config at the default path: runs with no profiles: ${fresh.stderr}`);
    assert.match((await env.cli("status")).stdout, /no profiles configured/);
    assert.equal((await env.cli("stop")).code, 0);
  } finally {
    await env.cleanup();
  }
});

Deno.test("a duration in words names the unit to write", async () => {
  const env = await TestEnv.create();
  try {
    await env.writeConfig(
      env.configHeader() + "profiles:\n" +
        `  dev:\n    kubeconfig: ${env.dir}/.kube/config\n    context: sim\n    namespaces: [team-a]\n` +
        '    retry: { initial_delay: "5 seconds" }\n',
    );
    const r = await env.cli("config", "validate");
    assert.equal(r.code, 4);
    assert.match(r.stdout + r.stderr, /unknown unit "seconds"; write 5s/);
  } finally {
    await env.cleanup();
  }
});

Deno.test("deno task start --help prints the daemon's options (the task runs with --no-config)", async () => {
  const env = await TestEnv.create();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "start", "--help"],
      cwd: ROOT,
      env: env.env,
      clearEnv: true,
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.match(text, /kubefwd-daemon \[--config PATH\] \[--socket PATH\] daemon \[--detached\]/);
    const viaCli = await env.cli("daemon", "--help");
    assert.equal(viaCli.code, 0);
    assert.match(viaCli.stdout, /--config PATH/);
  } finally {
    await env.cleanup();
  }
});
