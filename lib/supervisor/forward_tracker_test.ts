import assert from "node:assert/strict";
import type { KubefwdEvent } from "../kubefwd/types.ts";
import {
  type ExitFacts,
  ForwardTracker,
  type ProbeResult,
  type TrackerSettings,
  type TrackerUpdate,
} from "./forward_tracker.ts";
import { forwardNamespace } from "./forward_records.ts";

const T0 = Date.UTC(2026, 0, 1, 12);

function settings(over: Partial<TrackerSettings> = {}): TrackerSettings {
  return {
    autoReconnect: true,
    namespaces: ["ns"],
    forwardFailures: { maxFailures: 3, windowMs: 60_000, debounceMs: 2000 },
    failureThreshold: 2,
    autoReconnectGraceMs: 30_000,
    maxAnnounced: 4096,
    ipChurnRestartAt: 240,
    listFailureGapMs: 45_000,
    listFailureRestartMs: 90_000,
    probeRules: { http: [], tcp: [] },
    stallProbes: 4,
    ...over,
  };
}

function forward(hostname: string, ip: string, port = 80, pod = `${hostname}-0`): KubefwdEvent {
  return { kind: "forward", forward: { ip, hostname, localPort: port, pod, podPort: String(port) } };
}

type Outcome = ProbeResult["outcome"];

/** Every target answering (true), refused (false) or another outcome, at `now`. */
function probeAll(
  tracker: ForwardTracker,
  alive: boolean | Outcome | Record<string, boolean | Outcome>,
  now: number,
): TrackerUpdate {
  const outcome = (v: boolean | Outcome): Outcome => v === true ? "answered" : v === false ? "refused" : v;
  const results: ProbeResult[] = tracker.probeTargets().map((target) => ({
    target,
    outcome: outcome(typeof alive === "object" ? alive[target.key] ?? true : alive),
  }));
  return tracker.onProbes(results, now);
}

function states(tracker: ForwardTracker): Record<string, string> {
  return Object.fromEntries(tracker.statuses().map((f) => [`${f.hostname}:${f.port}`, f.state]));
}

