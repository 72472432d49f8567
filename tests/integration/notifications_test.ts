/**
 * Desktop notifications end to end: the real daemon with the simulator as kubefwd and a recording fake
 * `notify-send` on PATH. A killed kubefwd is notified at once; its recovery inside `min_interval` comes as
 * one summary afterwards; kubefwd's own hostile text reaches notify-send as one argv element. Without a
 * notify-send at all, the daemon logs that once and keeps supervising.
 */
import assert from "node:assert/strict";
import { TestEnv, waitFor } from "./harness.ts";

const HOSTILE = `boom "quoted" \\back\\slash $(touch pwned) <b>x</b> & 'single'`;

const SCENARIO = {
  // Ports unique to this file (parallel test files share 127.3.x).
  namespaces: { "team-n": { services: [{ name: "web", ports: [{ port: 18571 }], pods: ["web-1"] }] } },
};

function config(env: TestEnv, minInterval: string): string {
  return "daemon:\n  notifications: { enabled: true, min_interval: " + minInterval + " }\n" +
    env.configHeader() +
    "profiles:\n  alpha:\n" +
    `    kubeconfig: ${env.dir}/.kube/config\n    context: sim\n    namespaces: [team-n]\n` +
    "    retry: { initial_delay: 100ms, max_delay: 500ms }\n";
}

/** A fake notify-send in `<dir>/fakebin` appending each call's argv (NUL-separated, then a newline). */
async function fakeNotifySend(env: TestEnv): Promise<string> {
  const bin = `${env.dir}/fakebin`;
  const record = `${env.dir}/notify-send.calls`;
  await Deno.mkdir(bin);
  await Deno.writeTextFile(
    `${bin}/notify-send`,
    `#!/bin/sh\n{ for a in "$@"; do printf '%s\\0' "$a"; done; printf '\\n'; } >> "${record}"\n`,
    { mode: 0o755 },
  );
  env.env.PATH = `${bin}:${env.env.PATH}`;
  env.env.DBUS_SESSION_BUS_ADDRESS = "unix:path=/nowhere";
  return record;
}

async function calls(record: string): Promise<string[][]> {
  const text = await Deno.readTextFile(record).catch(() => "");
  return text.split("\0\n").filter(Boolean).map((call) => call.split("\0"));
}

Deno.test("notify-send: a kill at once, the recovery in one summary after min_interval", async () => {
  await using env = await TestEnv.create({ scenario: SCENARIO });
  const record = await fakeNotifySend(env);
  await env.writeConfig(config(env, "2s"));
  await env.startDaemon();
  const first = await waitFor(() => env.healthy("alpha"), "alpha healthy");
  assert.deepEqual(await calls(record), [], "a first start is not worth a notification");
  Deno.kill(first.pid!, "SIGKILL");
  const sent = await waitFor(async () => {
    const c = await calls(record);
    return c.length >= 2 ? c : undefined;
  }, "the failure and the summary of the recovery");
  assert.deepEqual(sent[0].slice(0, 4), [
    "--app-name=kubefwd-daemon",
    "--urgency=critical",
    "--",
    "alpha: kubefwd failed, restarting",
  ]);
  assert.match(sent[0][4], /^kubefwd killed by SIGKILL \(retry 1 in \d+ ms\)$/);
  assert.deepEqual(sent[1].slice(0, 4), [
    "--app-name=kubefwd-daemon",
    "--urgency=low",
    "--",
    "alpha: 1 more change",
  ]);
  assert.match(sent[1][4], /^within 2s: recovered 1×; now running: /);
  assert.equal(sent.length, 2);
});

Deno.test("kubefwd's hostile error text reaches notify-send as one argv element; a crash loop stays summarised", async () => {
  await using env = await TestEnv.create({
    scenario: { ...SCENARIO, startup: { fatal: HOSTILE } },
  });
  const record = await fakeNotifySend(env);
  await env.writeConfig(config(env, "1h"));
  await env.startDaemon();
  const sent = await waitFor(async () => {
    const c = await calls(record);
    return c.length >= 1 ? c : undefined;
  }, "the failure notification");
  const [call] = sent;
  assert.equal(call.length, 5, JSON.stringify(call));
  assert.match(call[3], /^alpha: /);
  assert.ok(
    call[4].includes(`boom "quoted" \\back\\slash $(touch pwned) &lt;b&gt;x&lt;/b&gt; &amp; 'single'`),
    call[4],
  );
  // It keeps failing (every start hits the same fatal): more transitions, no more notifications within 1h.
  await waitFor(async () => (await env.profile("alpha")).failures >= 3, "three failures");
  assert.equal((await calls(record)).length, 1);
  assert.ok(!(await Deno.stat(`${env.dir}/pwned`).catch(() => undefined)), "nothing was run through a shell");
});

Deno.test("no notify-send on PATH: logged once, supervision goes on", async () => {
  await using env = await TestEnv.create({ scenario: SCENARIO });
  env.env.PATH = "/usr/bin:/bin".split(":").filter((d) => {
    try {
      Deno.statSync(`${d}/notify-send`);
      return false;
    } catch {
      return true;
    }
  }).join(":");
  env.env.DBUS_SESSION_BUS_ADDRESS = "unix:path=/nowhere";
  await env.writeConfig(config(env, "1s"));
  await env.startDaemon();
  for (let i = 0; i < 3; i++) {
    const p = await waitFor(() => env.healthy("alpha"), "alpha healthy");
    Deno.kill(p.pid!, "SIGKILL");
    await waitFor(async () => (await env.profile("alpha")).failures === i + 1, `failure ${i + 1}`);
  }
  await waitFor(() => env.healthy("alpha"), "alpha healthy at the end");
  const logs = await env.cli("logs", "-n", "500");
  const warnings = logs.stdout.split("\n").filter((l) => l.includes("desktop notification not shown"));
  assert.equal(warnings.length, 1, logs.stdout);
  assert.match(warnings[0], /WARN .*notify-send is not on PATH \(install libnotify/);
});
