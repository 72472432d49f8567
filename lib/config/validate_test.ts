import assert from "node:assert/strict";
import { loadConfigText } from "./load.ts";
import { envFrom } from "./paths.ts";
import { parseYamlSource } from "./yaml_source.ts";
import { sortDiagnostics } from "./cross_checks.ts";
import { keyPosition, locate, valuePosition } from "./locate.ts";
import type { LoadResult, ResolvedConfig } from "./types.ts";

const env = envFrom({ HOME: "/home/u", XDG_RUNTIME_DIR: "/run/user/1000" });
const opts = { file: "/etc/kfd/config.yaml", env, home: "/home/u" };

async function load(text: string, format: "yaml" | "toml" = "yaml"): Promise<LoadResult> {
  return await loadConfigText(text, {
    ...opts,
    file: format === "toml" ? "/etc/kfd/config.toml" : opts.file,
    format,
  });
}

async function valid(text: string, format: "yaml" | "toml" = "yaml"): Promise<ResolvedConfig> {
  const r = await load(text, format);
  assert.deepEqual(r.errors, [], JSON.stringify(r.errors));
  assert.ok(r.config);
  return r.config;
}

Deno.test("defaults merge field by field into every profile", async () => {
  const c = await valid(`
defaults:
  retry: { initial_delay: 2s, multiplier: 3 }
  health: { interval: 10s }
profiles:
  a:
    namespaces: [x]
    retry: { max_delay: 30s }
  b:
    namespaces: [y]
    health: { timeout: 1s, failure_threshold: 5 }
    forward_failures: { window: 2m }
`);
  const [a, b] = c.profiles;
  assert.deepEqual(a.retry, {
    initialDelayMs: 2000,
    maxDelayMs: 30_000,
    multiplier: 3,
    maxAttempts: 0,
    jitter: 0.1,
    resetAfterMs: 60_000,
  });
  assert.deepEqual(a.health, { intervalMs: 10_000, timeoutMs: 2000, failureThreshold: 2, http: [], tcp: [] });
  assert.deepEqual(b.retry.maxDelayMs, 60_000);
  assert.deepEqual(b.health, { intervalMs: 10_000, timeoutMs: 1000, failureThreshold: 5, http: [], tcp: [] });
  assert.deepEqual(b.forwardFailures, { maxFailures: 5, windowMs: 120_000, debounceMs: 2000 });
  // Merging must not alias one profile's policy object into another's.
  assert.notEqual(a.health, b.health);
});

Deno.test("resolution: defaults, ~ expansion, relative paths against the config directory", async () => {
  const c = await valid(`
daemon: { state_dir: state, log_file: ~/logs/kfd.log }
kubefwd: { path: ./bin/kubefwd, hosts_path: ../hosts }
profiles:
  p:
    kubeconfig: kube/config
    namespaces: [x]
    context: ctx
    domain: lab.local
    mapping: ["80:8080"]
    labels: ["a=b", "c"]
    exclude_services: ["x-*"]
    extra_args: [-v]
    enabled: false
  q:
    namespaces: [y]
`);
  assert.equal(c.path, "/etc/kfd/config.yaml");
  assert.deepEqual(c.daemon, {
    logLevel: "info",
    logFile: "/home/u/logs/kfd.log",
    pidFile: "/run/user/1000/kubefwd-daemon/daemon.pid",
    socketPath: "/run/user/1000/kubefwd-daemon/daemon.sock",
    stateDir: "/etc/kfd/state",
    notifications: { enabled: false, on: ["failed", "degraded", "recovered"], minIntervalMs: 60_000 },
  });
  assert.deepEqual(c.kubefwd, {
    path: "/etc/kfd/bin/kubefwd",
    privilege: "auto",
    extraArgs: [],
    hostsPath: "/etc/hosts",
    stopTimeoutMs: 10_000,
  });
  const [p, q] = c.profiles;
  assert.equal(p.kubeconfig, "/etc/kfd/kube/config");
  assert.equal(p.enabled, false);
  assert.equal(p.context, "ctx");
  assert.equal(p.domain, "lab.local");
  assert.deepEqual(p.mappings, ["80:8080"]);
  assert.deepEqual(p.labels, ["a=b", "c"]);
  assert.deepEqual(p.excludeServices, ["x-*"]);
  assert.deepEqual(p.extraArgs, ["-v"]);
  assert.equal(q.kubeconfig, "/home/u/.kube/config");
  assert.equal(q.enabled, true);
  assert.equal("context" in q, false, "an absent context stays absent");
  assert.equal("domain" in q, false);
  // A bare command name stays a PATH lookup.
  assert.equal(
    (await valid("kubefwd: { path: kubefwd-1.25 }\nprofiles: { p: { namespaces: [x] } }")).kubefwd.path,
    "kubefwd-1.25",
  );
});

Deno.test("YAML and TOML spellings resolve identically", async () => {
  const yaml = await valid(`
kubefwd: { privilege: sudo, stop_timeout: 3s }
defaults: { retry: { jitter: 0.2 } }
profiles:
  dev-services:
    context: dev
    namespaces: [a, b]
    retry: { max_delay: 30s }
`);
  const toml = await valid(
    `
[kubefwd]
privilege = "sudo"
stop_timeout = "3s"
[defaults.retry]
jitter = 0.2
[profiles.dev-services]
context = "dev"
namespaces = ["a", "b"]
retry = { max_delay = "30s" }
`,
    "toml",
  );
  assert.deepEqual({ ...toml, path: "" }, { ...yaml, path: "" });
});