Deno.test("onEvent: table of events → forward states and restart requests", () => {
  type Row = {
    name: string;
    auto: boolean;
    events: KubefwdEvent[];
    /** Probe everything up first (forwards that were up once). */
    upFirst?: boolean;
    expectStates: Record<string, string>;
    expectRestart?: TrackerUpdate["restart"];
  };
  const base = [forward("web", "127.1.27.1"), forward("db", "127.1.27.2", 5432)];
  const rows: Row[] = [
    {
      name: "announced forwards are pending",
      auto: true,
      events: base,
      expectStates: { "web:80": "pending", "db:5432": "pending" },
    },
    {
      name: "1.25 lost connection: down, kubefwd reconnects itself",
      auto: true,
      upFirst: true,
      events: [{ kind: "lost_connection", namespace: "ns", pod: "web-0", error: "EOF" }],
      expectStates: { "web:80": "down", "db:5432": "up" },
    },
    {
      name: "1.22 lost connection without a pod: debounced restart, states untouched",
      auto: false,
      upFirst: true,
      events: [{ kind: "lost_connection", error: "EOF" }],
      expectStates: { "web:80": "up", "db:5432": "up" },
      expectRestart: { kind: "debounced", why: "lost connection", cause: undefined },
    },
    {
      name: "1.22 port-forward error: down and debounced restart",
      auto: false,
      upFirst: true,
      events: [{ kind: "portforward_error", pod: "db-0", error: "x" }],
      expectStates: { "web:80": "up", "db:5432": "down" },
      expectRestart: {
        kind: "debounced",
        why: "port-forward error on db-0",
        cause: { key: "pod /db-0", forwards: ["db:5432"] },
      },
    },
    {
      name: "pod deleted: pending again (kubefwd re-resolves the service)",
      auto: true,
      upFirst: true,
      events: [{ kind: "pod_deleted", pod: "web-0", serviceKey: "web.ns.ctx", markedOnly: false }],
      expectStates: { "web:80": "pending", "db:5432": "up" },
    },
    {
      name: "no running pods: the service's forwards are down",
      auto: true,
      upFirst: true,
      events: [{ kind: "no_running_pods", serviceKey: "db.ns.ctx" }],
      expectStates: { "web:80": "up", "db:5432": "down" },
    },
    {
      name: "1.25: three reconnects of one service within the window restart the child",
      auto: true,
      events: [
        { kind: "reconnect_scheduled", serviceKey: "web.ns.ctx", delay: "1s" },
        { kind: "reconnect_scheduled", serviceKey: "web.ns.ctx", delay: "2s" },
        { kind: "reconnect_scheduled", serviceKey: "web.ns.ctx", delay: "4s" },
      ],
      expectStates: { "web:80": "pending", "db:5432": "pending" },
      expectRestart: {
        kind: "now",
        reason: "service web.ns.ctx failed 3 times within 60 s",
        cause: { key: "service web.ns.ctx", forwards: ["web:80"] },
      },
    },
    {
      name: "1.22 listen conflict: down and debounced restart",
      auto: false,
      upFirst: true,
      events: [{ kind: "listen_conflict", error: "address in use", namespace: "ns", pod: "web-0" }],
      expectStates: { "web:80": "down", "db:5432": "up" },
      expectRestart: {
        kind: "debounced",
        why: "local address conflict (address in use)",
        cause: { key: "listen address in use", forwards: ["web:80"] },
      },
    },
    {
      name: "IP exhaustion restarts at once",
      auto: true,
      events: [{ kind: "ip_exhausted", message: "no more IPs" }],
      expectStates: { "web:80": "pending", "db:5432": "pending" },
      expectRestart: { kind: "now", reason: "kubefwd ran out of IP addresses" },
    },
  ];
  for (const row of rows) {
    const tracker = new ForwardTracker(settings({ autoReconnect: row.auto }));
    let now = T0;
    for (const e of base) tracker.onEvent(e, now);
    if (row.upFirst) probeAll(tracker, true, now += 500);
    let last: TrackerUpdate = {};
    for (const e of row.events) last = tracker.onEvent(e, now += 1000);
    assert.deepEqual(states(tracker), row.expectStates, row.name);
    assert.deepEqual(last.restart, row.expectRestart, row.name);
  }
});

Deno.test("onEvent: a forward reports its new address once and the change", () => {
  const tracker = new ForwardTracker(settings());
  const first = tracker.onEvent(forward("web", "127.1.27.1"), T0);
  assert.equal(first.newIp, "127.1.27.1");
  assert.equal(first.changed, "web:80 → 127.1.27.1");
  assert.deepEqual(first.announced?.hostname, "web");
  const again = tracker.onEvent(forward("web.ns", "127.1.27.1"), T0);
  assert.equal(again.newIp, undefined, "same address: nothing new to persist");
  assert.equal(tracker.statuses().find((f) => f.hostname === "web.ns")?.namespace, "ns");
});

