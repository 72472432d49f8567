/**
 * `deno task bench:e2e`: time to recovery against the real cluster, the daemon vs bare kubefwd (with -a
 * where the version has it). Faults: pod replacement (delete + create under a new name) and kill -9 of
 * kubefwd. Recovery = the first successful HTTP request through the forwarded hostname after the fault.
 * Prints p50/p95 per (runner, fault); a run that does not recover within the cap counts as "no recovery".
 * Env: KFD_BENCH_ROUNDS (default 10), KFD_BENCH_CAP_S (default 20), KFD_BENCH_ONLY (daemon|bare). Runs
 * inside tests/e2e/run.sh.
 */
import { TestEnv, waitFor } from "../integration/harness.ts";
import { cluster, e2eEnv, httpGet, kubefwdPath } from "./e2e_helpers.ts";

const ROUNDS = Number(Deno.env.get("KFD_BENCH_ROUNDS") ?? "10");
const CAP_MS = Number(Deno.env.get("KFD_BENCH_CAP_S") ?? "20") * 1000;
const URL_A = "http://echo-a:8080/";
let podSeq = 0;

async function answers(): Promise<boolean> {
  return (await httpGet(URL_A, 1))?.includes("echo name=echo-a") ?? false;
}

/** ms until echo-a answers, or undefined after CAP_MS. */
async function timeToRecovery(t0: number): Promise<number | undefined> {
  while (Date.now() - t0 < CAP_MS) {
    if (await answers()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

async function replacePod(): Promise<number> {
  const pods = await currentEchoAPods();
  const t0 = Date.now();
  for (const p of pods) await cluster("pod-delete", p);
  await cluster("pod-create", `echo-a-b${++podSeq}`, "echo-a");
  return t0;
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

const rows: string[] = [];
function report(runner: string, fault: string, samples: (number | undefined)[]): void {
  const ok = samples.filter((x): x is number => x !== undefined);
  const failed = samples.length - ok.length;
  const stats = ok.length
    ? `p50 ${(percentile(ok, 50) / 1000).toFixed(2)} s  p95 ${(percentile(ok, 95) / 1000).toFixed(2)} s`
    : "never recovered";
  const line = `${runner.padEnd(28)} ${fault.padEnd(16)} n=${samples.length}  ${stats}${
    failed ? `  (${failed} without recovery within ${CAP_MS / 1000} s)` : ""
  }`;
  rows.push(line);
  console.log(line);
}

async function benchDaemon(version: string): Promise<void> {
  const { env } = await e2eEnv(version);
  try {
    await env.startDaemon();
    const diagnose = async (e: unknown): Promise<never> => {
      console.error((await env.cli("status", "e2e")).stdout);
      console.error((await env.cli("logs", "-n", "150")).stdout);
      console.error(await Deno.readTextFile("/etc/hosts"));
      throw e;
    };
    await waitFor(answers, "daemon forwards echo-a", 60_000, 200).catch(diagnose);
    const pod: (number | undefined)[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      pod.push(await timeToRecovery(await replacePod()));
      await waitFor(answers, "echo-a before the next round", 60_000, 200).catch(diagnose);
    }
    report(`daemon + kubefwd ${version}`, "pod replacement", pod);
    const kill: (number | undefined)[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const p = (await env.status()).profiles[0];
      const t0 = Date.now();
      Deno.kill(p.pid!, "SIGKILL");
      kill.push(await timeToRecovery(t0));
      await waitFor(answers, "echo-a before the next round", 60_000, 200).catch(diagnose);
    }
    report(`daemon + kubefwd ${version}`, "kill -9 kubefwd", kill);
    await env.cli("stop");
  } finally {
    await env.cleanup();
  }
}

async function benchBare(version: string): Promise<void> {
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
  const t = await TestEnv.create();
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
  const label = `bare kubefwd ${version}${autoReconnect ? " -a" : ""}`;
  try {
    await start();
    const pod: (number | undefined)[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const r = await timeToRecovery(await replacePod());
      pod.push(r);
      if (r === undefined) { // restarted by hand, as a user would have to
        await stop();
        await start();
      }
    }
    report(label, "pod replacement", pod);
    const kill: (number | undefined)[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = Date.now();
      child!.kill("SIGKILL");
      await child!.status;
      child = undefined;
      kill.push(await timeToRecovery(t0));
      await start();
    }
    report(label, "kill -9 kubefwd", kill);
  } finally {
    await stop();
    await t.cleanup();
  }
}

const versions = (Deno.env.get("KFD_E2E_KUBEFWD_VERSIONS") ?? "").split(/\s+/).filter(Boolean);
const only = Deno.env.get("KFD_BENCH_ONLY"); // "daemon" or "bare"
for (const v of versions) {
  if (only !== "bare") await benchDaemon(v);
  if (only !== "daemon") await benchBare(v);
}
console.log("\nMTTR (fault -> first successful request through the forwarded hostname)");
for (const r of rows) console.log(r);
