import assert from "node:assert/strict";
import type { ResolvedConfig } from "../../config/types.ts";
import { UserError } from "../../errors.ts";
import type { LogEntry } from "../../supervisor/types.ts";
import type { LoadOutcome } from "../load_config.ts";
import { ConfigSourceError } from "../config_source.ts";
import { ConfigReloader, keepProfilesWithLostContext } from "./reload.ts";

function config(socketPath: string, kubeconfigs: string[]): ResolvedConfig {
  return {
    path: "/c.yaml",
    daemon: { logLevel: "info", logFile: "/l", pidFile: "/p", socketPath, stateDir: "/s" },
    kubefwd: {
      path: "kubefwd",
      privilege: "none",
      extraArgs: [],
      hostsPath: "/etc/hosts",
      stopTimeoutMs: 1000,
    },
    profiles: kubeconfigs.map((kubeconfig, i) =>
      ({ name: `p${i}`, kubeconfig }) as ResolvedConfig["profiles"][0]
    ),
  };
}

function harness(next: LoadOutcome | (() => Promise<LoadOutcome>), initialMissing = false) {
  const logs: LogEntry[] = [];
  const reconciled: ResolvedConfig[] = [];
  let masked: string[] = [];
  const reloader = new ConfigReloader(
    {
      configPath: "/c.yaml",
      load: typeof next === "function" ? next : () => Promise.resolve(next),
      supervisor: {
        reconcile: (c) => {
          reconciled.push(c);
          return { added: ["p1"], removed: [], changed: [], unchanged: ["p0"] };
        },
      },
      log: { write: (e) => logs.push(e), setKubeconfigs: (paths) => masked = [...paths] },
    },
    config("/run/a.sock", ["/k0"]),
    initialMissing,
  );
  return { reloader, logs, reconciled, masked: () => masked };
}

Deno.test("ConfigReloader: a valid config is reconciled; daemon settings stay until a restart, with a warning", async () => {
  const h = harness({
    kind: "ok",
    config: config("/run/b.sock", ["/k0", "/k1"]),
    warnings: [],
    missing: false,
  });
  const result = await h.reloader.reload();
  assert.deepEqual(result, {
    added: ["p1"],
    removed: [],
    changed: [],
    unchanged: ["p0"],
    masked: [],
    warnings: [],
  });
  assert.equal(h.reconciled.length, 1);
  assert.equal(h.reloader.config.daemon.socketPath, "/run/a.sock", "the socket in use is kept");
  assert.equal(h.reloader.config.profiles.length, 2);
  assert.deepEqual(h.masked(), ["/k0", "/k1"], "the new kubeconfig paths are masked in the log");
  assert.ok(h.logs.some((l) => l.level === "warn" && /apply after `kubefwd-daemon restart`/.test(l.message)));
});

Deno.test("ConfigReloader: an invalid config changes nothing and says why", async () => {
  const h = harness({
    kind: "invalid",
    file: "/c.yaml",
    errors: [{ path: ["profiles"], line: 3, column: 5, message: "unknown key" }],
    warnings: [],
  });
  await assert.rejects(
    () => h.reloader.reload(),
    (e) => e instanceof UserError && e.code === "config_invalid",
  );
  assert.equal(h.reconciled.length, 0);
  assert.equal(h.reloader.config.profiles.length, 1);
  assert.ok(h.logs.some((l) => l.level === "error" && /reload rejected: 1 config errors/.test(l.message)));
});

const missing: LoadOutcome = { kind: "ok", config: config("/run/a.sock", []), warnings: [], missing: true };

Deno.test("ConfigReloader: a config file that disappeared changes nothing (exit 4), no profile is removed", async () => {
  const h = harness(missing);
  await assert.rejects(
    () => h.reloader.reload(),
    (e) =>
      e instanceof UserError && e.code === "config_invalid" && /missing; nothing was changed/.test(e.message),
  );
  assert.equal(h.reconciled.length, 0);
  assert.equal(h.reloader.config.profiles.length, 1);
});

Deno.test("ConfigReloader: still no config file when the daemon started without one is no error", async () => {
  const h = harness(missing, true);
  await h.reloader.reload();
  assert.equal(h.reconciled.length, 1);
});

Deno.test("ConfigReloader: an unreadable config (load throws) changes nothing and is config_invalid", async () => {
  const h = harness(() =>
    Promise.reject(new ConfigSourceError("cannot read config /c.yaml: not a regular file"))
  );
  await assert.rejects(
    () => h.reloader.reload(),
    (e) => e instanceof UserError && e.code === "config_invalid" && /not a regular file/.test(e.message),
  );
  assert.equal(h.reconciled.length, 0);
});

