/**
 * `deno task bench:e2e`: the daemon vs bare kubefwd (with -a where the version has it) against the real
 * cluster. Faults: pod replacement (delete + create under a new name) and kill -9 of kubefwd. Per fault it
 * reports the time to recovery (fault → first successful HTTP request through the forwarded hostname), the
 * requests lost out of a steady 10 requests/s, and, for the daemon, every restart it decided with its trigger,
 * its time after the fault and whether it was needed (echo-a's last request before it had failed). A soak mode
 * runs a healthy cluster with one request per second through every forward and counts failed requests and
 * daemon-initiated restarts (both must be 0).
 * Env: KFD_BENCH_ROUNDS (default 10), KFD_BENCH_CAP_S (default 20), KFD_BENCH_ONLY (daemon|bare),
 * KFD_BENCH_LOADS ("idle", "busy" or "idle busy"; busy keeps every core busy; default idle),
 * KFD_BENCH_SOAK_S (soak seconds per load and version, daemon only; 0 = no soak, the default),
 * KFD_BENCH_GAP_ROUNDS (default 0) rounds of a pod gone for KFD_BENCH_GAP_S (default 20) before its
 * replacement appears, timed from the replacement being Ready, KFD_BENCH_BARE_ARGS (more kubefwd flags for
 * the bare runs). Runs inside
 * tests/e2e/run.sh.
 */
import { TestEnv, waitFor } from "../integration/harness.ts";
import type { TransitionEvent } from "../../lib/supervisor/types.ts";
import { cluster, e2eEnv, httpGet, kubefwdPath, profileConfig } from "./e2e_helpers.ts";
import { cpuLoad, TrafficLoop } from "./bench_traffic.ts";

const ROUNDS = Number(Deno.env.get("KFD_BENCH_ROUNDS") ?? "10");
const CAP_MS = Number(Deno.env.get("KFD_BENCH_CAP_S") ?? "20") * 1000;
const SOAK_MS = Number(Deno.env.get("KFD_BENCH_SOAK_S") ?? "0") * 1000;
const LOADS = (Deno.env.get("KFD_BENCH_LOADS") ?? "idle").split(/\s+/).filter(Boolean) as ("idle" | "busy")[];
const GAP_MS = Number(Deno.env.get("KFD_BENCH_GAP_S") ?? "20") * 1000;
const GAP_ROUNDS = Number(Deno.env.get("KFD_BENCH_GAP_ROUNDS") ?? "0");
const BARE_ARGS = (Deno.env.get("KFD_BENCH_BARE_ARGS") ?? "").split(/\s+/).filter(Boolean);
const URL_A = "http://echo-a:8080/";
const EVERY_FORWARD = {
  [URL_A]: "echo-a",
  "http://echo-b:8080/": "echo-b",
  "http://echo-b:9090/": "echo-b-alt",
};
let podSeq = 0;

async function answers(): Promise<boolean> {
  return (await httpGet(URL_A, 1))?.includes("echo name=echo-a") ?? false;
}

/**
 * ms from t0 until the traffic loop's first successful request sent once the fault was fully injected (a
 * deleted pod answers until its deletion completes), or undefined.
 */
async function timeToRecovery(
  traffic: TrafficLoop,
  t0: number,
  injected: number,
): Promise<number | undefined> {
  const firstOk = () => traffic.between(URL_A, injected, Infinity).find((s) => s.ok);
  await waitFor(
    () => firstOk() !== undefined || Date.now() - t0 > CAP_MS + 1500,
    "recovery or cap",
    CAP_MS + 5000,
    50,
  );
  const ok = firstOk();
  return ok && ok.at - t0 <= CAP_MS ? ok.at - t0 : undefined;
}

async function replacePod(): Promise<number> {
  const pods = await currentEchoAPods();
  const t0 = Date.now();
  for (const p of pods) await cluster("pod-delete", p);
  await cluster("pod-create", `echo-a-b${++podSeq}`, "echo-a");
  return t0;
}

/** Deletes echo-a's pods, waits GAP_MS, creates a replacement: t0 is when it is Ready. */
async function podGap(): Promise<number> {
  for (const p of await currentEchoAPods()) await cluster("pod-delete", p);
  const gone = Date.now();
  await waitFor(() => Date.now() - gone >= GAP_MS, "the gap", GAP_MS + 5000, 200);
  await cluster("pod-create", `echo-a-g${++podSeq}`, "echo-a");
  return Date.now();
}