Deno.test("onProbes: threshold, recovery, and restarts only for forwards that were up once", () => {
  for (const auto of [false, true]) {
    const tracker = new ForwardTracker(settings({ autoReconnect: auto }));
    tracker.onEvent(forward("web", "127.1.27.1"), T0);
    tracker.onEvent(forward("late", "127.1.27.2"), T0);
    // "late" never answers: its pod may still be starting, so it never causes a restart.
    assert.deepEqual(probeAll(tracker, { "web:80": true, "late:80": false }, T0 + 500), {
      changed: "health probe",
    });
    const one = probeAll(tracker, { "late:80": false, "web:80": false }, T0 + 1000);
    assert.equal(states(tracker)["web:80"], "up", "one failure is below the threshold of 2");
    assert.equal(states(tracker)["late:80"], "down");
    assert.equal(one.restart, undefined);
    const two = probeAll(tracker, { "late:80": false, "web:80": false }, T0 + 2000);
    assert.equal(states(tracker)["web:80"], "down");
    if (!auto) {
      assert.equal(two.restart?.kind, "debounced", "1.22 never re-forwards: restart");
    } else {
      assert.equal(two.restart, undefined, "1.25 reconnects itself: grace first");
      const late = probeAll(tracker, { "late:80": false, "web:80": false }, T0 + 2000 + 30_000);
      assert.equal(late.restart?.kind, "now", "still down after the grace: restart");
    }
    probeAll(tracker, true, T0 + 40_000);
    assert.deepEqual(states(tracker), { "late:80": "up", "web:80": "up" });
  }
});

Deno.test("onProbes: a result for a forward replaced while probing is ignored", () => {
  const tracker = new ForwardTracker(settings({ failureThreshold: 1 }));
  tracker.onEvent(forward("web", "127.1.27.1"), T0);
  const [stale] = tracker.probeTargets();
  tracker.onEvent(forward("web", "127.1.27.5"), T0 + 10);
  assert.deepEqual(tracker.onProbes([{ target: stale, outcome: "refused" }], T0 + 20), {});
  assert.equal(states(tracker)["web:80"], "pending");
});

Deno.test("list failures: a 90 s run without a 45 s gap restarts; sporadic ones do not", () => {
  const tracker = new ForwardTracker(settings());
  const fail = (t: number) => tracker.onEvent({ kind: "list_failed", message: "connection refused" }, t);
  for (let t = 0; t < 90_000; t += 30_000) assert.equal(fail(T0 + t).restart, undefined);
  assert.deepEqual(fail(T0 + 90_000).restart, {
    kind: "now",
    reason: "kubefwd has failed to list from the API server for 90 s (connection refused)",
    cause: { key: "list", forwards: [] },
  });
  const sporadic = new ForwardTracker(settings());
  for (let t = 0; t <= 300_000; t += 50_000) {
    assert.equal(sporadic.onEvent({ kind: "list_failed", message: "x" }, T0 + t).restart, undefined);
  }
});

Deno.test("API out of reach (1.24+ list failures): dead forwards and failing services restart nothing", () => {
  const tracker = new ForwardTracker(settings());
  tracker.onEvent(forward("web", "127.1.27.1"), T0);
  probeAll(tracker, true, T0 + 500);
  probeAll(tracker, false, T0 + 1000);
  probeAll(tracker, false, T0 + 2000);
  const listFailed = (t: number) =>
    tracker.onEvent({ kind: "list_failed", message: "WARNING: Error in List pods: connection refused" }, t);
  listFailed(T0 + 20_000);
  assert.equal(probeAll(tracker, false, T0 + 40_000).restart, undefined, "down past the grace, API failing");
  const reconnects = [1, 2, 3].map((i) =>
    tracker.onEvent({ kind: "reconnect_scheduled", serviceKey: "web.ns.ctx", delay: "1s" }, T0 + 40_000 + i)
  );
  assert.equal(reconnects[2].restart, undefined, "three reconnects while the API fails");
  // Quiet for longer than the gap: the API is back, the forward still dead: restart.
  assert.equal(probeAll(tracker, false, T0 + 20_000 + 45_001).restart?.kind, "now");
});

Deno.test("service failures: one service's restart request does not reset another's count", () => {
  const tracker = new ForwardTracker(
    settings({ forwardFailures: { maxFailures: 3, windowMs: 60_000, debounceMs: 0 } }),
  );
  const fail = (service: string, t: number) =>
    tracker.onEvent({ kind: "reconnect_scheduled", serviceKey: `${service}.ns.ctx`, delay: "1s" }, t);
  fail("b", T0);
  fail("b", T0 + 3000);
  for (let i = 0; i < 3; i++) fail("a", T0 + 4000 + i);
  assert.deepEqual(fail("b", T0 + 6000).restart?.cause?.key, "service b.ns.ctx", "b reached its own 3");
});