Deno.test("ConfigReloader: concurrent reloads are serialised and coalesced", async () => {
  let loads = 0;
  let running = 0;
  let maxRunning = 0;
  const h = harness(async () => {
    loads++;
    maxRunning = Math.max(maxRunning, ++running);
    await new Promise((r) => setTimeout(r, 10));
    running--;
    return { kind: "ok", config: config("/run/a.sock", ["/k0"]), warnings: [], missing: false };
  });
  const results = await Promise.all(Array.from({ length: 16 }, () => h.reloader.reload()));
  assert.equal(results.length, 16);
  assert.equal(maxRunning, 1, "one config resolve at a time");
  assert.equal(loads, 2, "the first, and one shared by every request made while it ran");
});

Deno.test("keepProfilesWithLostContext: a running profile switched to an unknown context keeps its config", () => {
  const current = config("/run/a.sock", ["/k0", "/k1"]);
  current.profiles = current.profiles.map((p) => ({ ...p, context: "good", namespaces: ["ns"] }));
  const next: ResolvedConfig = {
    ...current,
    profiles: [
      { ...current.profiles[0], context: "typo" }, // changed to a context the kubeconfig lacks
      { ...current.profiles[1], namespaces: ["other"] }, // another change, applied
      { ...current.profiles[1], name: "p2", context: "typo" }, // new profile: nothing runs to protect
    ],
  };
  const warning = (name: string) => ({
    path: ["profiles", name, "context"],
    message: `context "typo" not found in kubeconfig ~/.kube/config; available: good`,
  });
  const kept = keepProfilesWithLostContext(next, current, [warning("p0"), warning("p2")]);
  assert.deepEqual(kept.config.profiles.map((p) => [p.name, p.context, p.namespaces]), [
    ["p0", "good", ["ns"]],
    ["p1", "good", ["other"]],
    ["p2", "typo", ["ns"]],
  ]);
  assert.equal(kept.warnings.length, 1);
  assert.match(
    kept.warnings[0].message,
    /^profile p0 keeps running with its previous config: context "typo"/,
  );
  assert.deepEqual(keepProfilesWithLostContext(next, current, []).config, next, "no warning: all applies");
});

Deno.test("ConfigReloader: daemon.metrics applies at once, with no restart warning; a failed bind is a warning", async () => {
  const applied: unknown[] = [];
  let refuse = false;
  const logs: LogEntry[] = [];
  const withMetrics = (port: number | undefined): ResolvedConfig => {
    const c = config("/run/a.sock", ["/k0"]);
    if (port !== undefined) c.daemon.metrics = { hostname: "127.0.0.1", port };
    return c;
  };
  let next = withMetrics(9469);
  const reloader = new ConfigReloader(
    {
      configPath: "/c.yaml",
      load: () => Promise.resolve({ kind: "ok", config: next, warnings: [], missing: false }),
      supervisor: { reconcile: () => ({ added: [], removed: [], changed: [], unchanged: ["p0"] }) },
      log: { write: (e) => logs.push(e), setKubeconfigs: () => {} },
      applyMetrics: (m) => {
        applied.push(m);
        return Promise.resolve(refuse ? "cannot serve metrics on 127.0.0.1:9470: address in use" : undefined);
      },
    },
    withMetrics(undefined),
  );
  const first = await reloader.reload();
  assert.deepEqual(applied, [{ hostname: "127.0.0.1", port: 9469 }]);
  assert.deepEqual(first.warnings, []);
  assert.deepEqual(reloader.config.daemon.metrics, { hostname: "127.0.0.1", port: 9469 });
  assert.ok(!logs.some((e) => /apply after/.test(e.message)), "no restart needed for metrics");

  refuse = true;
  next = withMetrics(9470);
  const second = await reloader.reload();
  assert.deepEqual(second.warnings, [{
    path: ["daemon", "metrics", "listen"],
    message: "cannot serve metrics on 127.0.0.1:9470: address in use",
  }]);
  assert.deepEqual(
    reloader.config.daemon.metrics,
    { hostname: "127.0.0.1", port: 9469 },
    "the old one stays",
  );

  refuse = false;
  next = withMetrics(undefined);
  await reloader.reload();
  assert.equal(reloader.config.daemon.metrics, undefined, "removed: off");
  assert.equal(applied.at(-1), undefined);
});
