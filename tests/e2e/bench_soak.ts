/**
 * The soak of `bench:e2e`: a healthy cluster for KFD_BENCH_SOAK_S under the daemon, one request per second
 * through every forward of the profile. Counts failed requests, daemon-initiated restarts, every forward
 * the daemon showed in a state other than up (its socket polled once a second, one connection for the
 * whole soak), and the probe traffic each forward's pod received (counted by the echo servers). The profile's
 * health settings are the product's defaults unless KFD_BENCH_SOAK_HEALTH says otherwise.
 */
import { waitFor } from "../integration/harness.ts";
import { connectDaemon } from "../../lib/ipc/client.ts";
import { VERSION } from "../../lib/version.ts";
import type { ForwardStatus } from "../../lib/supervisor/types.ts";
import { e2eEnv, env, httpGet, profileConfig } from "./e2e_helpers.ts";
import { loadavg, TrafficLoop } from "./bench_traffic.ts";
import { KNOBS } from "./bench_knobs.ts";
import { daemonRestarts } from "./bench_faults.ts";
import { reportSoak } from "./bench_report.ts";

/** The echo server behind a forward: echo-b's port 9090 is echo-b-alt, every other port its service's. */
function echoName(f: ForwardStatus): string {
  const service = f.hostname.split(".").find((l) => /^echo-[a-z]$/.test(l)) ?? f.hostname.split(".")[0];
  return service === "echo-b" && f.port === 9090 ? "echo-b-alt" : service;
}

/** The daemon's HTTP probe requests each echo server received, by `name host`, read on its loopback port. */
async function probeCounts(): Promise<Record<string, number>> {
  const ports = JSON.parse(await Deno.readTextFile(env("KFD_E2E_ECHO_PORTS_FILE"))) as Record<string, number>;
  const body = await httpGet(`http://127.0.0.1:${Object.values(ports)[0]}/__kfd_probe_counts`, 2);
  if (!body) throw new Error("the echo servers did not answer /__kfd_probe_counts");
  return JSON.parse(body) as Record<string, number>;
}

/** Polls the daemon once a second; counts every forward (as of the soak's start) seen not up, by state. */
class NotUpWatch {
  readonly notUp: Record<string, number> = {};
  readonly episodes: Record<string, number> = {};
  polls = 0;
  /** The 1-minute load average, lowest and highest seen at the polls, and at each poll. */
  load = { min: Infinity, max: 0 };
  readonly loadSeries: { at: number; load: string }[] = [];
  #last = new Map<string, string>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #busy: Promise<void> = Promise.resolve();

  constructor(readonly keys: string[], readonly poll: () => Promise<ForwardStatus[]>) {
    for (const k of keys) this.#last.set(k, "up");
  }

  start(): void {
    this.#timer = setInterval(() => {
      this.#busy = this.#busy.then(() => this.#once()).catch((e) => this.#count("status error", String(e)));
    }, 1000);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#busy;
  }

  async #once(): Promise<void> {
    const forwards = await this.poll();
    this.polls++;
    this.loadSeries.push({ at: Date.now(), load: loadavg() });
    const load = Number(loadavg());
    if (Number.isFinite(load)) {
      this.load = { min: Math.min(this.load.min, load), max: Math.max(this.load.max, load) };
    }
    for (const key of this.keys) {
      const f = forwards.find((x) => `${x.ip}:${x.port}` === key);
      this.#count(f?.state ?? "absent", key, f?.reason);
    }
  }

  #count(state: string, key: string, reason?: string): void {
    if (state !== "up") this.notUp[state] = (this.notUp[state] ?? 0) + 1;
    if (state !== "up" && this.#last.get(key) !== state) {
      this.episodes[state] = (this.episodes[state] ?? 0) + 1;
      console.log(
        `  ${new Date().toISOString()} forward ${key} shown ${state}${
          reason ? `: ${reason}` : ""
        } (load ${loadavg()})`,
      );
    }
    this.#last.set(key, state);
  }
}