Deno.test("IP churn: 240 addresses in a /24 with replaced pods restart; 240 services without churn do not", () => {
  const churn = new ForwardTracker(settings());
  let restart: TrackerUpdate["restart"];
  for (let i = 1; i <= 240; i++) restart = churn.onEvent(forward("web", `127.1.27.${i}`), T0).restart;
  assert.equal(restart?.kind, "now");
  const many = new ForwardTracker(settings());
  for (let i = 1; i <= 240; i++) restart = many.onEvent(forward(`svc${i}`, `127.1.27.${i}`), T0).restart;
  assert.equal(restart, undefined);
});

Deno.test("leftoverIps: graceful exits clean their own lines; crashes leave them; 1.22 leaves dead ones", () => {
  const tracker = new ForwardTracker(settings({ failureThreshold: 1 }));
  tracker.onEvent(forward("web", "127.1.27.1"), T0);
  tracker.onEvent(forward("db", "127.1.27.2"), T0);
  probeAll(tracker, { "web:80": true, "db:80": false }, T0 + 1);
  const exit: ExitFacts = { code: 0, sawCleanExit: true, sawForcedShutdown: false, informer: true };
  const table: [Partial<ExitFacts>, string[]][] = [
    [{}, []],
    [{ informer: false }, ["127.1.27.2"]],
    [{ code: 1, sawCleanExit: false, sawForcedShutdown: true }, []],
    [{ code: 1, sawCleanExit: false, sawForcedShutdown: true, informer: false }, [
      "127.1.27.1",
      "127.1.27.2",
    ]],
    [{ code: null, sawCleanExit: false }, ["127.1.27.1", "127.1.27.2"]],
    [{ code: 0, sawCleanExit: false }, ["127.1.27.1", "127.1.27.2"]],
  ];
  for (const [over, expected] of table) {
    assert.deepEqual(tracker.leftoverIps({ ...exit, ...over }).sort(), expected, JSON.stringify(over));
  }
});

Deno.test("markFailed: failed forwards keep kubefwd's reason, count as down and are left alone by probes", () => {
  const tracker = new ForwardTracker(settings({ autoReconnect: false }));
  tracker.onEvent(forward("web", "127.1.27.1", 8080, "web-0"), T0);
  tracker.onEvent(forward("db", "127.1.27.2", 5432), T0);
  probeAll(tracker, true, T0 + 1);
  const conflict = tracker.onEvent(
    { kind: "listen_conflict", error: "unable to listen on any of the requested ports: [{8080 8080}]" },
    T0 + 2,
  );
  assert.deepEqual(conflict.restart?.cause?.forwards, ["web:8080"], "1.22.x: found by the port pair");
  const update = tracker.markFailed(["web:8080"], "local address conflict", T0 + 3);
  assert.equal(update.changed, "web:8080 failed");
  assert.deepEqual(tracker.summary(), { total: 2, down: ["web:8080"], pending: [], unverified: [] });
  probeAll(tracker, true, T0 + 4);
  const web = tracker.statuses().find((f) => f.hostname === "web")!;
  assert.equal(web.state, "failed");
  assert.equal(web.reason, "local address conflict");
  tracker.onEvent(forward("web", "127.1.27.1", 8080, "web-1"), T0 + 5);
  assert.equal(tracker.statuses().find((f) => f.hostname === "web")!.state, "pending", "announced again");
  assert.equal(tracker.statuses().find((f) => f.hostname === "web")!.reason, undefined);
});

