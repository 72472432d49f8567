/** Orphan recovery at daemon start: the children a previous daemon left are stopped and their lines removed. */
import assert from "node:assert/strict";
import type { KubefwdSettings } from "../config/types.ts";
import type { LogEntry } from "./types.ts";
import { emptyState, type OwnedChild, type PersistedProfile, type PersistedState } from "../state/types.ts";
import { FakeClock } from "../testing/fake_clock.ts";
import { FakeHostsFile } from "../testing/fake_hosts_file.ts";
import { FakeProber } from "../testing/fake_prober.ts";
import { FakeServiceLister } from "../testing/fake_service_lister.ts";
import { FakeSpawner } from "../testing/fake_spawner.ts";
import type { OrphanReport } from "./process_control.ts";
import { Supervisor, type SupervisorDeps } from "./supervisor.ts";

const settings: KubefwdSettings = {
  path: "kubefwd",
  privilege: "none",
  extraArgs: [],
  hostsPath: "/etc/hosts",
  stopTimeoutMs: 7000,
};

/** A Supervisor over `state` and `hosts` with fakes for everything else; `deps` overrides. */
function orphanSupervisor(
  state: PersistedState,
  hosts: FakeHostsFile,
  logs: LogEntry[],
  deps: Partial<SupervisorDeps>,
): Supervisor {
  return new Supervisor({
    spawner: new FakeSpawner(),
    clock: new FakeClock(),
    log: { write: (e) => logs.push(e) },
    prober: new FakeProber(true),
    serviceLister: new FakeServiceLister(),
    hostsFile: () => hosts,
    isRoot: true,
    stateDir: "/state",
    state,
    persist: () => {},
    ...deps,
  });
}

function child(pid: number, ips: string[]): OwnedChild {
  return {
    pid,
    cmdline: "kubefwd\0svc",
    startedAt: "2026-01-01T00:00:00.000Z",
    viaSudo: false,
    announcedIps: ips,
  };
}

/** A persisted profile in range `127.N.27.1` whose kubefwd (pid) a previous daemon left running. */
function orphaned(n: number, pid: number, ips: string[], restarts = 0): PersistedProfile {
  return {
    counters: { restarts, failures: 0, totalUptimeMs: 0 },
    events: [],
    baseIp: `127.${n}.27.1`,
    child: child(pid, ips),
  };
}

Deno.test("recoverOrphans: kills each recorded child, removes only its addresses' lines, forgets it", async () => {
  const state = emptyState();
  state.profiles.a = orphaned(3, 11, ["127.3.27.1"], 2);
  state.profiles.b = orphaned(4, 12, []);
  state.profiles.c = { counters: { restarts: 0, failures: 0, totalUptimeMs: 0 }, events: [] };
  const hosts = new FakeHostsFile("127.0.0.1 localhost\n127.3.27.1 web web.ns\n127.9.27.9 someone-else\n");
  const killed: { pids: number[]; termWaitMs?: number }[] = [];
  const logs: LogEntry[] = [];
  let saves = 0;
  const sup = orphanSupervisor(state, hosts, logs, {
    persist: () => saves++,
    killOrphans: (children, opts) => {
      killed.push({ pids: children.map((c) => c.pid), termWaitMs: opts?.termWaitMs });
      return Promise.resolve(children.map((c): OrphanReport => ({ pid: c.pid, outcome: "killed" })));
    },
  });
  await sup.recoverOrphans(settings);
  assert.deepEqual(killed, [{ pids: [11], termWaitMs: 7000 }, { pids: [12], termWaitMs: 7000 }]);
  assert.equal(hosts.text, "127.0.0.1 localhost\n127.9.27.9 someone-else\n");
  assert.deepEqual(hosts.calls, [{ ips: ["127.3.27.1"] }], "a child that announced nothing needs no edit");
  assert.equal(state.profiles.a.child, undefined);
  assert.equal(state.profiles.b.child, undefined);
  assert.equal(state.profiles.a.counters.restarts, 2, "counters survive");
  assert.ok(saves >= 2, "forgetting the children is persisted");
  assert.ok(logs.some((l) => /previous daemon left kubefwd of profile a \(pid 11\)/.test(l.message)));
});

