/**
 * `kubefwd-daemon events` through the real CLI against the real daemon and the simulator: a killed kubefwd
 * and its recovery are in the history, the history survives a daemon restart (and is read from its file
 * while the daemon is down), `-f` streams new transitions, and the exit codes follow the CLI contract.
 */
import assert from "node:assert/strict";
import { MAIN, signalQuietly, TestEnv, waitFor } from "./harness.ts";
import type { EventsResult } from "../../lib/ipc/protocol.ts";
import type { TransitionEvent } from "../../lib/supervisor/types.ts";

const SCENARIO = {
  // Ports unique to this file (parallel test files share 127.3.x).
  namespaces: { "team-e": { services: [{ name: "api", ports: [{ port: 18570 }], pods: ["api-1"] }] } },
};

function config(env: TestEnv): string {
  return env.configHeader() + "profiles:\n  alpha:\n" +
    `    kubeconfig: ${env.dir}/.kube/config\n    context: sim\n    namespaces: [team-e]\n` +
    "    retry: { initial_delay: 100ms, max_delay: 500ms }\n    health: { interval: 1s, timeout: 1s, failure_threshold: 3 }\n";
}

async function events(env: TestEnv, ...args: string[]): Promise<TransitionEvent[]> {
  const r = await env.cli("--json", "events", ...args);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return (JSON.parse(r.stdout) as EventsResult).events;
}

/** Index of the first event matching `test` after index `from`, or -1. */
function after(list: TransitionEvent[], from: number, test: (e: TransitionEvent) => boolean): number {
  const i = list.slice(from + 1).findIndex(test);
  return i < 0 ? -1 : from + 1 + i;
}

/** The kill (running → backoff, killed by SIGKILL) and, after it, a retry and running again. */
function killAndRecovery(list: TransitionEvent[]): { kill: number; recovered: number } | undefined {
  const kill = list.findIndex((e) => e.to === "backoff" && /killed by SIGKILL/.test(e.reason));
  if (kill < 0) return undefined;
  const retry = after(list, kill, (e) => e.from === "backoff" && e.to === "starting");
  const recovered = after(list, retry, (e) => e.to === "running");
  return retry < 0 || recovered < 0 ? undefined : { kill, recovered };
}

Deno.test("events: a killed kubefwd and its recovery, across a daemon restart and while the daemon is down", async () => {
  await using env = await TestEnv.create({ scenario: SCENARIO });
  await env.writeConfig(config(env));
  await env.startDaemon();
  const first = await waitFor(() => env.healthy("alpha"), "alpha healthy");
  Deno.kill(first.pid!, "SIGKILL");
  await waitFor(async () => {
    const p = await env.healthy("alpha");
    return p && p.pid !== first.pid ? p : undefined;
  }, "alpha healthy again with a new kubefwd");

  const list = await waitFor(async () => {
    const l = await events(env, "alpha");
    return killAndRecovery(l) ? l : undefined;
  }, "the kill and the recovery in the history");
  assert.equal(list[0].from, "stopped", "the history starts with the first start");

  // Human output: one line per transition, kind and relative time, the kill's reason.
  const human = await env.cli("events", "alpha");
  assert.equal(human.code, 0, human.stderr);
  assert.match(
    human.stdout,
    /ago\s+alpha\s+failure\s+running → backoff\s+kubefwd killed by SIGKILL \(retry 1 in \d+ ms\)/,
  );
  assert.match(human.stdout, /alpha\s+restart\s+backoff → starting\s+retry 1 after backoff/);
  assert.match(human.stdout, /alpha\s+up\s+starting → running/);
  assert.equal((await events(env, "alpha", "--since", "1h")).length, list.length);
  assert.deepEqual(await events(env, "--since", "2999-01-01T00:00:00Z"), []);
  assert.equal((await events(env, "-n", "2")).length, 2);

  // Contract: unknown profile 5, bad flags 2.
  assert.equal((await env.cli("events", "nope")).code, 5);
  const badSince = await env.cli("events", "--since", "yesterday");
  assert.equal(badSince.code, 2);
  assert.match(badSince.stderr, /--since must be a duration such as 30m or 2h/);
  assert.equal((await env.cli("events", "-n", "x")).code, 2);

  // The daemon stops: the history is on disk and `events` reads it; following needs the daemon (exit 3).
  assert.equal((await env.cli("stop")).code, 0);
  await env.daemonExit();
  const offline = await env.cli("--json", "events", "alpha");
  assert.equal(offline.code, 0, offline.stderr);
  assert.match(offline.stderr, /the daemon is not running; showing its event history file .*events\.jsonl/);
  const stored = (JSON.parse(offline.stdout) as EventsResult).events;
  assert.ok(killAndRecovery(stored), "kill and recovery read from the file");
  assert.equal(stored.at(-1)!.to, "stopped", "the shutdown itself is recorded");
  assert.equal((await env.cli("events", "-f")).code, 3);

  // A new daemon: the old history is still there, the new run's events follow it.
  await env.startDaemon();
  await waitFor(() => env.healthy("alpha"), "alpha healthy under the new daemon");
  const merged = await waitFor(async () => {
    const l = await events(env, "alpha");
    return l.length > stored.length ? l : undefined;
  }, "the new run's events");
  assert.deepEqual(merged.slice(0, stored.length), stored, "the previous run's events come first, unchanged");
  assert.ok(killAndRecovery(merged));
});

