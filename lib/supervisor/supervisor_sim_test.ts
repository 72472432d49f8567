/**
 * The Supervisor with real processes: DenoSpawner, the real clock, the TCP prober and the kubefwd simulator
 * (tests/simulator) as the child, a temp hosts file: crash and backoff, stop escalation, disjoint IP ranges,
 * not-root and permanent failures, dead forwards, list failures and orphan recovery, end to end.
 */
import assert from "node:assert/strict";
import { type Clock, realClock } from "../clock.ts";
import { FakeClock } from "../testing/fake_clock.ts";
import type { KubefwdSettings, ProfileSpec, ResolvedConfig } from "../config/types.ts";
import { SocketProber } from "../health/socket_prober.ts";
import { FakeServiceLister } from "../testing/fake_service_lister.ts";
import { FileHostsFile } from "../kubefwd/hosts.ts";
import { emptyState, type PersistedState } from "../state/types.ts";
import { readUntil } from "../../tests/deadline.ts";
import { isTimeoutError, waitFor } from "../util/async.ts";
import { tempDir } from "../../tests/temp_dir.ts";
import type { Scenario } from "../../tests/simulator/kubefwd_sim.ts";
import { writeScenario, writeSimulatorWrapper } from "../../tests/simulator/harness.ts";
import { isSameProcess, killOrphans, processGroupMembers, readCmdline } from "./process_control.ts";
import type { RunnerTuning } from "./runner_deps.ts";
import { DenoSpawner } from "./spawner.ts";
import { Supervisor } from "./supervisor.ts";
import { testProfile } from "../testing/profile_spec.ts";
import type { LogEntry, ProfileStatus } from "./types.ts";

const HOSTS_BASE = "127.0.0.1 localhost\n# keep me\n10.1.2.3 unrelated.example\n";

function profile(name: string, dir: string, over: Partial<ProfileSpec> = {}): ProfileSpec {
  return testProfile(name, {
    kubeconfig: `${dir}/kubeconfig`,
    context: "sim",
    retry: {
      initialDelayMs: 200,
      maxDelayMs: 2000,
      multiplier: 2,
      maxAttempts: 0,
      jitter: 0,
      resetAfterMs: 60_000,
    },
    health: { intervalMs: 500, timeoutMs: 500, failureThreshold: 2 },
    forwardFailures: { maxFailures: 3, windowMs: 60_000, debounceMs: 300 },
    ...over,
  });
}

function service(name: string, port: number, pod = `${name}-7d9f-abcde`) {
  return { name, ports: [{ port, targetPort: 8080 }], pods: [pod] };
}

interface SimEnv extends AsyncDisposable {
  dir: string;
  hostsPath: string;
  logs: (LogEntry & { t: number })[];
  state: PersistedState;
  sup: Supervisor;
  settings: KubefwdSettings;
  config(profiles: ProfileSpec[]): ResolvedConfig;
  status(name: string): ProfileStatus;
  /**
   * Pre-assigns each profile a random 127.N range (N in 100..250), so tests running in parallel with other
   * simulator tests (which start at 127.3) never compete for the same address:port. Returns "127.N".
   */
  seed(names: string[]): Record<string, string>;
}

function seedRanges(state: PersistedState, names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const used = new Set<number>();
  for (const name of names) {
    let n: number;
    do n = 100 + Math.floor(Math.random() * 151); while (used.has(n));
    used.add(n);
    state.profiles[name] = {
      counters: { restarts: 0, failures: 0, totalUptimeMs: 0 },
      events: [],
      baseIp: `127.${n}.27.1`,
    };
    out[name] = `127.${n}`;
  }
  return out;
}