Deno.test("forwardNamespace: from the hostname, default the first namespace", () => {
  const table: [string, string[], string][] = [
    ["web", ["a", "b"], "a"],
    ["web.b", ["a", "b"], "b"],
    ["web-0.web.b", ["a", "b"], "b"],
    ["web.b.ctx", ["a", "b"], "b"],
    ["web.c", ["a", "b"], "a"],
    ["web", [], ""],
  ];
  for (const [hostname, namespaces, expected] of table) {
    assert.equal(forwardNamespace(hostname, namespaces), expected, hostname);
  }
});

/** A 1.25 tracker with web:80 (HTTP probe) and db:5432 (TCP probe), both up. */
function upTracker(over: Partial<TrackerSettings> = {}): ForwardTracker {
  const tracker = new ForwardTracker(settings(over));
  tracker.onEvent(forward("web", "127.1.27.1"), T0);
  tracker.onEvent(forward("db", "127.1.27.2", 5432), T0);
  probeAll(tracker, true, T0 + 1);
  return tracker;
}

const reachable = { state: "reachable" } as const;
const unreachable = (since: number) => ({ state: "unreachable", since, why: "timed out" }) as const;

Deno.test("probe targets: HTTP for common HTTP ports, TCP for the rest, the profile's patterns first", () => {
  const modes = (t: ForwardTracker) => Object.fromEntries(t.probeTargets().map((p) => [p.key, p.mode]));
  assert.deepEqual(modes(upTracker()), { "web:80": "http", "db:5432": "tcp" });
  const custom = upTracker({ probeRules: { http: ["db"], tcp: ["web"] } });
  assert.deepEqual(modes(custom), { "web:80": "tcp", "db:5432": "http" });
  assert.equal(upTracker().probeTargets()[0].host, "web");
});

Deno.test("onProbes: outcome table → state, reason, restart", () => {
  type Row = {
    outcome: ProbeResult["outcome"];
    rounds: number;
    state: string;
    reason?: RegExp;
    restart: boolean;
  };
  const rows: Row[] = [
    { outcome: "answered", rounds: 3, state: "up", restart: false },
    { outcome: "held", rounds: 3, state: "up", restart: false },
    { outcome: "timeout", rounds: 1, state: "up", restart: false }, // one slow probe is a blip
    { outcome: "timeout", rounds: 2, state: "unverified", reason: /no answer/, restart: false },
    { outcome: "closed", rounds: 1, state: "up", restart: false },
    { outcome: "closed", rounds: 2, state: "down", reason: /^pod not reachable/, restart: false },
    {
      outcome: "refused",
      rounds: 2,
      state: "down",
      reason: /^nothing listens on 127\.1\.27\.1:80/,
      restart: false,
    },
    { outcome: "unnamed", rounds: 2, state: "down", reason: /hosts line/, restart: false },
  ];
  for (const row of rows) {
    const tracker = upTracker();
    let update: TrackerUpdate = {};
    for (let i = 1; i <= row.rounds; i++) {
      update = probeAll(tracker, { "web:80": row.outcome }, T0 + 1000 * i);
    }
    const web = tracker.statuses().find((f) => f.hostname === "web")!;
    assert.equal(web.state, row.state, `${row.outcome} ×${row.rounds}`);
    if (row.reason) assert.match(web.reason ?? "", row.reason, `${row.outcome} reason`);
    else assert.equal(web.reason, undefined);
    assert.equal(update.restart !== undefined, row.restart, `${row.outcome} restart`);
  }
});

Deno.test("summary: the cause names the pod, the API server or a stalled kubefwd", () => {
  const pod = upTracker();
  probeAll(pod, { "web:80": "closed" }, T0 + 1000);
  probeAll(pod, { "web:80": "closed" }, T0 + 2000);
  assert.equal(pod.summary().cause, "pod not reachable");

  const api = upTracker();
  api.onApi(unreachable(T0 + 500), T0 + 1000);
  assert.match(
    api.summary().cause ?? "",
    /^apiserver unreachable since 2026-01-01T12:00:00\.500Z \(timed out\)$/,
  );

  const healthy = upTracker();
  assert.equal(healthy.summary().cause, undefined);
});

