/**
 * `status` tells the truth, through the real CLI: a fixed failure no longer shows its old error (and every
 * error says how old it is), a profile that forwards nothing is neither `running` nor healthy unless its
 * config allows it, and a profile is `starting` until its announced forwards answer.
 */
import assert from "node:assert/strict";
import { TestEnv, waitFor } from "./harness.ts";

// Ports unique to this file: test files run in parallel and every test daemon starts its IP ranges at 127.3.
const SCENARIO = {
  contexts: ["sim"],
  namespaces: {
    "team-a": { services: [{ name: "api", ports: [{ port: 18280 }], pods: ["api-1"] }] },
    "team-b": { services: [{ name: "web", ports: [{ port: 18281 }, { port: 18282 }], pods: ["web-1"] }] },
  },
};

const FAST = "    retry: { initial_delay: 200ms, max_delay: 1s }\n" +
  "    health: { interval: 1s, timeout: 1s, failure_threshold: 3 }\n";

function profileYaml(env: TestEnv, name: string, ns: string, extra = ""): string {
  return `  ${name}:\n    kubeconfig: ${env.dir}/.kube/config\n    namespaces: [${ns}]\n${FAST}${extra}`;
}

Deno.test("last error: shown with its age while failing, cleared once healthy, kept in the events", async () => {
  const env = await TestEnv.create({ scenario: SCENARIO });
  const config = (context: string) =>
    env.configHeader() + "profiles:\n" + profileYaml(env, "dev", "team-a", `    context: ${context}\n`);
  try {
    await env.writeConfig(config("kfd-e2ee"));
    await env.startDaemon();
    const failed = await waitFor(async () => {
      const p = await env.profile("dev");
      return p.state === "failed" ? p : undefined;
    }, "dev failed on the wrong context");
    const table = await env.cli("status");
    const detail = await env.cli("status", "dev");
    await env.writeConfig(config("sim"));
    const reload = await env.cli("reload");
    assert.equal(reload.code, 0, reload.stderr);
    const fixed = await waitFor(() => env.healthy("dev"), "dev healthy after the fix");
    assert.equal(fixed.lastError, null, "a healthy profile shows no old error");
    assert.equal(fixed.lastErrorAt, null);
    assert.ok(
      fixed.events?.some((e) =>
        `${e.reason} ${e.detail ?? ""}`.includes('context "kfd-e2ee" does not exist')
      ),
      "the events keep the old error",
    );
    const gate = await env.cli("status", "--wait-healthy", "--timeout", "10s");
    assert.equal(gate.code, 0, gate.stdout + gate.stderr);
    assert.doesNotMatch((await env.cli("status")).stdout, /kfd-e2ee/);

    // While it failed, the error said how old it was.
    assert.match(failed.lastError ?? "", /context "kfd-e2ee" does not exist/);
    assert.ok(!Number.isNaN(Date.parse(failed.lastErrorAt ?? "")), `lastErrorAt: ${failed.lastErrorAt}`);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /dev\s+failed .*context "kfd-e2ee" doe.* \((\d+s ago|just now)\)/);
    assert.match(detail.stdout, /last error: .*kfd-e2ee.*\((\d+s ago|just now)\)/);
  } finally {
    await env.cleanup();
  }
});

Deno.test("a profile that forwards nothing is degraded and never healthy, unless allow_empty", async () => {
  const env = await TestEnv.create({ scenario: SCENARIO });
  const config = (emptyExtra: string) =>
    env.configHeader() + "profiles:\n" + profileYaml(env, "empty", "does-not-exist", emptyExtra) +
    profileYaml(env, "fine", "team-b");
  try {
    await env.writeConfig(config(""));
    await env.startDaemon();
    // The startup grace (20 s) passes while this waits: the empty profile must not turn healthy.
    const gate = await env.cli("status", "--wait-healthy", "--timeout", "23s");
    assert.equal(gate.code, 6, `exit 6 for a profile that forwards nothing: ${gate.stdout}${gate.stderr}`);
    assert.match(gate.stderr, /empty is degraded: forwards nothing: no service in namespace does-not-exist/);
    assert.doesNotMatch(gate.stderr, /fine is/);

    const empty = await env.profile("empty");
    assert.equal(empty.state, "degraded");
    assert.match(empty.stateDetail ?? "", /^forwards nothing: /);
    const table = await env.cli("status");
    assert.match(table.stdout, /empty\s+degraded \(forwards nothing\)/);
    assert.match(table.stdout, /fine\s+running /);

    await env.writeConfig(config("    allow_empty: true\n"));
    assert.equal((await env.cli("reload")).code, 0);
    const allowed = await env.cli("status", "--wait-healthy", "--timeout", "40s");
    assert.equal(allowed.code, 0, allowed.stdout + allowed.stderr);
    assert.match(allowed.stdout, /healthy: empty, fine/);
    const now = await env.profile("empty");
    assert.equal(now.state, "running");
    assert.equal(now.stateDetail, "forwards nothing (allowed by allow_empty)");
  } finally {
    await env.cleanup();
  }
});

Deno.test("a profile is starting until its announced forwards answer", async () => {
  const env = await TestEnv.create({ scenario: SCENARIO });
  try {
    await env.writeConfig(env.configHeader() + "profiles:\n" + profileYaml(env, "fine", "team-b"));
    await env.startDaemon();
    await waitFor(() => env.healthy("fine"), "fine healthy");
    // Running only once its forwards answered, not when kubefwd announced them (then 0/2 were up).
    const fine = await env.profile("fine");
    const running = fine.events?.find((e) => e.from === "starting" && e.to === "running");
    assert.ok(running, "starting → running event");
    assert.equal(fine.forwards.length, 2);
    for (const f of fine.forwards) {
      assert.equal(f.state, "up");
      assert.ok(
        Date.parse(f.since) <= Date.parse(running.at),
        `${f.hostname}:${f.port} up at ${f.since}, but running since ${running.at}`,
      );
    }
  } finally {
    await env.cleanup();
  }
});
