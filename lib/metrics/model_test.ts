import assert from "node:assert/strict";
import { FakeClock } from "../testing/fake_clock.ts";
import type { ForwardStatus, ProfileState, ProfileStatus, TransitionEvent } from "../supervisor/types.ts";
import { faultEffect, MetricsModel } from "./model.ts";
import type { ProbeTiming } from "./probe_timing.ts";

Deno.test("faultEffect: unasked exits, forwards down and forward restarts open a fault; running closes it", () => {
  const table: [ProfileState, ProfileState, TransitionEvent["restart"], string][] = [
    ["running", "degraded", undefined, "open"],
    ["running", "backoff", undefined, "open"], // kubefwd exited
    ["starting", "backoff", undefined, "open"], // a start that failed
    ["stopping", "backoff", undefined, "none"], // the wait between planned restarts
    ["running", "failed", undefined, "open"],
    ["degraded", "stopping", "dead_forward", "open"],
    ["running", "stopping", "list_failures", "open"],
    ["running", "stopping", "manual", "none"],
    ["running", "stopping", "config_change", "none"],
    ["running", "stopping", "kubeconfig_change", "none"],
    ["running", "stopping", "ip_addresses", "none"],
    ["running", "stopping", "pod_returned", "none"], // planned: picks up a pod the cluster brought back
    ["running", "stopping", undefined, "none"], // user stop or shutdown
    ["stopping", "stopped", undefined, "abandon"],
    ["stopping", "disabled", undefined, "abandon"],
    ["degraded", "running", undefined, "close"],
    ["stopped", "starting", undefined, "none"],
  ];
  for (const [from, to, restart, want] of table) {
    assert.equal(faultEffect({ from, to, restart }), want, `${from} → ${to} (${restart})`);
  }
});

/** A model over a hand-written status and probe table, with events as the runner would emit them. */
function fixture() {
  const clock = new FakeClock(Date.UTC(2026, 0, 1, 12));
  const statuses = new Map<string, ProfileStatus>();
  const probes = new Map<string, ProbeTiming>();
  const model = new MetricsModel({
    clock,
    startedAt: new Date(clock.now()),
    version: "9.9.9",
    sources: {
      status: (names) => {
        const all = [...statuses.values()];
        if (names.length === 0) return all;
        return names.map((n) => {
          const s = statuses.get(n);
          if (!s) throw new Error(`unknown profile ${n}`);
          return s;
        });
      },
      probe: (ip, port) => probes.get(`${ip}:${port}`),
      memory: () => ({ residentBytes: 30e6, privateBytes: 12e6 }),
      connections: () => 2,
      endpoint: () => "127.0.0.1:9469",
    },
  });
  const profile = (name: string, over: Partial<ProfileStatus> = {}): ProfileStatus => {
    const s: ProfileStatus = {
      name,
      enabled: true,
      enabledSource: "config",
      state: "stopped",
      pid: null,
      startedAt: null,
      uptimeSeconds: 0,
      restarts: 0,
      failures: 0,
      lastError: null,
      nextRetryAt: null,
      context: null,
      namespaces: ["ns"],
      kubefwdVersion: null,
      forwards: [],
      ...over,
    };
    statuses.set(name, s);
    return s;
  };
  const forward = (ip: string, state: ForwardStatus["state"]): ForwardStatus => ({
    hostname: "api",
    namespace: "ns",
    ip,
    port: 80,
    pod: "api-1",
    podPort: "8080",
    state,
    since: new Date(clock.now()).toISOString(),
  });
  const emit = (name: string, from: ProfileState, to: ProfileState, restart?: TransitionEvent["restart"]) => {
    statuses.get(name)!.state = to;
    const e: TransitionEvent = {
      at: new Date(clock.now()).toISOString(),
      profile: name,
      from,
      to,
      reason: "x",
    };
    if (restart) e.restart = restart;
    model.onEvent(e);
  };
  return { clock, model, profile, forward, probes, emit };
}

Deno.test("model: restarts by reason and failures count since the daemon started, every reason shown", () => {
  const f = fixture();
  const a = f.profile("a", { failures: 7, restarts: 9 }); // persisted from earlier daemons
  f.emit("a", "stopped", "starting");
  f.emit("a", "starting", "running");
  a.failures = 8;
  f.emit("a", "running", "backoff");
  f.emit("a", "backoff", "starting", "crash");
  f.emit("a", "starting", "running");
  f.emit("a", "running", "stopping", "manual");
  f.emit("a", "stopping", "starting");
  f.emit("a", "starting", "running");
  const [m] = f.model.snapshot().profiles;
  assert.deepEqual(m.restarts, {
    crash: 1,
    unreachable: 0,
    dead_forward: 0,
    list_failures: 0,
    ip_addresses: 0,
    pod_returned: 0,
    kubeconfig_change: 0,
    config_change: 0,
    manual: 1,
  });
  assert.equal(m.failures, 1, "8 persisted − 7 when the daemon first saw the profile");
  assert.equal(m.up, true);
});