Deno.test("onApi: out of reach → up forwards unverified with the reason, no restart for dead forwards", () => {
  const tracker = upTracker();
  const update = tracker.onApi(unreachable(T0 + 500), T0 + 1000);
  assert.ok(update.changed);
  assert.deepEqual(states(tracker), { "db:5432": "unverified", "web:80": "unverified" });
  assert.match(tracker.statuses()[0].reason ?? "", /^apiserver unreachable since/);
  // A held TCP connection proves nothing while the API server is away; a timeout neither.
  probeAll(tracker, { "web:80": "timeout", "db:5432": "held" }, T0 + 2000);
  assert.deepEqual(states(tracker), { "db:5432": "unverified", "web:80": "unverified" });
  // A forward that goes down during the outage: down, with both reasons, and still no restart.
  for (let i = 3; i < 60; i++) {
    const u = probeAll(tracker, { "web:80": "refused", "db:5432": "held" }, T0 + 1000 * i);
    assert.equal(u.restart, undefined, `round ${i}`);
  }
  assert.match(
    tracker.statuses().find((f) => f.hostname === "web")!.reason ?? "",
    /nothing listens.*apiserver unreachable/,
  );
  // An HTTP answer proves the path whatever the API check says.
  probeAll(tracker, { "web:80": "answered", "db:5432": "held" }, T0 + 61_000);
  assert.equal(states(tracker)["web:80"], "up");
});

Deno.test("onApi: back again → probe now; forwards that still fail restart at once, without thresholds", () => {
  const tracker = upTracker();
  tracker.onApi(unreachable(T0 + 500), T0 + 1000);
  assert.deepEqual(tracker.onApi(reachable, T0 + 31_000), { probeNow: true });
  const update = probeAll(tracker, { "web:80": "timeout", "db:5432": "held" }, T0 + 31_100);
  assert.equal(update.restart?.kind, "now");
  assert.match(
    update.restart?.kind === "now" ? update.restart.reason : "",
    /answers again after 31 s.*web:80/,
  );
  assert.deepEqual(update.restart?.cause?.forwards, ["web:80"]);
  assert.equal(
    update.restart?.kind === "now" && update.restart.fresh,
    true,
    "held failures get a fresh chance",
  );
});

Deno.test("onApi: back again and every forward answers → up, no restart; the next failure follows the thresholds", () => {
  const tracker = upTracker();
  tracker.onApi(unreachable(T0 + 500), T0 + 1000);
  tracker.onApi(reachable, T0 + 31_000);
  assert.equal(probeAll(tracker, true, T0 + 31_100).restart, undefined);
  assert.deepEqual(states(tracker), { "db:5432": "up", "web:80": "up" });
  assert.equal(
    probeAll(tracker, { "web:80": "timeout" }, T0 + 36_000).restart,
    undefined,
    "recovery is spent",
  );
});

Deno.test("onWake: probe now; failing forwards restart once the API server is known to answer after the wake", () => {
  const tracker = upTracker();
  tracker.onApi(reachable, T0 + 500); // checked before the sleep: stale after it
  assert.deepEqual(tracker.onWake(60_000, T0 + 61_000), { probeNow: true, fresh: true });
  assert.equal(
    probeAll(tracker, { "web:80": "closed" }, T0 + 61_100).restart,
    undefined,
    "API not re-checked yet",
  );
  assert.deepEqual(tracker.onApi(reachable, T0 + 61_200), { probeNow: true });
  const update = probeAll(tracker, { "web:80": "closed" }, T0 + 61_300);
  assert.match(update.restart?.kind === "now" ? update.restart.reason : "", /^woke up after 60 s asleep/);
});

