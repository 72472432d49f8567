/**
 * The faults `bench:e2e` injects and how one round is measured: pod replacement, a pod gone for a while,
 * kill -9 of kubefwd (injected by the runner), an apiserver outage; per round the time from the fault's
 * origin to the first successful request through the forward, the requests lost, and the daemon's restarts
 * with whether each was needed.
 */
import type { TestEnv } from "../integration/harness.ts";
import { waitFor } from "../integration/harness.ts";
import type { TransitionEvent } from "../../lib/supervisor/types.ts";
import { cluster, env, httpGet } from "./e2e_helpers.ts";
import type { TrafficLoop } from "./bench_traffic.ts";
import { KNOBS } from "./bench_knobs.ts";
import type { Round } from "./bench_report.ts";

export const URL_A = "http://echo-a:8080/";

/** Whether echo-a answers through its forwarded hostname. */
export async function answers(): Promise<boolean> {
  return (await httpGet(URL_A, 1))?.includes("echo name=echo-a") ?? false;
}

/**
 * Where a fault's clock starts: `t0` is the origin of the recovery time (the fault, or for an outage the
 * apiserver answering `/readyz` again); `since` is when the fault began; `over` the last moment it was
 * certainly still on for the daemon (for an outage: the last poll the apiserver did not answer at all; `/api`,
 * which the daemon checks, answers before `/readyz` is ready). A restart
 * before `over` is never needed: nothing on this side can fix a fault still going on.
 */
export interface FaultStart {
  t0: number;
  since: number;
  over: number;
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
    () => firstOk() !== undefined || Date.now() - t0 > KNOBS.capMs + 1500,
    "recovery or cap",
    KNOBS.capMs + 5000,
    50,
  );
  const ok = firstOk();
  return ok && ok.at - t0 <= KNOBS.capMs ? Math.max(0, ok.at - t0) : undefined;
}

/** Restarts the daemon decided (a live kubefwd stopped by the daemon itself) since `since`. */
export async function daemonRestarts(te: TestEnv, since: number): Promise<TransitionEvent[]> {
  const p = await te.profile("e2e");
  // The bench itself never restarts, reloads or stops the profile during a round: every stop is the daemon's.
  return (p.events ?? []).filter((e) => e.to === "stopping" && Date.parse(e.at) >= since);
}

/**
 * One round: inject, time the recovery, wait until `recovered`, count lost requests within the cap from t0
 * and, with a daemon, its restarts since the fault began. A restart is needed when echo-a's last request
 * before it had failed and the fault was over.
 */
export async function faultRound(
  traffic: TrafficLoop,
  inject: () => Promise<number | FaultStart>,
  recovered: () => Promise<unknown>,
  te?: TestEnv,
): Promise<Round> {
  const injectedStart = await inject();
  const start = typeof injectedStart === "number"
    ? { t0: injectedStart, since: injectedStart, over: injectedStart }
    : injectedStart;
  const { t0, since, over } = start;
  const recoveryMs = await timeToRecovery(traffic, t0, Date.now());
  await recovered();
  // Lost requests within the cap: past it, a bare kubefwd is restarted by hand (as a user would).
  const samples = traffic.between(URL_A, t0, Math.min(Date.now(), t0 + KNOBS.capMs));
  const round: Round = {
    recoveryMs,
    lost: samples.filter((s) => !s.ok).length,
    sent: samples.length,
    restarts: 0,
    needed: 0,
  };
  if (since < t0) {
    const failed = traffic.between(URL_A, since, t0).filter((s) => !s.ok).length;
    const firstOk = traffic.between(URL_A, over, Infinity).find((s) => s.ok);
    const rel = (at: number) => `${at >= t0 ? "+" : "-"}${(Math.abs(at - t0) / 1000).toFixed(2)} s`;
    console.log(
      `  fault began ${rel(since)} from /readyz 200, apiserver last seen silent ${rel(over)}; ` +
        `${failed} requests failed before /readyz; first success through the forward ${
          firstOk ? rel(firstOk.at) : "never"
        }`,
    );
    if (firstOk && firstOk.at - over <= KNOBS.capMs) round.fromApiMs = firstOk.at - over;
  }
  for (const e of te ? await daemonRestarts(te, since) : []) {
    const at = Date.parse(e.at);
    const needed = at >= over && traffic.failingAt(URL_A, at) === true;
    round.restarts++;
    if (needed) round.needed++;
    console.log(
      `  daemon restart ${at >= t0 ? "+" : "-"}${(Math.abs(at - t0) / 1000).toFixed(2)} s from t0 (${
        needed ? "needed" : at < over ? "NOT needed: during the fault" : "NOT needed"
      }): ${e.reason}${e.detail ? ` — ${e.detail}` : ""}`,
    );
  }
  return round;
}

let podSeq = 0;

