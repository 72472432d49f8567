/**
 * The metrics through the real daemon and CLI, with the kubefwd simulator: `promtool check metrics` is
 * silent on a scrape of three profiles; bad requests to the endpoint get their status and leave the daemon
 * answering; a real Prometheus server on loopback scrapes the daemon, and after a kubefwd kill a query
 * through its HTTP API shows the profile's restarts increased.
 */
import assert from "node:assert/strict";
import type { MetricsSnapshot } from "../../lib/metrics/types.ts";
import { requireTool } from "../tools.ts";
import { CLI_DEADLINE_MS, TestEnv, waitFor } from "./harness.ts";

const HAVE_PROMTOOL = requireTool("promtool", "apt-get install prometheus");
const HAVE_PROMETHEUS = requireTool("prometheus", "apt-get install prometheus");

/** Three namespaces with one service each; ports unique to this file (parallel files share 127.x). */
function scenario(base: number) {
  const team = (i: number) => ({
    services: [{ name: "api", ports: [{ port: base + i }], pods: [`api-${i}`] }],
  });
  return { namespaces: { t0: team(0), t1: team(1), t2: team(2) } };
}

function config(env: TestEnv): string {
  const p = (i: number) =>
    `  p${i}:\n    kubeconfig: ${env.dir}/.kube/config\n    context: sim\n    namespaces: [t${i}]\n` +
    "    retry: { initial_delay: 100ms, max_delay: 500ms }\n    health: { interval: 1s, timeout: 1s }\n";
  return env.configHeader('daemon: { metrics: { listen: "127.0.0.1:0" } }') + "profiles:\n" +
    [0, 1, 2].map(p).join("");
}

async function metrics(env: TestEnv): Promise<MetricsSnapshot> {
  const r = await env.cli("--json", "metrics");
  if (r.code !== 0) throw new Error(`metrics exited ${r.code}: ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout) as MetricsSnapshot;
}

async function allRunning(env: TestEnv): Promise<boolean> {
  const s = await env.status();
  return s.profiles.every((p) =>
    p.state === "running" && p.forwards.length === 1 && p.forwards[0].state === "up"
  );
}

/** Sends `request` raw to host:port and returns the status code of the answer (0: none). */
async function rawStatus(address: string, request: string): Promise<number> {
  const [hostname, port] = address.split(":");
  using conn = await Deno.connect({ hostname, port: Number(port) });
  await conn.write(new TextEncoder().encode(request)).catch(() => 0);
  const buf = new Uint8Array(4096);
  const n = await conn.read(buf).catch(() => null);
  return n === null
    ? 0
    : Number(/^HTTP\/1\.1 (\d{3})/.exec(new TextDecoder().decode(buf.subarray(0, n)))?.[1]);
}

Deno.test({
  name: "metrics: promtool is silent on a scrape of three profiles; bad requests leave the daemon answering",
  ignore: !HAVE_PROMTOOL,
  fn: async () => {
    await using env = await TestEnv.create({ scenario: scenario(18560) });
    await env.writeConfig(config(env));
    await env.startDaemon();
    await waitFor(() => allRunning(env), "three profiles running");
    assert.equal((await env.cli("restart", "p1")).code, 0);
    await waitFor(() => allRunning(env), "three profiles running after a restart");

    const snap = await metrics(env);
    assert.match(snap.daemon.endpoint ?? "", /^127\.0\.0\.1:\d+$/);
    assert.deepEqual(snap.profiles.map((p) => p.name), ["p0", "p1", "p2"]);
    assert.equal(snap.profiles[1].restarts.manual, 1);
    assert.ok(snap.daemon.residentMemoryBytes! > snap.daemon.privateMemoryBytes!);
    const human = await env.cli("metrics");
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^p1 +running +\S+ +\S+ +1 \(manual 1\) +0 +0 +1 up, 0 down +0$/m);
    assert.match(human.stdout, /^Prometheus endpoint http:\/\/127\.0\.0\.1:\d+\/metrics$/m);
    const unknown = await env.cli("metrics", "p9");
    assert.equal(unknown.code, 5, "an unknown profile is exit 5");
    const status = await env.status();
    assert.equal(status.profiles[1].restartsByReason?.manual, 1, "status gains the reasons");
    assert.equal(status.daemon.metricsEndpoint, snap.daemon.endpoint);

    const response = await fetch(`http://${snap.daemon.endpoint}/metrics`);
    const text = await response.text();
    assert.equal(response.status, 200);
    assert.match(text, /^kubefwd_daemon_profile_restarts_total\{profile="p1",reason="manual"\} 1$/m);
    assert.match(
      text,
      /^kubefwd_daemon_forward_up\{profile="p2",namespace="t2",service="api",port="18562"\} 1$/m,
    );
    const promtool = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = promtool.stdin.getWriter();
    await writer.write(new TextEncoder().encode(text));
    await writer.close();
    const out = await promtool.output();
    const dec = new TextDecoder();
    assert.equal(dec.decode(out.stdout) + dec.decode(out.stderr), "", "promtool check metrics findings");
    assert.equal(out.code, 0);

    // Bad requests: a clear status each, and the daemon keeps answering the CLI and the next scrape.
    const at = snap.daemon.endpoint!;
    assert.equal(await rawStatus(at, "GET / HTTP/1.1\r\n\r\n"), 404);
    assert.equal(await rawStatus(at, "DELETE /metrics HTTP/1.1\r\n\r\n"), 405);
    assert.equal(await rawStatus(at, "\x00\x01garbage\r\n\r\n"), 400);
    assert.equal(await rawStatus(at, `GET /metrics HTTP/1.1\r\nX: ${"y".repeat(50_000)}\r\n\r\n`), 431);
    const [hostname, port] = at.split(":");
    const slow = await Promise.all(
      Array.from({ length: 20 }, () => Deno.connect({ hostname, port: Number(port) })),
    );
    try {
      await Promise.all(slow.map((c) => c.write(new TextEncoder().encode("GET /metrics HTTP/1.1\r\n"))));
      assert.equal((await env.cli("status")).code, 0, "the control socket answers meanwhile");
      assert.equal(await rawStatus(at, "GET /metrics HTTP/1.1\r\n\r\n"), 503, "beyond 16 connections");
      // The slow ones get 408 once their 5 s are over, and the endpoint serves again.
      const answers = await Promise.all(slow.map(async (c) => {
        const buf = new Uint8Array(256);
        const n = await c.read(buf).catch(() => null);
        return n === null ? "" : new TextDecoder().decode(buf.subarray(0, n));
      }));
      assert.ok(answers.filter((a) => a.startsWith("HTTP/1.1 408 ")).length >= 16, answers.join("|"));
    } finally {
      for (const c of slow) c.close();
    }
    assert.equal(
      await waitFor(
        async () => await rawStatus(at, "GET /metrics HTTP/1.1\r\n\r\n") === 200,
        "serving again",
      ),
      true,
    );
    assert.equal((await env.cli("stop")).code, 0);
  },
});

