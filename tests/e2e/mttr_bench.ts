/**
 * `deno task bench:e2e`: the daemon vs bare kubefwd (with -a where the version has it) against the real
 * cluster. Faults (bench_faults.ts): pod replacement, a pod gone for a while, kill -9 of kubefwd (back to
 * back, and after a healthy run), an apiserver outage. Per fault: the time to recovery (to the first
 * successful HTTP request through the forwarded hostname; for the outage from the apiserver answering
 * `/readyz` again), the requests lost out of a steady 10 requests/s and, for the daemon, every restart it
 * decided with whether it was needed. A soak (bench_soak.ts, daemon only) runs a healthy cluster with one
 * request per second through every forward. Ends with Markdown tables (bench_report.ts). Knobs:
 * bench_knobs.ts and tests/e2e/README.md. Runs inside tests/e2e/run.sh.
 */
import { TestEnv, waitFor } from "../integration/harness.ts";
import { e2eEnv, env, kubefwdPath, profileConfig } from "./e2e_helpers.ts";
import { cpuLoad, loadavg, TrafficLoop } from "./bench_traffic.ts";
import { KNOBS, STABLE_MS } from "./bench_knobs.ts";
import { answers, apiserverOutage, faultRound, podGap, replacePod, URL_A } from "./bench_faults.ts";
import { type FaultKind, printSummary, reportFault, type Round } from "./bench_report.ts";
import { soakDaemon } from "./bench_soak.ts";

/** Runs `n` rounds of `round` and reports them under `kind`. */
async function rounds(
  n: number,
  round: () => Promise<Round>,
  report: (kind: FaultKind, rs: Round[]) => void,
  kind: FaultKind,
): Promise<void> {
  const rs: Round[] = [];
  for (let i = 0; i < n; i++) rs.push(await round());
  report(kind, rs);
}

async function benchDaemon(version: string, load: string): Promise<void> {
  const { env: te, kubeconfig } = await e2eEnv(version);
  await te.writeConfig(
    profileConfig(version, kubeconfig).replace(
      "max_delay: 2s }",
      `max_delay: 2s, reset_after: ${STABLE_MS}ms }`,
    ),
  );
  const traffic = new TrafficLoop({ [URL_A]: "echo-a" }, 100);
  try {
    await te.startDaemon();
    const diagnose = async (e: unknown): Promise<never> => {
      console.error((await te.cli("status", "e2e")).stdout);
      console.error((await te.cli("logs", "-n", "150")).stdout);
      console.error(await Deno.readTextFile("/etc/hosts"));
      throw e;
    };
    const ready = () => waitFor(answers, "echo-a answers", 60_000, 200).catch(diagnose);
    await ready();
    traffic.start();
    const label = `daemon + kubefwd ${version} (${load})`;
    console.log(`== ${label}: load average ${loadavg()} at start`);
    const report = (kind: FaultKind, rs: Round[]) => reportFault(version, load, "daemon", label, kind, rs);
    await rounds(KNOBS.rounds, () => faultRound(traffic, replacePod, ready, te), report, "pod");
    await rounds(KNOBS.gapRounds, () => faultRound(traffic, podGap, ready, te), report, "gap");
    /** SIGKILL of the daemon's kubefwd, after `healthyMs` of answering. */
    const killRound = async (healthyMs: number) => {
      const healthySince = Date.now();
      await waitFor(() => Date.now() - healthySince >= healthyMs, "a healthy run", healthyMs + 5000, 100);
      const pid = (await te.status()).profiles[0].pid!;
      const kill = () => {
        const t0 = Date.now();
        Deno.kill(pid, "SIGKILL");
        return Promise.resolve(t0);
      };
      return await faultRound(traffic, kill, ready, te);
    };
    await rounds(KNOBS.rounds, () => killRound(0), report, "kill");
    // The same kills, each after a healthy run of reset_after: a crash after health restarts at once.
    await rounds(KNOBS.rounds, () => killRound(STABLE_MS + 500), report, "killUp");
    const outage = apiserverOutage();
    const settled = async () => {
      await outage.settle();
      await ready();
    };
    await rounds(KNOBS.outageRounds, () => faultRound(traffic, outage.inject, settled, te), report, "outage");
    await traffic.stop();
    await te.cli("stop");
  } finally {
    await traffic.stop();
    await te.cleanup();
  }
}

async function benchBare(version: string, load: string): Promise<void> {
  const autoReconnect = !version.startsWith("1.22") && !version.startsWith("1.23");
  const args = ["svc", "-n", env("KFD_E2E_NAMESPACE"), "-c", env("KUBECONFIG"), "-x", env("KFD_E2E_CONTEXT")];
  if (autoReconnect) args.push("-a");
  args.push(...KNOBS.bareArgs);
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
    }).spawn();
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
    KNOBS.bareArgs.length ? ` ${KNOBS.bareArgs.join(" ")}` : ""
  } (${load})`;
  const report = (kind: FaultKind, rs: Round[]) => reportFault(version, load, "bare", label, kind, rs);
  try {
    console.log(`== ${label}: load average ${loadavg()} at start`);
    await start();
    traffic.start();
    await rounds(KNOBS.rounds, () => faultRound(traffic, replacePod, recovered), report, "pod");
    await rounds(KNOBS.gapRounds, () => faultRound(traffic, podGap, recovered), report, "gap");
    const kill = async () => {
      const t0 = Date.now();
      child!.kill("SIGKILL");
      await child!.status;
      child = undefined;
      return t0;
    };
    await rounds(KNOBS.rounds, () => faultRound(traffic, kill, recovered), report, "kill");
    const outage = apiserverOutage();
    const settled = async () => {
      await outage.settle();
      await recovered();
    };
    await rounds(KNOBS.outageRounds, () => faultRound(traffic, outage.inject, settled), report, "outage");
  } finally {
    await traffic.stop();
    await stop();
    await t.cleanup();
  }
}

const anyFault = KNOBS.rounds > 0 || KNOBS.gapRounds > 0 || KNOBS.outageRounds > 0;
for (const load of KNOBS.loads) {
  const busy = cpuLoad(load);
  try {
    for (const v of KNOBS.versions) {
      if (anyFault && KNOBS.only !== "bare") await benchDaemon(v, load);
      if (anyFault && KNOBS.only !== "daemon") await benchBare(v, load);
      if (KNOBS.soakMs > 0) await soakDaemon(v, load);
    }
  } finally {
    await busy?.stop();
  }
}
printSummary();