Deno.test("onWake: with the API server out of reach after the wake, no restart until it answers", () => {
  const tracker = upTracker();
  tracker.onWake(60_000, T0 + 61_000);
  tracker.onApi(unreachable(T0 + 61_000), T0 + 61_200);
  assert.equal(probeAll(tracker, { "web:80": "refused" }, T0 + 61_300).restart, undefined);
  tracker.onApi(reachable, T0 + 70_000);
  assert.equal(probeAll(tracker, { "web:80": "refused" }, T0 + 70_100).restart?.kind, "now");
});

Deno.test("onWake: without an API check (unknown), the wake's probe round decides alone", () => {
  const tracker = upTracker();
  tracker.onWake(60_000, T0 + 61_000);
  assert.equal(probeAll(tracker, { "db:5432": "closed" }, T0 + 61_100).restart?.kind, "now");
});

Deno.test("stall: timeouts in a row restart only while the API server answers (a busy machine is no evidence)", () => {
  const unknown = upTracker();
  for (let i = 1; i <= 10; i++) {
    assert.equal(
      probeAll(unknown, { "web:80": "timeout" }, T0 + 5000 * i).restart,
      undefined,
      `unknown API, round ${i}`,
    );
  }
  assert.equal(states(unknown)["web:80"], "unverified");

  const stalled = upTracker();
  stalled.onApi(reachable, T0 + 100);
  const restarts = [1, 2, 3, 4].map((i) => probeAll(stalled, { "web:80": "timeout" }, T0 + 5000 * i).restart);
  assert.deepEqual(restarts.slice(0, 3), [undefined, undefined, undefined]);
  assert.equal(restarts[3]?.kind, "now");
  assert.match(restarts[3]?.kind === "now" ? restarts[3].reason : "", /kubefwd stalled/);
  assert.equal(stalled.summary().cause, "kubefwd stalled");
});

Deno.test("commonCause: no forward up across several pods is one cause; one pod or one forward up keeps its own", () => {
  const own = { key: "service web.ns.ctx", forwards: ["web:80"] };
  const two = upTracker();
  probeAll(two, { "web:80": "refused" }, T0 + 1000);
  assert.deepEqual(two.commonCause(own), own, "db still up");
  probeAll(two, false, T0 + 2000);
  probeAll(two, false, T0 + 3000);
  assert.deepEqual(two.commonCause(own), {
    key: "every forward (node, network or cluster)",
    forwards: ["web:80", "db:5432"],
  });
  assert.deepEqual(two.commonCause(undefined)?.forwards, ["web:80", "db:5432"], "1.22's lost connection too");

  const onePod = new ForwardTracker(settings());
  onePod.onEvent(forward("web", "127.1.27.1", 80, "web-0"), T0);
  onePod.onEvent(forward("web", "127.1.27.1", 8443, "web-0"), T0);
  assert.deepEqual(onePod.commonCause(own), own, "one pod's forwards: that pod's failure");
});

Deno.test("node check: the pod of a dead forward is checked; out of reach holds restarts and says so; back retries held ones", () => {
  const tracker = upTracker();
  assert.equal(tracker.podToCheck(), undefined, "API state unknown, nothing dead");
  tracker.onApi(reachable, T0 + 100);
  assert.equal(tracker.podToCheck(), undefined, "nothing dead");
  probeAll(tracker, { "web:80": "refused" }, T0 + 1000);
  probeAll(tracker, { "web:80": "refused" }, T0 + 2000);
  assert.deepEqual(tracker.podToCheck(), { namespace: "ns", pod: "web-0" });
  assert.ok(tracker.onPodPath(false, T0 + 2500).changed);
  assert.match(
    tracker.summary().cause ?? "",
    /^node unreachable since .* \(the API server cannot reach pod web-0\)$/,
  );
  assert.equal(
    probeAll(tracker, { "web:80": "refused" }, T0 + 60_000).restart,
    undefined,
    "no restart: node away",
  );
  assert.deepEqual(tracker.onPodPath(undefined, T0 + 61_000), {}, "cannot tell: nothing changes");
  assert.deepEqual(tracker.onPodPath(true, T0 + 62_000), {
    changed: "node reachable again",
    retryHeld: false, // 1.24+ reconnects by itself
    probeNow: true,
  });
  assert.equal(tracker.summary().cause, "forward lost: kubefwd does not listen");
});