/** One soak of the daemon with kubefwd `version` under `load`; reports through bench_report. */
export async function soakDaemon(version: string, load: string): Promise<void> {
  const { env: te, kubeconfig } = await e2eEnv(version);
  const bench = profileConfig(version, kubeconfig);
  const healthLine = /^ {4}health: .*$/m;
  if (!healthLine.test(bench)) throw new Error("the e2e profile's health line changed: update bench_soak.ts");
  const health = KNOBS.soakHealth === "bench"
    ? bench
    : bench.replace(healthLine, KNOBS.soakHealth === "default" ? "" : `    health: ${KNOBS.soakHealth}`);
  await te.writeConfig(health);
  let traffic: TrafficLoop | undefined;
  try {
    await te.startDaemon();
    const healthy = await waitFor(() => te.healthy("e2e"), "every forward up", 60_000, 200);
    const forwards = [...new Map(healthy.forwards.map((f) => [`${f.ip}:${f.port}`, f])).values()];
    const urls = Object.fromEntries(forwards.map((f) => [`http://${f.hostname}:${f.port}/`, echoName(f)]));
    await waitFor(
      async () => {
        for (const [url, name] of Object.entries(urls)) {
          if (!(await httpGet(url, 1))?.includes(`echo name=${name} `)) return false;
        }
        return true;
      },
      "every forward answers",
      60_000,
      200,
    );
    const client = await connectDaemon(te.socketPath, { clientVersion: VERSION });
    const watch = new NotUpWatch(
      forwards.map((f) => `${f.ip}:${f.port}`),
      async () => (await client.request({ type: "status", profiles: ["e2e"] })).profiles[0]?.forwards ?? [],
    );
    traffic = new TrafficLoop(urls, 1000);
    const restartsBefore = (await te.profile("e2e")).restarts;
    const probesBefore = await probeCounts();
    const t0 = Date.now();
    traffic.start();
    watch.start();
    await waitFor(() => Date.now() - t0 >= KNOBS.soakMs, "soak time", KNOBS.soakMs + 10_000, 1000);
    await watch.stop();
    await traffic.stop();
    const minutes = (Date.now() - t0) / 60_000;
    await client.close();
    const probesAfter = await probeCounts();
    const samples = [...traffic.samples.values()].flat();
    for (const [url, s] of traffic.samples) {
      const bad = s.filter((x) => !x.ok);
      for (const b of bad) {
        const near = watch.loadSeries.find((l) => l.at >= b.at) ?? watch.loadSeries.at(-1);
        console.log(
          `  ${url}: failed at ${new Date(b.at).toISOString()}, curl exit ${b.curlExit} (load ${
            near?.load ?? "?"
          })`,
        );
      }
    }
    const after = await te.profile("e2e");
    for (const e of await daemonRestarts(te, t0)) console.log(`  daemon restart at ${e.at}: ${e.reason}`);
    const failed = samples.filter((s) => !s.ok).length;
    if (failed > 0 || Object.keys(watch.notUp).length > 0 || after.restarts !== restartsBefore) {
      console.log(
        `--- soak anomaly: the daemon's log\n${(await te.cli("logs", "e2e", "-n", "200")).stdout}---`,
      );
    }
    const probeTraffic = forwards.map((f) => {
      // The probe's Host header is the forward's hostname (with the port unless it is 80).
      const key = `${echoName(f)} ${f.port === 80 ? f.hostname : `${f.hostname}:${f.port}`}`;
      const n = (probesAfter[key] ?? 0) - (probesBefore[key] ?? 0);
      return f.probe === "tcp"
        ? `${f.hostname}:${f.port} tcp: one empty connection per health interval (the echo server sees no request)`
        : `${f.hostname}:${f.port} ${f.probe ?? "?"} ${(n / minutes).toFixed(1)} req/min`;
    });
    reportSoak({
      version,
      load,
      seconds: Math.round(KNOBS.soakMs / 1000),
      requests: samples.length,
      failed,
      restarts: after.restarts - restartsBefore,
      notUp: watch.notUp,
      notUpEpisodes: watch.episodes,
      polls: watch.polls,
      forwards: forwards.length,
      probeTraffic,
      loadAvg: `${watch.load.min}–${watch.load.max}`,
      health: KNOBS.soakHealth,
    });
    await te.cli("stop");
  } finally {
    await traffic?.stop();
    await te.cleanup();
  }
}