/** A port nothing listens on right now (Prometheus needs one for its own web server). */
function freePort(): number {
  using l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return l.addr.port;
}

/** One instant query through Prometheus' HTTP API: the value of the first series, or undefined. */
async function query(web: string, expr: string): Promise<number | undefined> {
  const r = await fetch(`http://${web}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = await r.json() as { status: string; data?: { result: { value: [number, string] }[] } };
  if (body.status !== "success" || !body.data?.result.length) return undefined;
  return Number(body.data.result[0].value[1]);
}

Deno.test({
  name: "metrics: a real Prometheus scrapes the daemon; after a kubefwd kill its API shows the restart",
  ignore: !HAVE_PROMETHEUS,
  fn: async () => {
    await using env = await TestEnv.create({ scenario: scenario(18563) });
    await env.writeConfig(config(env));
    await env.startDaemon();
    await waitFor(() => allRunning(env), "three profiles running");
    const target = (await metrics(env)).daemon.endpoint!;

    const web = `127.0.0.1:${freePort()}`;
    await Deno.mkdir(`${env.dir}/prometheus`);
    await Deno.writeTextFile(
      `${env.dir}/prometheus/prometheus.yml`,
      `global: { scrape_interval: 1s, scrape_timeout: 1s }\n` +
        `scrape_configs:\n  - job_name: kubefwd-daemon\n    static_configs: [{ targets: ["${target}"] }]\n`,
    );
    const prometheus = new Deno.Command("prometheus", {
      args: [
        `--config.file=${env.dir}/prometheus/prometheus.yml`,
        `--storage.tsdb.path=${env.dir}/prometheus/data`,
        `--web.listen-address=${web}`,
        "--log.level=warn",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = prometheus.output();
    try {
      const restarts = `sum(kubefwd_daemon_profile_restarts_total{profile="p0"})`;
      await waitFor(
        async () => await query(web, `up{job="kubefwd-daemon"}`) === 1,
        "Prometheus scraping",
        30_000,
      );
      assert.equal(
        await waitFor(() => query(web, restarts).then((v) => v === 0), "restarts scraped", 30_000),
        true,
      );

      const before = await env.profile("p0");
      Deno.kill(before.pid!, "SIGKILL");
      await waitFor(async () => {
        const p = await env.profile("p0");
        return p.pid !== before.pid && p.state === "running" && p.forwards[0]?.state === "up";
      }, "p0 running again under a new kubefwd");

      await waitFor(async () => (await query(web, restarts) ?? 0) >= 1, "the restart in Prometheus", 30_000);
      assert.equal(await query(web, `kubefwd_daemon_profile_restarts_total{profile="p0",reason="crash"}`), 1);
      assert.equal(await query(web, `kubefwd_daemon_profile_failures_total{profile="p0"}`), 1);
      await waitFor(
        async () => await query(web, `kubefwd_daemon_recovery_seconds_count{profile="p0"}`) === 1,
        "the recovery in Prometheus",
        30_000,
      );
      assert.equal(await query(web, restarts.replace('"p0"', '"p1"')), 0, "the other profiles untouched");
    } finally {
      try {
        prometheus.kill("SIGTERM");
      } catch { /* already gone */ }
      const timer = setTimeout(() => {
        try {
          prometheus.kill("SIGKILL");
        } catch { /* gone */ }
      }, CLI_DEADLINE_MS);
      await output;
      clearTimeout(timer);
    }
  },
});
