import assert from "node:assert/strict";
import type { ResolvedConfig } from "../../config/types.ts";
import { UserError } from "../../errors.ts";
import type { LogEntry } from "../../supervisor/types.ts";
import type { LoadOutcome } from "../load_config.ts";
import { ConfigReloader } from "./reload.ts";

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

function harness(next: LoadOutcome) {
  const logs: LogEntry[] = [];
  const reconciled: ResolvedConfig[] = [];
  let masked: string[] = [];
  const reloader = new ConfigReloader({
    configPath: "/c.yaml",
    load: () => Promise.resolve(next),
    supervisor: {
      reconcile: (c) => {
        reconciled.push(c);
        return { added: ["p1"], removed: [], changed: [], unchanged: ["p0"] };
      },
    },
    log: { write: (e) => logs.push(e), setKubeconfigs: (paths) => masked = [...paths] },
  }, config("/run/a.sock", ["/k0"]));
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
