/**
 * The fixture of the verb tests: a daemon started detached by `start`, with two profiles of the kubefwd
 * simulator, alpha (namespace team-a) and beta (team-b), waited on until every forward is up.
 */
import assert from "node:assert/strict";
import { TestEnv } from "./harness.ts";
import type { StatusResult } from "../../lib/ipc/protocol.ts";
import type { ProfileStatus } from "../../lib/supervisor/types.ts";

/** Fast retries and health checks, appended to a profile. */
export const FAST =
  "    retry: { initial_delay: 200ms, max_delay: 1s }\n    health: { interval: 1s, timeout: 1s, failure_threshold: 3 }\n";

export function profileYaml(env: TestEnv, name: string, namespace: string, extra = ""): string {
  return `  ${name}:\n    kubeconfig: ${env.dir}/.kube/config\n    context: sim\n    namespaces: [${namespace}]\n${extra}`;
}

/** The standard header followed by `profiles`. */
export function config(env: TestEnv, profiles: string): string {
  return env.configHeader() + "profiles:\n" + profiles;
}

/** alpha (team-a) and beta (team-b), both with {@link FAST}. */
export function alphaBeta(env: TestEnv): string {
  return config(env, profileYaml(env, "alpha", "team-a", FAST) + profileYaml(env, "beta", "team-b", FAST));
}

export function profileOf(status: StatusResult, name: string): ProfileStatus {
  const p = status.profiles.find((x) => x.name === name);
  assert.ok(p, `profile ${name} in status`);
  return p;
}

export async function runningWithForwards(env: TestEnv, name: string): Promise<ProfileStatus | undefined> {
  const p = profileOf(await env.status(), name);
  return p.state === "running" && p.forwards.length > 0 && p.forwards.every((f) => f.state === "up")
    ? p
    : undefined;
}

/** A daemon started detached by `start`; disposing it kills the daemon and its children. */
export interface Daemon extends AsyncDisposable {
  env: TestEnv;
  pid: number;
}

/**
 * A daemon of its own for one test, running {@link alphaBeta} with every forward up, so that no test
 * depends on what an earlier one did. `scenario` must use ports no other test file uses: test files run
 * in parallel and every test daemon starts its IP ranges at 127.3.
 */
export async function healthyDaemon(scenario: unknown): Promise<Daemon> {
  await using owned = new AsyncDisposableStack();
  const env = owned.use(await TestEnv.create({ scenario }));
  await env.writeConfig(alphaBeta(env));
  const started = await env.cli("--json", "start");
  assert.equal(started.code, 0, started.stdout + started.stderr);
  const pid: number = JSON.parse(started.stdout).pid;
  assert.ok(pid > 0, started.stdout);
  const healthy = await env.cli("status", "--wait-healthy", "--timeout", "30s");
  assert.equal(healthy.code, 0, healthy.stdout + healthy.stderr);
  const cleanup = owned.move();
  return { env, pid, [Symbol.asyncDispose]: () => cleanup.disposeAsync() };
}