Deno.test("node check: back again, a kubefwd that never reconnects (1.22) gets its held restart at once", () => {
  const tracker = upTracker({ autoReconnect: false });
  tracker.onApi(reachable, T0 + 100);
  tracker.markFailed(["web:80", "db:5432"], "lost connection", T0 + 1000);
  tracker.onPodPath(false, T0 + 2000);
  assert.equal(tracker.onPodPath(true, T0 + 30_000).retryHeld, true);
});

Deno.test("1.22 lost connection without a pod: probe at once, and one dead listener is proof (before the debounce ends)", () => {
  const tracker = upTracker({ autoReconnect: false });
  const update = tracker.onEvent({ kind: "lost_connection", error: "lost connection to pod" }, T0 + 10_000);
  assert.equal(update.probeNow, true);
  assert.equal(update.restart?.kind, "debounced");
  probeAll(tracker, { "web:80": "refused" }, T0 + 10_050);
  assert.deepEqual(states(tracker), { "db:5432": "up", "web:80": "down" }, "one refused probe is enough now");
  probeAll(tracker, { "db:5432": "refused" }, T0 + 20_000);
  assert.equal(states(tracker)["db:5432"], "up", "later, the threshold applies again");
});

Deno.test("service failures (1.24+): pods replaced one after another, each reconnected by kubefwd, restart nothing", () => {
  const tracker = new ForwardTracker(settings());
  tracker.onEvent(forward("web", "127.1.27.1"), T0);
  probeAll(tracker, true, T0 + 500);
  let t = T0 + 1000;
  for (let replacement = 1; replacement <= 6; replacement++, t += 3000) {
    const lost = tracker.onEvent({ kind: "reconnect_scheduled", serviceKey: "web.ns.ctx", delay: "1s" }, t);
    assert.equal(lost.restart, undefined, `replacement ${replacement}: kubefwd reconnects it itself`);
    tracker.onEvent(forward("web", "127.1.27.1", 80, `web-${replacement}`), t + 1000);
    probeAll(tracker, true, t + 1500);
  }
  // The same failures without the forward ever coming back are a loop: restart.
  const stuck = [1, 2, 3].map((i) =>
    tracker.onEvent({ kind: "reconnect_scheduled", serviceKey: "web.ns.ctx", delay: "1s" }, t + i)
  );
  assert.equal(stuck[2].restart?.kind, "now");
  assert.equal(stuck[2].restart?.cause?.key, "service web.ns.ctx");
});

Deno.test("service failures (1.24+): a deliberate pod deletion starts the service's count afresh", () => {
  const tracker = new ForwardTracker(settings());
  tracker.onEvent(forward("web", "127.1.27.1", 80, "web-0"), T0);
  const fail = (t: number) =>
    tracker.onEvent({ kind: "reconnect_scheduled", serviceKey: "web.ns.ctx", delay: "1s" }, t).restart;
  assert.equal(fail(T0 + 1000), undefined);
  assert.equal(fail(T0 + 2000), undefined, "two failures of a flaky forward that never came up");
  tracker.onEvent(
    { kind: "pod_deleted", pod: "web-0", serviceKey: "web.ns.ctx", markedOnly: true },
    T0 + 3000,
  );
  assert.equal(fail(T0 + 3100), undefined, "the reconnect after the deletion is the cluster's doing");
  assert.equal(fail(T0 + 4000), undefined);
  assert.equal(fail(T0 + 5000)?.kind, "now", "three in a row after the deletion: a loop");
});