Deno.test("recoverOrphans: a failing kill or hosts edit is logged and the next orphan is still handled", async () => {
  const state = emptyState();
  state.profiles.a = orphaned(3, 11, ["127.3.27.1"]);
  state.profiles.b = orphaned(4, 12, ["127.4.27.1"]);
  const hosts = new FakeHostsFile("127.3.27.1 web\n127.4.27.1 db\n");
  hosts.failWith = "read-only file system";
  const logs: LogEntry[] = [];
  const sup = orphanSupervisor(state, hosts, logs, {
    killOrphans: (children) =>
      children[0].pid === 11
        ? Promise.reject(new Error("EPERM"))
        : Promise.resolve([{ pid: 12, outcome: "stopped" as const }]),
  });
  await sup.recoverOrphans(settings);
  const errors = logs.filter((l) => l.level === "error").map((l) => l.message);
  assert.ok(
    errors.some((m) => /could not stop the kubefwd \(pid 11\) profile a left: EPERM/.test(m)),
    errors.join("\n"),
  );
  assert.ok(
    errors.some((m) => /could not clean hosts entries of profile b: read-only/.test(m)),
    errors.join("\n"),
  );
  assert.ok(state.profiles.a.child, "a child that may still run stays recorded for the next start");
  assert.equal(state.profiles.b.child, undefined);
});

Deno.test("recoverOrphans: a state file listing localhost (or another range) never removes those lines", async () => {
  const state = emptyState();
  state.profiles.a = orphaned(3, 11, ["127.0.0.1", "::1", "127.3.27.5", "127.9.27.9", "10.0.0.5"]);
  state.profiles.b = {
    counters: { restarts: 0, failures: 0, totalUptimeMs: 0 },
    events: [],
    baseIp: "127.0.0.1", // planted: not a profile range, so nothing of b is removed
    child: child(12, ["127.0.0.1"]),
  };
  const original = "127.0.0.1 localhost\n::1 localhost ip6-localhost\n10.0.0.5 db\n127.9.27.9 other\n";
  const hosts = new FakeHostsFile(original + "127.3.27.5 web\n");
  const logs: LogEntry[] = [];
  const sup = orphanSupervisor(state, hosts, logs, {
    killOrphans: (children) =>
      Promise.resolve(children.map((c) => ({ pid: c.pid, outcome: "gone" as const }))),
  });
  await sup.recoverOrphans(settings);
  assert.equal(hosts.text, original);
  assert.deepEqual(hosts.calls, [{ ips: ["127.3.27.5"] }]);
  assert.ok(logs.some((l) => /refused to remove hosts lines of 127\.0\.0\.1, ::1/.test(l.message)));
});

Deno.test("recoverOrphans: a kubefwd that could not be killed keeps its hosts lines and stays recorded", async () => {
  const state = emptyState();
  state.profiles.a = orphaned(3, 11, ["127.3.27.1"]);
  const hosts = new FakeHostsFile("127.0.0.1 localhost\n127.3.27.1 web web.ns\n");
  const logs: LogEntry[] = [];
  const sup = orphanSupervisor(state, hosts, logs, {
    killOrphans: (children) =>
      Promise.resolve(children.map((c): OrphanReport => ({ pid: c.pid, outcome: "kill_failed" }))),
  });
  await sup.recoverOrphans(settings);
  assert.equal(hosts.text, "127.0.0.1 localhost\n127.3.27.1 web web.ns\n", "its live lines stay");
  assert.equal(state.profiles.a.child?.pid, 11, "recorded for the next daemon start");
  assert.ok(logs.some((l) => l.level === "error" && /could not be stopped/.test(l.message)));
});