async function simEnv(opts: {
  scenario: Scenario;
  version?: string;
  root?: boolean;
  lister?: FakeServiceLister;
  stopTimeoutMs?: number;
  tuning?: Partial<RunnerTuning>;
  clock?: Clock;
}): Promise<SimEnv> {
  const dir = await Deno.makeTempDir({ prefix: "sup_sim_" });
  const hostsPath = `${dir}/hosts`;
  await Deno.writeTextFile(hostsPath, HOSTS_BASE);
  await Deno.writeTextFile(`${dir}/kubeconfig`, "apiVersion: v1\nkind: Config\n");
  const simEnvVars: Record<string, string> = {
    KUBEFWD_SIM_SCENARIO: await writeScenario(dir, opts.scenario),
    KUBEFWD_SIM_VERSION: opts.version ?? "1.25.16",
    KUBEFWD_SIM_HOSTS: hostsPath,
    KUBEFWD_SIM_PIDFILE: `${dir}/pids`,
  };
  if (opts.root === false) simEnvVars.KUBEFWD_SIM_ROOT = "0";
  await Deno.mkdir(`${dir}/bin`);
  const path = await writeSimulatorWrapper(`${dir}/bin`, simEnvVars);
  const settings: KubefwdSettings = {
    path,
    privilege: "auto",
    extraArgs: [],
    hostsPath,
    stopTimeoutMs: opts.stopTimeoutMs ?? 5000,
  };
  const logs: (LogEntry & { t: number })[] = [];
  const state = emptyState();
  const sup = new Supervisor({
    spawner: new DenoSpawner(),
    clock: opts.clock ?? realClock,
    log: { write: (e) => logs.push({ ...e, t: performance.now() }) },
    prober: new SocketProber(),
    serviceLister: opts.lister ?? new FakeServiceLister(),
    hostsFile: (s) => new FileHostsFile(s.hostsPath),
    isRoot: true,
    stateDir: dir,
    state,
    persist: () => {},
    env: { PATH: "/usr/bin:/bin" },
    home: dir,
    stopOptions: { secondTermWaitMs: 1000, killWaitMs: 5000 },
    tuning: { startStaggerMs: 300, ...opts.tuning },
  });
  return {
    dir,
    hostsPath,
    logs,
    state,
    sup,
    settings,
    config: (profiles) => ({
      path: `${dir}/config.yaml`,
      daemon: { logLevel: "info", logFile: "", pidFile: "", socketPath: "", stateDir: dir },
      kubefwd: settings,
      profiles,
    }),
    status: (name) => sup.status([name])[0],
    seed: (names) => seedRanges(state, names),
    [Symbol.asyncDispose]: async () => {
      await sup.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function until(cond: () => boolean, what: string, ms = 20_000, env?: SimEnv): Promise<void> {
  try {
    await waitFor(cond, ms, { step: 10 });
  } catch (e) {
    if (!isTimeoutError(e)) throw e;
    const tail = env
      ? "\n" + env.logs.slice(-30).map((l) => `${l.profile ?? "-"} ${l.source} ${l.message}`).join("\n")
      : "";
    throw new Error(`timed out waiting for ${what}${tail}`);
  }
}

function gone(pid: number): boolean {
  const c = readCmdline(pid);
  return c === null || c === "";
}

Deno.test("sim: crash after a run longer than the backoff → restarted at once; hosts lines of the crashed child removed; restart latency", async () => {
  await using env = await simEnv({
    scenario: {
      namespaces: { ns: { services: [service("web", 8080), service("api", 8081)] } },
      actions: [{ type: "crash", atMs: 1500, signal: "SIGKILL" }],
    },
  });
  const range = env.seed(["a"]).a;
  env.sup.reconcile(env.config([profile("a", env.dir)]));
  await until(() => env.status("a").forwards.length === 2, "two forwards", 20_000, env);
  const first = env.status("a");
  assert.deepEqual(first.forwards.map((f) => `${f.hostname}:${f.port}@${f.ip}`).sort(), [
    `api:8081@${range}.27.2`,
    `web:8080@${range}.27.1`,
  ]);
  await until(
    () => env.status("a").forwards.every((f) => f.state === "up"),
    "forwards up (TCP probe)",
    10_000,
    env,
  );
  assert.equal(env.status("a").state, "running");
  await until(
    () =>
      Deno.readTextFileSync(env.hostsPath).split("\n").some((l) =>
        l.startsWith(`${range}.27.1 `) && / web( |$)/.test(l)
      ),
    "hosts line written",
  );
  const firstPid = first.pid!;

  await until(() => env.status("a").state === "backoff", "backoff after the crash", 10_000, env);
  const exitLog = env.logs.find((l) => l.source === "daemon" && l.message.includes(`pid ${firstPid} ended`))!;
  assert.match(exitLog.message, /killed by SIGKILL/);
  // The hosts lines of the SIGKILLed child are gone, the rest of the file is intact.
  await until(
    () => env.logs.some((l) => /removed \d+ leftover hosts name/.test(l.message)),
    "hosts cleanup",
  );

  await until(
    () => env.status("a").pid !== null && env.status("a").pid !== firstPid,
    "second child",
    10_000,
    env,
  );
  const secondPid = env.status("a").pid!;
  await until(
    () =>
      env.logs.some((l) => l.source === "stdout" && l.message.startsWith("Port-Forward:") && l.t > exitLog.t),
    "second child's first Port-Forward",
  );
  const pf = env.logs.find((l) =>
    l.source === "stdout" && l.message.startsWith("Port-Forward:") && l.t > exitLog.t
  )!;
  const latency = Math.round(pf.t - exitLog.t);
  console.log(
    `restart latency after a crash (initial_delay 200 ms, child ran 1.5 s): ${latency} ms (exit → first Port-Forward of pid ${secondPid})`,
  );
  // The backoff spaces starts: this child ran longer than the 200 ms delay, so there is nothing left to wait.
  assert.ok(env.logs.some((l) => l.source === "daemon" && l.message.includes("retry 1 in 0 ms")), "no wait");
  const s = env.status("a");
  assert.ok(s.failures >= 1 && s.restarts >= 1);
  await env.sup.stop(["a"]);
  assert.equal(env.status("a").state, "stopped");
  await until(() => gone(secondPid), "second child gone");
  const hosts = await Deno.readTextFile(env.hostsPath);
  assert.ok(hosts.startsWith(HOSTS_BASE), hosts);
  assert.ok(!hosts.includes(`${range}.`), "no stale lines of the profile's range");
});

Deno.test("sim: a SIGTERM-ignoring child is gone after the escalation, no process of its group left", async () => {
  await using env = await simEnv({
    scenario: { namespaces: { ns: { services: [service("web", 8090)] } }, ignoreSigterm: true },
    stopTimeoutMs: 500,
  });
  const range = env.seed(["a"]).a;
  env.sup.reconcile(env.config([profile("a", env.dir)]));
  await until(() => env.status("a").state === "running", "running", 20_000, env);
  const pid = env.status("a").pid!;
  assert.ok(processGroupMembers(pid).length >= 1);
  const t0 = Date.now();
  const [r] = await env.sup.stop(["a"]);
  assert.equal(r.outcome, "stopped");
  assert.ok(Date.now() - t0 >= 1500, "waited stop_timeout + the second-SIGTERM grace");
  assert.ok(gone(pid), `pid ${pid} gone from /proc`);
  assert.deepEqual(processGroupMembers(pid), [], "nothing left in its process group");
  assert.ok(env.logs.some((l) => /second SIGTERM/.test(l.message)));
  assert.ok(env.logs.some((l) => /SIGKILL of its process group/.test(l.message)));
  // SIGKILL means kubefwd cleaned nothing: the daemon removed its hosts lines.
  assert.ok(!(await Deno.readTextFile(env.hostsPath)).includes(`${range}.`));
});

Deno.test("sim: two profiles get disjoint IP ranges; excluded services never reach the child; lines attributed", async () => {
  const lister = new FakeServiceLister({ one: ["web", "debug-1", "debug-2"], two: ["web", "db"] });
  await using env = await simEnv({
    scenario: {
      namespaces: {
        one: { services: [service("web", 8100), service("debug-1", 8101), service("debug-2", 8102)] },
        two: { services: [service("web", 8100), service("db", 8103)] },
      },
    },
    lister,
  });
  env.seed(["p1", "p2"]);
  env.sup.reconcile(env.config([
    profile("p1", env.dir, { namespaces: ["one"], excludeServices: ["debug-*"] }),
    profile("p2", env.dir, { namespaces: ["two"] }),
  ]));
  await until(
    () => env.status("p1").state === "running" && env.status("p2").state === "running",
    "both running",
    30_000,
    env,
  );
  await until(() => env.status("p2").forwards.length === 2, "p2 forwards", 10_000, env);
  const p1 = env.status("p1");
  const p2 = env.status("p2");
  assert.notEqual(p1.baseIp, p2.baseIp);
  const range = (ip: string) => ip.split(".").slice(0, 2).join(".");
  const r1 = new Set(p1.forwards.map((f) => range(f.ip)));
  const r2 = new Set(p2.forwards.map((f) => range(f.ip)));
  assert.deepEqual([...r1], [range(p1.baseIp!)]);
  assert.deepEqual([...r2], [range(p2.baseIp!)]);
  assert.notDeepEqual([...r1], [...r2]);
  // Same service name and port in both profiles, on different addresses: both listeners answer.
  await until(
    () => [...env.status("p1").forwards, ...env.status("p2").forwards].every((f) => f.state === "up"),
    "all forwards up",
    10_000,
    env,
  );

  assert.deepEqual(p1.forwards.map((f) => f.hostname), ["web"], "debug-* excluded");
  const pids = (await Deno.readTextFile(`${env.dir}/pids`)).trim().split("\n").map((l) => JSON.parse(l));
  const p1Argv: string[] = pids.find((p) => p.pid === p1.pid)?.argv ?? [];
  assert.equal(p1Argv[p1Argv.indexOf("-f") + 1], "metadata.name!=debug-1,metadata.name!=debug-2");
  assert.ok(
    !env.logs.some((l) => l.source === "stdout" && /debug-/.test(l.message)),
    "sim never forwarded them",
  );
  assert.deepEqual(lister.calls, [{ profile: "p1", namespace: "one" }]);

  // Attribution: each Port-Forward line is logged under the profile whose range it is in.
  const pfLines = env.logs.filter((l) => l.source === "stdout" && l.message.startsWith("Port-Forward:"));
  assert.ok(pfLines.length >= 3);
  for (const l of pfLines) {
    const ip = /Port-Forward:\s+(\S+)/.exec(l.message)![1];
    const owner = range(ip) === range(p1.baseIp!) ? "p1" : "p2";
    assert.equal(l.profile, owner, l.message);
  }
  assert.ok(
    env.logs.filter((l) => l.source !== "daemon").every((l) => l.profile === "p1" || l.profile === "p2"),
  );
});

Deno.test("sim: not root → failed with the sudoers hint, no restart loop", async () => {
  // Real processes, fake time: the refusal and the exit need no timer, and time is then driven past the
  // retry delays, so a restart loop would have launched (entered `starting`) during the advance.
  const clock = new FakeClock();
  await using env = await simEnv({ scenario: {}, root: false, clock });
  env.sup.reconcile(env.config([profile("a", env.dir)]));
  await until(() => env.status("a").state === "failed", "failed", 20_000, env);
  assert.match(env.status("a").lastError!, /NOPASSWD: \/usr\/local\/libexec\/kubefwd-daemon\/kubefwd-root/);
  clock.advance(600); // three initial delays: a loop would have respawned
  assert.equal(env.status("a").state, "failed", "no restart loop");
  const spawns = env.logs.filter((l) => l.source === "daemon" && l.message.startsWith("spawned kubefwd"));
  assert.equal(spawns.length, 1, "spawned exactly once");
  assert.equal(env.status("a").state, "failed");
});

Deno.test("sim: permanent fatal → failed with kubefwd's FATA message", async () => {
  await using env = await simEnv({ scenario: { contexts: ["other"] } });
  env.sup.reconcile(env.config([profile("a", env.dir)]));
  await until(() => env.status("a").state === "failed", "failed", 20_000, env);
  assert.equal(
    env.status("a").lastError,
    'Error generating REST configuration: context "sim" does not exist',
  );
});

/**
 * Profile "a" announces its forwards (a forward lost before the first probe keeps it from `running`),
 * then its kubefwd is replaced by a new process for `reason`: counted as a restart, not as a failure.
 */
async function assertRunsThenRestartsFor(env: SimEnv, reason: RegExp): Promise<void> {
  env.seed(["a"]);
  env.sup.reconcile(env.config([profile("a", env.dir)]));
  await until(() => env.status("a").forwards.length > 0, "forwards announced", 20_000, env);
  const pid = env.status("a").pid!;
  await until(() => env.status("a").restarts >= 1 && env.status("a").pid !== pid, "restarted", 20_000, env);
  assert.equal(env.status("a").failures, 0);
  assert.ok(env.sup.status(["a"], { details: true })[0].events!.some((e) => reason.test(e.reason)));
}

Deno.test("sim: 1.22 lost forward → child restarted after the debounce, counted as a reconnect", async () => {
  await using env = await simEnv({
    version: "1.22.5",
    scenario: {
      namespaces: { ns: { services: [service("web", 8110), service("api", 8111)] } },
      actions: [{ type: "lose_forward", atMs: 300, service: "web" }],
    },
  });
  await assertRunsThenRestartsFor(env, /dead forward/);
});

Deno.test("sim: 1.25 failing to list for longer than the limit → child restarted, not counted as a crash", async () => {
  await using env = await simEnv({
    scenario: {
      namespaces: { ns: { services: [service("web", 8115)] } },
      actions: [{ type: "api_outage", atMs: 300, durationMs: 60_000, everyMs: 100 }],
    },
    tuning: { listFailureRestartMs: 1_000, listFailureGapMs: 500 },
  });
  await assertRunsThenRestartsFor(env, /failed to list from the API server/);
});

Deno.test("sim: after kill -9 of a daemon, killOrphans removes its orphaned kubefwd (verified by cmdline)", async () => {
  await using tmp = await tempDir("sup_orphan_");
  const dir = tmp.path;
  const range = seedRanges(emptyState(), ["a"]).a;
  await Deno.writeTextFile(`${dir}/kubeconfig`, "apiVersion: v1\n");
  await Deno.writeTextFile(`${dir}/hosts`, HOSTS_BASE);
  await Deno.mkdir(`${dir}/bin`);
  const path = await writeSimulatorWrapper(`${dir}/bin`, {
    KUBEFWD_SIM_SCENARIO: await writeScenario(dir, {
      namespaces: { ns: { services: [service("web", 8120)] } },
    }),
    KUBEFWD_SIM_HOSTS: `${dir}/hosts`,
  });
  // A throwaway "daemon": a Supervisor without the parent-death guard (as on macOS), state saved on
  // every change, then SIGKILLed.
  const mod = (p: string) => new URL(p, import.meta.url).href;
  const code = `
      import { Supervisor } from "${mod("./supervisor.ts")}";
      import { DenoSpawner } from "${mod("./spawner.ts")}";
      import { realClock } from "${mod("../clock.ts")}";
      import { SocketProber } from "${mod("../health/socket_prober.ts")}";
      import { FakeServiceLister } from "${mod("../testing/fake_service_lister.ts")}";
      import { FileHostsFile } from "${mod("../kubefwd/hosts.ts")}";
      const state = { version: 1, profiles: { a: { counters: { restarts: 0, failures: 0, totalUptimeMs: 0 }, events: [], baseIp: ${
    JSON.stringify(`${range}.27.1`)
  } } } };
      const sup = new Supervisor({
        spawner: new DenoSpawner({ parentDeathGuard: false }), clock: realClock, log: { write() {} },
        prober: new SocketProber(), serviceLister: new FakeServiceLister(), hostsFile: (s) => new FileHostsFile(s.hostsPath),
        isRoot: true, stateDir: ${JSON.stringify(dir)}, state, env: { PATH: "/usr/bin:/bin" }, home: ${
    JSON.stringify(dir)
  },
        persist: () => Deno.writeTextFileSync(${JSON.stringify(`${dir}/state.json`)}, JSON.stringify(state)),
      });
      sup.onEvent((e) => { if (e.to === "running") console.log("running"); });
      sup.reconcile(JSON.parse(${
    JSON.stringify(JSON.stringify({
      path: "",
      daemon: {},
      kubefwd: { path, privilege: "auto", extraArgs: [], hostsPath: `${dir}/hosts`, stopTimeoutMs: 5000 },
      profiles: [profile("a", dir)],
    }))
  }));
      await new Promise(() => {});`;
  const daemon = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = daemon.stdout.getReader();
  await readUntil(
    reader,
    (out) => out.includes("running"),
    "the throwaway daemon to reach running",
    30_000,
  );
  const state = JSON.parse(await Deno.readTextFile(`${dir}/state.json`)) as PersistedState;
  const child = state.profiles.a.child!;
  assert.ok(child && isSameProcess(child.pid, child.cmdline), "recorded cmdline matches /proc");
  assert.deepEqual(child.announcedIps, [`${range}.27.1`], "announced addresses persisted before running");
  daemon.kill("SIGKILL");
  await daemon.status;
  await reader.cancel();
  assert.ok(!gone(child.pid), "kubefwd survived its daemon (no parent-death guard)");

  // What the next daemon start does.
  const reports = await killOrphans([child], { termWaitMs: 5000 });
  assert.deepEqual(reports.map((r) => r.outcome), ["stopped"]);
  await until(() => gone(child.pid), "orphan gone");
  assert.deepEqual(processGroupMembers(child.pid), []);
  const fresh = JSON.parse(await Deno.readTextFile(`${dir}/state.json`)) as PersistedState;
  await new FileHostsFile(`${dir}/hosts`).removeEntries(fresh.profiles.a.child!.announcedIps);
  assert.equal(await Deno.readTextFile(`${dir}/hosts`), HOSTS_BASE);
  // A second pass finds nothing to do, and never touches a recycled pid.
  assert.deepEqual((await killOrphans([child])).map((r) => r.outcome), ["gone"]);
});