async function currentEchoAPods(): Promise<string[]> {
  const out = await new Deno.Command(env("KFD_E2E_KUBECTL"), {
    args: ["get", "pods", "-n", env("KFD_E2E_NAMESPACE"), "-o", "name"],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").map((l) => l.replace("pod/", "").trim())
    .filter((n) => n.startsWith("echo-a-"));
}

/** Deletes echo-a's pods and creates a replacement under a new name; t0 is before the deletion. */
export async function replacePod(): Promise<number> {
  const pods = await currentEchoAPods();
  const t0 = Date.now();
  for (const p of pods) await cluster("pod-delete", p);
  await cluster("pod-create", `echo-a-b${++podSeq}`, "echo-a");
  return t0;
}

/** Deletes echo-a's pods, waits the gap, creates a replacement: t0 is when it is Ready. */
export async function podGap(): Promise<number> {
  for (const p of await currentEchoAPods()) await cluster("pod-delete", p);
  const gone = Date.now();
  await waitFor(() => Date.now() - gone >= KNOBS.gapMs, "the gap", KNOBS.gapMs + 5000, 200);
  await cluster("pod-create", `echo-a-g${++podSeq}`, "echo-a");
  return Date.now();
}

/** The HTTP status of the apiserver's `/readyz` (admin credentials), 0 when it does not answer. */
async function readyzStatus(): Promise<number> {
  const pki = env("KFD_E2E_PKI");
  const out = await new Deno.Command("curl", {
    args: [
      "-sS",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "--max-time",
      "1",
      "--cacert",
      `${pki}/ca.crt`,
      "--cert",
      `${pki}/admin.crt`,
      "--key",
      `${pki}/admin.key`,
      `${env("KFD_E2E_APISERVER_URL")}/readyz`,
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  return Number(new TextDecoder().decode(out.stdout).trim()) || 0;
}

async function apiserverPid(): Promise<number> {
  const text = await Deno.readTextFile(`${env("KFD_E2E_RUN")}/pids/kube-apiserver.pid`);
  const pid = Number(text.trim().split(/\s+/)[0]);
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`bad apiserver pid file: ${text}`);
  return pid;
}

/**
 * The apiserver out for the outage time (stopped, or frozen with SIGSTOP), then brought back; t0 is when
 * `/readyz` answers 200 again (polled every 100 ms), `over` when the last poll that got no HTTP answer at all
 * was sent (the apiserver came back in the next 100 ms plus a curl round trip), `since` when the
 * outage began. A SIGTERMed apiserver keeps serving its open port-forward streams until it exits (up to
 * 10 s, then cluster.sh kills it): the outage time counts from its exit. `settle` waits for cluster.sh's own
 * start to finish; call it before the next round.
 */
export function apiserverOutage(): { inject: () => Promise<FaultStart>; settle: () => Promise<void> } {
  let starting: Promise<void> = Promise.resolve();
  const inject = async (): Promise<FaultStart> => {
    const pid = KNOBS.outageMode === "freeze" ? await apiserverPid() : 0;
    const since = Date.now();
    if (pid) Deno.kill(pid, "SIGSTOP");
    else await cluster("stop", "apiserver");
    const out = Date.now();
    // The outage's own duration: the fault being injected, not a wait for a result.
    await waitFor(() => Date.now() - out >= KNOBS.outageMs, "the outage", KNOBS.outageMs + 5000, 100);
    if (pid) Deno.kill(pid, "SIGCONT");
    else starting = cluster("start", "apiserver");
    let startError: unknown;
    starting.catch((e) => startError = e ?? new Error("cluster.sh start apiserver failed"));
    let back = 0;
    let over = since;
    await waitFor(
      async () => {
        if (startError) throw startError;
        const asked = Date.now();
        const status = await readyzStatus();
        if (status === 0) over = asked;
        if (status === 200) back = Date.now();
        return back > 0;
      },
      "the apiserver answering /readyz",
      120_000,
      100,
    );
    return { t0: back, since, over };
  };
  const settle = async () => {
    await starting;
    await kwokForwardsNewPods();
  };
  return { inject, settle };
}

const WARMUP_NAMESPACE = "kfd-e2e-warmup";

/**
 * Waits until kwok forwards a new pod: after an apiserver restart kwok takes 15–55 s to see new PortForward
 * objects (README § Caveats), and the next round's pod replacement would time kwok, not kubefwd. The pod lives
 * in a namespace no profile forwards, so neither kubefwd nor the daemon sees it.
 */
async function kwokForwardsNewPods(): Promise<void> {
  await new Deno.Command(env("KFD_E2E_KUBECTL"), {
    args: ["create", "namespace", WARMUP_NAMESPACE],
    stdout: "null",
    stderr: "null",
  }).output();
  const name = `warmup-${++podSeq}`;
  const inWarmup = async (...args: string[]) => {
    const out = await new Deno.Command("bash", {
      args: [new URL("./cluster.sh", import.meta.url).pathname, ...args],
      env: { KFD_E2E_NAMESPACE: WARMUP_NAMESPACE },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`cluster.sh ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
    }
  };
  const t = Date.now();
  await inWarmup("pod-create", name, "echo-a");
  await inWarmup("pod-delete", name);
  console.log(
    `  kwok forwarded a new pod ${((Date.now() - t) / 1000).toFixed(1)} s after the apiserver was back`,
  );
}