Deno.test("model: recovery from fault seen to running; detection from the first failed probe", () => {
  const f = fixture();
  const a = f.profile("a", { forwards: [] });
  f.emit("a", "stopped", "starting");
  f.emit("a", "starting", "running");
  // The probes find the forward dead: its first failed probe 4 s before the verdict.
  a.forwards = [f.forward("127.3.27.1", "down")];
  f.probes.set("127.3.27.1:80", { seconds: 0.002, ok: false, failingSince: f.clock.now() });
  f.clock.advance(4000);
  f.emit("a", "running", "degraded");
  f.clock.advance(2000);
  f.emit("a", "degraded", "stopping", "dead_forward"); // the same fault: no second observation
  f.clock.advance(1500);
  f.emit("a", "stopping", "starting");
  f.clock.advance(1000);
  a.forwards = [f.forward("127.3.27.1", "up")];
  f.probes.set("127.3.27.1:80", { seconds: 0.001, ok: true });
  f.emit("a", "starting", "running");
  // A crash: seen at once (detection 0), back after 3 s.
  f.emit("a", "running", "backoff");
  f.clock.advance(3000);
  f.emit("a", "backoff", "starting", "crash");
  f.emit("a", "starting", "running");
  const [m] = f.model.snapshot().profiles;
  assert.equal(m.recovery.count, 2);
  assert.equal(m.recovery.sum, 4.5 + 3);
  assert.equal(m.lastRecoverySeconds, 3);
  assert.deepEqual(m.recovery.bounds.slice(0, 5), [0.5, 1, 2, 3, 5]);
  assert.deepEqual(m.recovery.cumulative.slice(0, 5), [0, 0, 0, 1, 2], "3 s ≤ le 3, 4.5 s ≤ le 5");
  assert.equal(m.detection.count, 2);
  assert.equal(m.detection.sum, 4);
  assert.deepEqual(m.forwardList, [{
    service: "api",
    namespace: "ns",
    ip: "127.3.27.1",
    port: 80,
    state: "up",
    since: a.forwards[0].since,
    lastProbeSeconds: 0.001,
    lastProbeOk: true,
  }]);
  assert.deepEqual(m.forwards, { pending: 0, up: 1, unverified: 0, down: 0, failed: 0 });
});

Deno.test("model: a planned restart is no fault; a user's stop abandons an open one", () => {
  const f = fixture();
  f.profile("a");
  f.emit("a", "stopped", "starting");
  f.emit("a", "starting", "running");
  f.emit("a", "running", "stopping", "config_change");
  f.emit("a", "stopping", "starting");
  f.emit("a", "starting", "running");
  f.emit("a", "running", "degraded");
  f.emit("a", "degraded", "stopping");
  f.emit("a", "stopping", "stopped");
  f.clock.advance(60_000);
  f.emit("a", "stopped", "starting");
  f.emit("a", "starting", "running");
  const [m] = f.model.snapshot().profiles;
  assert.equal(m.recovery.count, 0, "neither the planned restart nor the abandoned fault is a recovery");
  assert.equal(m.detection.count, 1, "the fault was seen, though");
  assert.equal(m.restarts.config_change, 1);
});

Deno.test("model: the daemon's own numbers; a removed profile goes; a re-added one starts from zero", () => {
  const f = fixture();
  const a = f.profile("a", { failures: 3 });
  f.emit("a", "stopped", "starting", "manual");
  f.clock.advance(90_500);
  const snap = f.model.snapshot();
  assert.deepEqual(snap.daemon, {
    version: "9.9.9",
    deno: Deno.version.deno,
    startedAt: "2026-01-01T12:00:00.000Z",
    uptimeSeconds: 90,
    residentMemoryBytes: 30e6,
    privateMemoryBytes: 12e6,
    controlConnections: 2,
    endpoint: "127.0.0.1:9469",
  });
  assert.equal(snap.profiles[0].restarts.manual, 1);
  a.failures = 0; // removed and added again: its persisted counters started over
  assert.equal(f.model.snapshot().profiles[0].restarts.manual, 0);
  assert.equal(f.model.snapshot().profiles[0].failures, 0);
});

Deno.test("model: events of a profile the supervisor no longer knows are counted without failing", () => {
  const f = fixture();
  assert.doesNotThrow(() =>
    f.model.onEvent({
      at: new Date(f.clock.now()).toISOString(),
      profile: "gone",
      from: "running",
      to: "stopping",
      reason: "removed from the config",
    })
  );
  assert.deepEqual(f.model.snapshot().profiles, []);
});