async function currentEchoAPods(): Promise<string[]> {
  const out = await new Deno.Command(Deno.env.get("KFD_E2E_KUBECTL")!, {
    args: ["get", "pods", "-n", Deno.env.get("KFD_E2E_NAMESPACE")!, "-o", "name"],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").map((l) => l.replace("pod/", "").trim())
    .filter((n) => n.startsWith("echo-a-"));
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/** One fault round: recovery time, requests lost until the next round, daemon restarts (needed or not). */
interface Round {
  recoveryMs?: number;
  lost: number;
  sent: number;
  restarts: number;
  needed: number;
}

const rows: string[] = [];
function report(runner: string, fault: string, rounds: Round[]): void {
  if (rounds.length === 0) return;
  const ok = rounds.map((r) => r.recoveryMs).filter((x): x is number => x !== undefined);
  const failed = rounds.length - ok.length;
  const stats = ok.length
    ? `p50 ${(percentile(ok, 50) / 1000).toFixed(2)} s  p95 ${(percentile(ok, 95) / 1000).toFixed(2)} s`
    : "never recovered";
  const lost = rounds.reduce((n, r) => n + r.lost, 0);
  const sent = rounds.reduce((n, r) => n + r.sent, 0);
  const restarts = rounds.reduce((n, r) => n + r.restarts, 0);
  const needed = rounds.reduce((n, r) => n + r.needed, 0);
  const line = `${runner.padEnd(34)} ${fault.padEnd(20)} n=${rounds.length}  ${stats}${
    failed ? `  (${failed} without recovery within ${CAP_MS / 1000} s)` : ""
  }  lost ${(lost / rounds.length).toFixed(1)} req/fault (${lost}/${sent})${
    runner.startsWith("daemon") ? `  daemon restarts ${restarts} (needed ${needed})` : ""
  }`;
  rows.push(line);
  console.log(line);
}

/** Restarts the daemon decided (a live kubefwd stopped by the daemon itself) since `since`. */
async function daemonRestarts(env: TestEnv, since: number): Promise<TransitionEvent[]> {
  const p = await env.profile("e2e");
  // The bench itself never restarts, reloads or stops the profile during a round: every stop is the daemon's.
  return (p.events ?? []).filter((e) => e.to === "stopping" && Date.parse(e.at) >= since);
}

async function faultRound(
  traffic: TrafficLoop,
  inject: () => Promise<number>,
  recovered: () => Promise<unknown>,
  env?: TestEnv,
): Promise<Round> {
  const t0 = await inject();
  const recoveryMs = await timeToRecovery(traffic, t0, Date.now());
  await recovered();
  // Lost requests within the cap: past it, a bare kubefwd is restarted by hand (as a user would).
  const samples = traffic.between(URL_A, t0, Math.min(Date.now(), t0 + CAP_MS));
  const round: Round = {
    recoveryMs,
    lost: samples.filter((s) => !s.ok).length,
    sent: samples.length,
    restarts: 0,
    needed: 0,
  };
  for (const e of env ? await daemonRestarts(env, t0) : []) {
    const needed = traffic.failingAt(URL_A, Date.parse(e.at)) === true;
    round.restarts++;
    if (needed) round.needed++;
    console.log(
      `  daemon restart +${((Date.parse(e.at) - t0) / 1000).toFixed(2)} s (${
        needed ? "needed" : "NOT needed"
      }): ${e.reason}${e.detail ? ` — ${e.detail}` : ""}`,
    );
  }
  return round;
}

/** Healthy run before an isolated kill: the bench profile's `reset_after`, so the kill is not a crash loop. */
const STABLE_MS = 5000;

async function benchDaemon(version: string, load: string): Promise<void> {
  const { env, kubeconfig } = await e2eEnv(version);
  await env.writeConfig(
    profileConfig(version, kubeconfig).replace(
      "max_delay: 2s }",
      `max_delay: 2s, reset_after: ${STABLE_MS}ms }`,
    ),
  );
  const traffic = new TrafficLoop({ [URL_A]: "echo-a" }, 100);
  try {
    await env.startDaemon();
    const diagnose = async (e: unknown): Promise<never> => {
      console.error((await env.cli("status", "e2e")).stdout);
      console.error((await env.cli("logs", "-n", "150")).stdout);
      console.error(await Deno.readTextFile("/etc/hosts"));
      throw e;
    };
    const ready = () => waitFor(answers, "echo-a answers", 60_000, 200).catch(diagnose);
    await ready();
    traffic.start();
    const label = `daemon + kubefwd ${version} (${load})`;
    const pod: Round[] = [];
    for (let i = 0; i < ROUNDS; i++) pod.push(await faultRound(traffic, replacePod, ready, env));
    report(label, "pod replacement", pod);
    const gap: Round[] = [];
    for (let i = 0; i < GAP_ROUNDS; i++) gap.push(await faultRound(traffic, podGap, ready, env));
    report(label, `pod gone ${GAP_MS / 1000} s`, gap);
    /** SIGKILL of the daemon's kubefwd, after `healthyMs` of answering. */
    const killRound = async (healthyMs: number) => {
      const healthySince = Date.now();
      await waitFor(() => Date.now() - healthySince >= healthyMs, "a healthy run", healthyMs + 5000, 100);
      const pid = (await env.status()).profiles[0].pid!;
      const kill = () => {
        const t0 = Date.now();
        Deno.kill(pid, "SIGKILL");
        return Promise.resolve(t0);
      };
      return await faultRound(traffic, kill, ready, env);
    };
    const kill: Round[] = [];
    for (let i = 0; i < ROUNDS; i++) kill.push(await killRound(0));
    report(label, "kill -9 kubefwd", kill);
    // The same kills, each after a healthy run of reset_after: a crash after health restarts at once.
    const isolated: Round[] = [];
    for (let i = 0; i < ROUNDS; i++) isolated.push(await killRound(STABLE_MS + 500));
    report(label, `kill -9 after ${STABLE_MS / 1000} s up`, isolated);
    await traffic.stop();
    await env.cli("stop");
  } finally {
    await traffic.stop();
    await env.cleanup();
  }
}

/** A healthy cluster for SOAK_MS: every forward is asked once a second; nothing may fail or restart. */
async function soakDaemon(version: string, load: string): Promise<void> {
  const { env } = await e2eEnv(version);
  const traffic = new TrafficLoop(EVERY_FORWARD, 1000);
  try {
    await env.startDaemon();
    await waitFor(
      async () => {
        for (const [url, name] of Object.entries(EVERY_FORWARD)) {
          if (!(await httpGet(url, 1))?.includes(`echo name=${name} `)) return false;
        }
        return true;
      },
      "every forward answers",
      60_000,
      200,
    );
    const before = (await env.profile("e2e")).restarts;
    const t0 = Date.now();
    traffic.start();
    await waitFor(() => Date.now() - t0 >= SOAK_MS, "soak time", SOAK_MS + 10_000, 1000);
    await traffic.stop();
    const restarts = (await env.profile("e2e")).restarts - before;
    const samples = [...traffic.samples.values()].flat();
    const failed = samples.filter((s) => !s.ok).length;
    const line = `soak daemon + kubefwd ${version} (${load})`.padEnd(51) +
      `${SOAK_MS / 1000} s  requests ${samples.length}, failed ${failed}  daemon restarts ${restarts}`;
    rows.push(line);
    console.log(line);
    for (const e of await daemonRestarts(env, t0)) console.log(`  daemon restart at ${e.at}: ${e.reason}`);
    await env.cli("stop");
  } finally {
    await traffic.stop();
    await env.cleanup();
  }
}

async function benchBare(version: string, load: string): Promise<void> {
  const autoReconnect = !version.startsWith("1.22") && !version.startsWith("1.23");
  const args = [
    "svc",
    "-n",
    Deno.env.get("KFD_E2E_NAMESPACE")!,
    "-c",
    Deno.env.get("KUBECONFIG")!,
    "-x",
    Deno.env.get("KFD_E2E_CONTEXT")!,
  ];
  if (autoReconnect) args.push("-a");
  args.push(...BARE_ARGS);
  const t = await TestEnv.create();
  const traffic = new TrafficLoop({ [URL_A]: "echo-a" }, 100);
  let child: Deno.ChildProcess | undefined;
  const start = async () => {
    child = new Deno.Command(kubefwdPath(version), {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
      env: { HOME: t.dir },
    })
      .spawn();
    await waitFor(answers, "bare kubefwd forwards echo-a", 60_000, 200);
  };
  const stop = async () => {
    if (!child) return;
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
    child = undefined;
  };
  // Without recovery a user restarts kubefwd by hand: the next round needs it answering again.
  const recovered = async () => {
    if (await answers()) return;
    await stop();
    await start();
  };
  const label = `bare kubefwd ${version}${autoReconnect ? " -a" : ""}${
    BARE_ARGS.length ? ` ${BARE_ARGS.join(" ")}` : ""
  } (${load})`;
  try {
    await start();
    traffic.start();
    const pod: Round[] = [];
    for (let i = 0; i < ROUNDS; i++) pod.push(await faultRound(traffic, replacePod, recovered));
    report(label, "pod replacement", pod);
    const gap: Round[] = [];
    for (let i = 0; i < GAP_ROUNDS; i++) gap.push(await faultRound(traffic, podGap, recovered));
    report(label, `pod gone ${GAP_MS / 1000} s`, gap);
    const kill: Round[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      kill.push(
        await faultRound(traffic, async () => {
          const t0 = Date.now();
          child!.kill("SIGKILL");
          await child!.status;
          child = undefined;
          return t0;
        }, recovered),
      );
    }
    report(label, "kill -9 kubefwd", kill);
  } finally {
    await traffic.stop();
    await stop();
    await t.cleanup();
  }
}

const versions = (Deno.env.get("KFD_E2E_KUBEFWD_VERSIONS") ?? "").split(/\s+/).filter(Boolean);
const only = Deno.env.get("KFD_BENCH_ONLY"); // "daemon" or "bare"
for (const load of LOADS) {
  const busy = cpuLoad(load);
  try {
    for (const v of versions) {
      if ((ROUNDS > 0 || GAP_ROUNDS > 0) && only !== "bare") await benchDaemon(v, load);
      if ((ROUNDS > 0 || GAP_ROUNDS > 0) && only !== "daemon") await benchBare(v, load);
      if (SOAK_MS > 0) await soakDaemon(v, load);
    }
  } finally {
    await busy?.stop();
  }
}
console.log(
  "\nMTTR (fault -> first successful request through the forwarded hostname; 10 requests/s during faults)",
);
for (const r of rows) console.log(r);
