/**
 * `deno task bench`: measures the budgets listed in README.md (Tests and measurements) and prints numbers
 * (never asserts timings):
 * daemon start → socket ready, `status` round trip (median of 20; protocol only and whole CLI process),
 * and daemon RSS after a settle period with 3 simulator profiles. BENCH_SETTLE_SECONDS overrides 60.
 * The daemon releases one-off code pages ~10 s after startup settles (lib/daemon/memory_trim.ts), so the
 * first RSS number is before that trim and the second after it.
 * The Prometheus endpoint is on and scraped every second throughout (BENCH_METRICS=off: without it), and
 * every memory figure comes with the daemon's USS (private pages, /proc/<pid>/smaps_rollup).
 */
import { TestEnv, waitFor } from "../integration/harness.ts";
import { connectDaemon } from "../../lib/ipc/client.ts";
import { VERSION } from "../../lib/version.ts";
import { daemonCommand } from "../../lib/self_command.ts";
import { residentKb } from "../../lib/daemon/memory_trim.ts";
import { privateFromRollup } from "../../lib/metrics/process_memory.ts";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const metricsOn = Deno.env.get("BENCH_METRICS") !== "off";
/** `RSS 31.8 MB, USS 12.0 MB` of the daemon now. */
function memory(pid: number): string {
  const uss = privateFromRollup(Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`)) ?? NaN;
  return `RSS ${(residentKb(pid) / 1024).toFixed(1)} MB, USS ${(uss / 1024 / 1024).toFixed(1)} MB`;
}

const settleSeconds = Number(Deno.env.get("BENCH_SETTLE_SECONDS") ?? "60");
const afterActivitySeconds = Number(Deno.env.get("BENCH_ACTIVITY_SECONDS") ?? "75");
const team = {
  services: [
    { name: "api", ports: [{ port: 80 }], pods: ["api-1"] },
    { name: "web", ports: [{ port: 8080 }], pods: ["web-1"] },
  ],
};
const scenario = { namespaces: { team0: team, team1: team, team2: team } };
const env = await TestEnv.create({ scenario });
try {
  await env.writeConfig(
    env.configHeader(metricsOn ? 'daemon: { metrics: { listen: "127.0.0.1:0" } }' : "") +
      ["one", "two", "three"].map((name, i) =>
        `  ${name}:\n    kubeconfig: ${env.dir}/.kube/config\n    context: ${
          i === 0 ? "sim" : "other"
        }\n    namespaces: [team${i}]\n`
      ).join("").replace(/^/, "profiles:\n"),
  );

  // Start → socket ready, measured from spawn to the first successful hello.
  const t0 = performance.now();
  const [cmd, ...args] = daemonCommand();
  const daemon = new Deno.Command(cmd, {
    args,
    env: env.env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  env.daemon = daemon;
  await waitFor(
    async () => {
      try {
        const c = await connectDaemon(env.socketPath, { clientVersion: VERSION });
        c.close();
        return true;
      } catch {
        return false;
      }
    },
    "socket ready",
    20_000,
    5,
  );
  const startMs = performance.now() - t0;

  // status round trip: protocol only, then the whole CLI process.
  const client = await connectDaemon(env.socketPath, { clientVersion: VERSION });
  const proto: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    await client.request({ type: "status", profiles: [] });
    proto.push(performance.now() - t);
  }
  const cli: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    const r = await env.cli("status");
    if (r.code !== 0) throw new Error(r.stderr);
    cli.push(performance.now() - t);
  }

  await waitFor(
    async () => {
      const s = await client.request({ type: "status", profiles: [] });
      return s.profiles.every((p) => p.state === "running");
    },
    "3 profiles running",
    30_000,
  );
  // A scrape every second from here on, as a Prometheus with a 1 s interval would.
  const scrapes = { ok: 0, failed: 0 };
  let scraper: ReturnType<typeof setInterval> | undefined;
  if (metricsOn) {
    const endpoint = (await client.request({ type: "metrics" })).daemon.endpoint;
    scraper = setInterval(() => {
      fetch(`http://${endpoint}/metrics`).then((r) => r.text().then(() => r.ok))
        .then((ok) => ok ? scrapes.ok++ : scrapes.failed++, () => scrapes.failed++);
    }, 1000);
  }
  const runningRss = memory(daemon.pid);
  await new Promise((r) => setTimeout(r, settleSeconds * 1000));
  const settledRss = memory(daemon.pid);
  client.close(); // the daemon hangs up on connections idle for 30 s

  // Activity after the settle: every profile restarted and 20 more status calls. The next trim comes
  // 10 s after that burst, at most once a minute; RSS is read when it has had time to run.
  const active = await connectDaemon(env.socketPath, { clientVersion: VERSION });
  for (const name of ["one", "two", "three"]) await active.request({ type: "restart", profiles: [name] });
  for (let i = 0; i < 20; i++) await env.cli("status");
  const activeRss = memory(daemon.pid);
  await waitFor(
    async () =>
      (await active.request({ type: "status", profiles: [] })).profiles.every((p) => p.state === "running"),
    "3 profiles running again",
    30_000,
  );
  await new Promise((r) => setTimeout(r, afterActivitySeconds * 1000));
  const afterActivityRss = memory(daemon.pid);
  active.close();
  clearInterval(scraper);

  console.log(`daemon start -> socket ready:         ${startMs.toFixed(0)} ms   (budget < 300 ms)`);
  console.log(`status round trip, protocol (median): ${median(proto).toFixed(1)} ms`);
  console.log(`status round trip, CLI process (med): ${median(cli).toFixed(0)} ms   (budget < 150 ms)`);
  console.log(
    metricsOn
      ? `metrics endpoint on, scraped every second: ${scrapes.ok} scrapes, ${scrapes.failed} failed`
      : "metrics endpoint off (BENCH_METRICS=off)",
  );
  console.log(`daemon, 3 profiles just running:  ${runningRss}   (before the first trim)`);
  console.log(
    `daemon after ${settleSeconds} s:              ${settledRss}   (RSS budget < 40 MB, hard 50 MB)`,
  );
  console.log(`daemon, just after 3 restarts:    ${activeRss}`);
  console.log(`daemon ${afterActivitySeconds} s after them:         ${afterActivityRss}`);
} finally {
  await env.cleanup();
}
