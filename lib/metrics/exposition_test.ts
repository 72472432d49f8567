import assert from "node:assert/strict";
import { requireTool } from "../../tests/tools.ts";
import { escapeLabelValue, renderExposition } from "./exposition.ts";
import { DETECTION_BOUNDS_SECONDS, Histogram, RECOVERY_BOUNDS_SECONDS } from "./histogram.ts";
import type { MetricsSnapshot, ProfileMetrics } from "./types.ts";

const HAVE_PROMTOOL = requireTool("promtool", "apt-get install prometheus");

function profile(name: string, over: Partial<ProfileMetrics> = {}): ProfileMetrics {
  const recovery = new Histogram(RECOVERY_BOUNDS_SECONDS);
  recovery.observe(0.7);
  recovery.observe(12);
  return {
    name,
    state: "running",
    up: true,
    uptimeSeconds: 61,
    totalUptimeSeconds: 3600,
    restarts: {
      crash: 2,
      unreachable: 0,
      dead_forward: 1,
      list_failures: 0,
      ip_addresses: 0,
      pod_returned: 0,
      kubeconfig_change: 0,
      config_change: 0,
      manual: 0,
    },
    failures: 2,
    forwardLosses: 4,
    forwards: { pending: 0, up: 1, down: 0, failed: 0, unverified: 0 },
    recovery: recovery.snapshot(),
    detection: new Histogram(DETECTION_BOUNDS_SECONDS).snapshot(),
    lastRecoverySeconds: 12,
    forwardList: [{
      service: "api",
      namespace: "dev",
      ip: "127.3.27.1",
      port: 80,
      state: "up",
      since: "2026-01-01T12:00:00.000Z",
      lastProbeSeconds: 0.0004,
      lastProbeOk: true,
    }],
    ...over,
  };
}

const SNAPSHOT: MetricsSnapshot = {
  daemon: {
    version: "0.1.0",
    deno: "2.9.6",
    startedAt: "2026-01-01T12:00:00.000Z",
    uptimeSeconds: 61,
    residentMemoryBytes: 31_000_000,
    privateMemoryBytes: 12_000_000,
    controlConnections: 1,
    endpoint: "127.0.0.1:9469",
  },
  profiles: [profile("dev"), profile("ops", { state: "backoff", up: false, forwardList: [] })],
};

Deno.test("exposition: HELP and TYPE once per family, before its samples; the names the issue asks for", () => {
  const text = renderExposition(SNAPSHOT);
  assert.ok(text.endsWith("\n"));
  const families = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1]);
  assert.equal(new Set(families).size, families.length, "each family once");
  for (const name of families) {
    assert.match(text, new RegExp(`^# HELP ${name} .+\\n# TYPE ${name} `, "m"), name);
    const first = text.indexOf(`\n${name}`);
    assert.ok(first > text.indexOf(`# TYPE ${name} `), `${name}: samples after TYPE`);
  }
  for (
    const line of [
      'kubefwd_daemon_build_info{version="0.1.0",deno="2.9.6"} 1',
      'kubefwd_daemon_profile_state{profile="ops",state="backoff"} 1',
      'kubefwd_daemon_profile_state{profile="ops",state="running"} 0',
      'kubefwd_daemon_profile_up{profile="dev"} 1',
      'kubefwd_daemon_profile_up{profile="ops"} 0',
      'kubefwd_daemon_profile_restarts_total{profile="dev",reason="crash"} 2',
      'kubefwd_daemon_profile_restarts_total{profile="dev",reason="manual"} 0',
      'kubefwd_daemon_profile_failures_total{profile="dev"} 2',
      'kubefwd_daemon_profile_uptime_seconds{profile="dev"} 61',
      'kubefwd_daemon_profile_uptime_seconds_total{profile="dev"} 3600',
      'kubefwd_daemon_profile_forward_losses_total{profile="dev"} 4',
      'kubefwd_daemon_forward_up{profile="dev",namespace="dev",service="api",port="80"} 1',
      'kubefwd_daemon_forward_probe_duration_seconds{profile="dev",namespace="dev",service="api",port="80"} 0.0004',
      'kubefwd_daemon_recovery_seconds_bucket{profile="dev",le="0.5"} 0',
      'kubefwd_daemon_recovery_seconds_bucket{profile="dev",le="1"} 1',
      'kubefwd_daemon_recovery_seconds_bucket{profile="dev",le="20"} 2',
      'kubefwd_daemon_recovery_seconds_bucket{profile="dev",le="+Inf"} 2',
      'kubefwd_daemon_recovery_seconds_sum{profile="dev"} 12.7',
      'kubefwd_daemon_recovery_seconds_count{profile="dev"} 2',
      "process_resident_memory_bytes 31000000",
      "kubefwd_daemon_private_memory_bytes 12000000",
      "process_start_time_seconds 1767268800",
      "kubefwd_daemon_control_connections 1",
    ]
  ) {
    assert.ok(text.includes(`\n${line}\n`), `missing: ${line}`);
  }
  for (const [name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm).map((m) => [m[1], m[2]])) {
    assert.equal(name.endsWith("_total"), type === "counter", `${name}: _total exactly on counters`);
  }
});

Deno.test("exposition: label values are escaped; unknown memory and no profiles leave families out", () => {
  assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  const text = renderExposition({
    daemon: { ...SNAPSHOT.daemon, residentMemoryBytes: null, privateMemoryBytes: null },
    profiles: [],
  });
  assert.ok(!text.includes("process_resident_memory_bytes"));
  assert.ok(!text.includes("kubefwd_daemon_profile_"));
  assert.match(text, /^kubefwd_daemon_control_connections 1$/m);
});

Deno.test({
  name: "exposition: promtool check metrics prints nothing",
  ignore: !HAVE_PROMTOOL,
  fn: async () => {
    const odd = profile("odd", {
      forwardList: [{ ...profile("x").forwardList[0], service: 'we"ird\\svc', lastProbeSeconds: null }],
    });
    for (const snapshot of [SNAPSHOT, { ...SNAPSHOT, profiles: [odd] }, { ...SNAPSHOT, profiles: [] }]) {
      const child = new Deno.Command("promtool", {
        args: ["check", "metrics"],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(renderExposition(snapshot)));
      await writer.close();
      const out = await child.output();
      const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.equal(said, "", "promtool's findings");
      assert.equal(out.code, 0);
    }
  },
});