Deno.test("events -f streams transitions as they happen until interrupted", async () => {
  await using env = await TestEnv.create({ scenario: SCENARIO });
  await env.writeConfig(config(env));
  await env.startDaemon();
  await waitFor(() => env.healthy("alpha"), "alpha healthy");
  const follower = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", MAIN, "--json", "events", "-f", "-n", "0", "alpha"],
    env: env.env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const seen: TransitionEvent[] = [];
  const reading = (async () => {
    const dec = new TextDecoder();
    let buffer = "";
    for await (const chunk of follower.stdout) {
      buffer += dec.decode(chunk, { stream: true });
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      for (const line of lines) if (line.trim()) seen.push(JSON.parse(line));
    }
  })();
  const stderr = new Response(follower.stderr).text();
  try {
    // The stream is open once a transition made after the follower connected shows up: restart until then.
    await waitFor(
      async () => {
        if (seen.some((e) => e.to === "stopping")) return true;
        await env.cli("restart", "alpha");
        return false;
      },
      "a streamed restart",
      30_000,
      500,
    );
    await waitFor(
      () => {
        const stop = seen.findIndex((e) => e.to === "stopping" && /restart/.test(e.reason));
        return stop >= 0 && after(seen, stop, (e) => e.to === "running") >= 0;
      },
      "the restart's way back to running, streamed",
    );
    assert.ok(seen.every((e) => e.profile === "alpha"));
  } finally {
    signalQuietly(follower, "SIGINT");
  }
  const status = await follower.status;
  await reading;
  assert.equal(status.code, 0, await stderr);
});

Deno.test("events: a lost forward (kubefwd 1.22) with its cause, the restart made for it and the recovery", async () => {
  await using env = await TestEnv.create({
    simVersion: "1.22.5",
    scenario: {
      namespaces: { "team-e": { services: [{ name: "api", ports: [{ port: 18573 }], pods: ["api-1"] }] } },
      actions: [{ type: "lose_forward", atMs: 2500, service: "api", error: "lost connection to pod" }],
    },
  });
  await env.writeConfig(
    config(env).replace(
      "namespaces: [team-e]",
      "namespaces: [team-e]\n    forward_failures: { debounce: 100ms }",
    ),
  );
  await env.startDaemon();
  const list = await waitFor(async () => {
    const l = await events(env, "alpha");
    const lost = l.findIndex((e) => e.to === "degraded");
    const restart = after(l, lost, (e) => e.to === "stopping" && /dead forward/.test(e.reason));
    return lost >= 0 && restart >= 0 && after(l, restart, (e) => e.to === "running") >= 0 ? l : undefined;
  }, "the lost forward, its restart and the recovery").catch(async (e) => {
    throw new Error(`${(e as Error).message}; the history:\n${(await env.cli("events")).stdout}`);
  });
  const lost = list.find((e) => e.to === "degraded")!;
  // The probes' verdict names why (the HTTP probe's connection was closed: kubefwd cannot reach the pod).
  assert.equal(lost.reason, "pod not reachable: 1 of 1 forwards down");
  assert.match(lost.detail!, /api/);
  assert.ok(lost.cause, "the forwards' cause is recorded");
  const human = await env.cli("events", "alpha");
  assert.match(
    human.stdout,
    /alpha\s+forwards lost\s+running → degraded\s+pod not reachable: 1 of 1 forwards down \(.*api.*; .+\)/,
  );
  assert.match(human.stdout, /alpha\s+restart\s+degraded → stopping\s+restarting: dead forward/);
});

Deno.test("a history file that cannot be written: reported by status and events, supervision goes on, then healed", async () => {
  await using env = await TestEnv.create({ scenario: SCENARIO });
  await env.writeConfig(config(env));
  // A directory where the history file belongs: every append and read fails (EISDIR).
  await Deno.mkdir(`${env.stateDir}/events.jsonl`, { recursive: true });
  await env.startDaemon();
  await waitFor(() => env.healthy("alpha"), "alpha healthy despite the history");
  const failing = await waitFor(async () => {
    const h = (await env.status()).daemon.eventHistory;
    return h && !h.ok ? h : undefined;
  }, "status to report the history failing");
  assert.equal(failing.file, `${env.stateDir}/events.jsonl`);
  assert.match(failing.error!, /cannot write .*events\.jsonl/);
  const human = await env.cli("status");
  assert.match(human.stdout, /warning: event history failing since .*new events are kept in memory only/);
  const r = await env.cli("events", "alpha");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: event history failing since/);
  assert.match(r.stdout, /alpha\s+up\s+starting → running/, "the events in memory are still shown");

  await Deno.remove(`${env.stateDir}/events.jsonl`);
  await waitFor(
    async () => (await env.status()).daemon.eventHistory?.ok,
    "the retry to write the history",
    30_000,
  );
  const text = await Deno.readTextFile(`${env.stateDir}/events.jsonl`);
  assert.match(text, /"to":"running"/);
  const logs = await env.cli("logs", "-n", "500");
  assert.match(logs.stdout, /ERROR .*event history failing: cannot write/);
  assert.match(logs.stdout, /event history .*events\.jsonl is written again/);
});