Deno.test("x- keys are ignored at the top level only", async () => {
  await valid("x-anchors: { anything: [1, 2] }\nprofiles: { p: { namespaces: [x] } }");
  const r = await load("profiles: { p: { namespaces: [x], x-note: hi } }");
  assert.match(r.errors[0].message, /unknown key "x-note"/);
});

Deno.test("resolved config survives a JSON round trip (what `config resolve` sends the daemon)", async () => {
  const r = await load("profiles: { p: { namespaces: [x], retry: { initial_delay: 1.5s } } }");
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
  assert.equal(r.config?.profiles[0].retry.initialDelayMs, 1500);
});

Deno.test("without environment checks, profiles without context share the '(current)' context", async () => {
  const r = await load("profiles:\n  a: { namespaces: [x] }\n  b: { namespaces: [x] }\n");
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0].message, /context "\(current\)" is also forwarded by enabled profile "a"/);
  assert.deepEqual(r.errors[0].path, ["profiles", "b", "namespaces", 0]);
  // Different contexts or a disabled profile do not clash.
  await valid("profiles:\n  a: { namespaces: [x], context: c1 }\n  b: { namespaces: [x], context: c2 }\n");
  await valid("profiles:\n  a: { namespaces: [x] }\n  b: { namespaces: [x], enabled: false }\n");
});

Deno.test("a bad item does not hide other problems", async () => {
  const r = await load(`
profiles:
  a: { context: c, namespaces: [x, Bad] }
  b: { context: c, namespaces: [x] }
`);
  assert.deepEqual(r.errors.map((e) => e.path), [
    ["profiles", "a", "namespaces", 1],
    ["profiles", "b", "namespaces", 0],
  ]);
  assert.equal(r.config, undefined);
});

Deno.test("health timeout above interval is a warning; no profiles is a warning", async () => {
  const r = await load("defaults: { health: { timeout: 9s } }\n");
  assert.deepEqual(r.errors, []);
  // The file has no profiles key, so that warning has no position and sorts first.
  assert.deepEqual(r.warnings.map((w) => w.path), [["profiles"], ["defaults", "health", "timeout"]]);
});

Deno.test("profiles inherit a bad initial_delay without repeating the error", async () => {
  const r = await load(
    "defaults: { retry: { initial_delay: 2m } }\nprofiles:\n  a: { namespaces: [x] }\n  b: { namespaces: [y] }\n",
  );
  assert.equal(r.errors.length, 1);
  assert.deepEqual(r.errors[0].path, ["defaults", "retry", "initial_delay"]);
});

Deno.test("the default socket path is checked too", async () => {
  const longHome = "/home/" + "x".repeat(90);
  const r = await loadConfigText("profiles: { p: { namespaces: [x] } }", {
    file: "/c.yaml",
    env: envFrom({ HOME: longHome }),
    home: longHome,
  });
  assert.deepEqual(r.errors, []);
  assert.match(r.warnings[0].message, /Unix sockets allow at most 103.*set daemon.socket_path/);
});

Deno.test("locate, valuePosition and keyPosition fall back to the nearest existing ancestor", () => {
  const root = parseYamlSource("a:\n  b: [x, y]\n  c:\n").root!;
  assert.deepEqual(valuePosition(root, ["a", "b", 1]), { line: 2, column: 10 });
  assert.deepEqual(keyPosition(root, ["a", "b"]), { line: 2, column: 3 });
  assert.deepEqual(valuePosition(root, ["a", "c"]), { line: 3, column: 3 }, "null value: its key");
  assert.equal(locate(root, ["a", "zz", "q"]).exact, false);
  assert.deepEqual(keyPosition(root, ["a", "zz"]), { line: 1, column: 1 });
});

Deno.test("sortDiagnostics orders by position, position-less first, stable", () => {
  const d = (line?: number, column?: number, message = "") => ({ path: [], line, column, message });
  assert.deepEqual(
    sortDiagnostics([d(3, 1, "c"), d(undefined, undefined, "z"), d(1, 5, "b"), d(1, 2, "a"), d(1, 5, "b2")])
      .map((x) => x.message),
    ["z", "a", "b", "b2", "c"],
  );
});

Deno.test("daemon.notifications: resolved, and every bad value reported at its position", async () => {
  const c = await valid("daemon:\n  notifications: { enabled: true, on: [recovered], min_interval: 5m }\n");
  assert.deepEqual(c.daemon.notifications, { enabled: true, on: ["recovered"], minIntervalMs: 300_000 });
  const r = await load(
    "daemon:\n  notifications:\n    enabeld: true\n    on: [failed, degarded, failed]\n    min_interval: 60\n" +
      "profiles: {}\n",
  );
  assert.deepEqual(r.errors.map((e) => [e.path.join("."), e.line, e.column, e.message]), [
    [
      "daemon.notifications.enabeld",
      3,
      5,
      'unknown key "enabeld" in "daemon.notifications" (did you mean "enabled"?)',
    ],
    [
      "daemon.notifications.on.1",
      4,
      18,
      'must be one of failed, degraded, recovered; got "degarded" (did you mean "degraded"?)',
    ],
    ["daemon.notifications.on.2", 4, 28, '"failed" is listed twice (also item 0)'],
    [
      "daemon.notifications.min_interval",
      5,
      19,
      'expected a duration such as "5s", "500ms" or "1h30m", got number 60 (write "60s" or "60ms")',
    ],
  ]);
});
