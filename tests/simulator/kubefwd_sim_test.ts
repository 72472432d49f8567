/**
 * The simulator, run as a subprocess and read through the real output parser: CLI surface per version,
 * root check, forwards + listeners + hosts entries, exclusion, signals, scripted failures.
 * Each test uses its own 127.x range so files can run in parallel with other simulator users.
 */
import assert from "node:assert/strict";
import { classifyExit, OutputAssembler, parseKubefwdLine } from "../../lib/kubefwd/output.ts";
import type { ForwardAnnouncement, KubefwdLine } from "../../lib/kubefwd/types.ts";
import { waitFor } from "../../lib/util/async.ts";
import {
  canConnect,
  httpGet,
  SimProcess,
  tempDir,
  writeFwdConfFile,
  writeScenario,
  writeSimulatorWrapper,
} from "./harness.ts";
import type { Scenario } from "./kubefwd_sim.ts";

const HOSTS_ORIGINAL = "127.0.0.1\tlocalhost\n# a comment\n::1 localhost ip6-localhost\n";

const THREE_SERVICES: Scenario = {
  currentContext: "kind-sim",
  namespaces: {
    default: {
      services: [
        {
          name: "web",
          labels: { app: "web", tier: "front" },
          ports: [{ port: 18080, targetPort: 8080 }],
          pods: ["web-7d9f-abcde"],
        },
        {
          name: "api",
          labels: { app: "api", tier: "front" },
          ports: [{ port: 18081, targetPort: "http" }],
          pods: ["api-0"],
        },
        { name: "db", labels: { app: "db" }, ports: [{ port: 15432 }], pods: ["db-0"] },
      ],
    },
  },
};

/** A temp dir with a hosts file, the scenario and a -z file; `await using` removes it. */
async function setup(scenario: Scenario, baseIp: string) {
  const dir = await tempDir();
  const hostsPath = `${dir.path}/hosts`;
  await Deno.writeTextFile(hostsPath, HOSTS_ORIGINAL);
  const scenarioPath = await writeScenario(dir.path, scenario);
  const zPath = await writeFwdConfFile(dir.path, baseIp);
  return { dir, hostsPath, scenarioPath, zPath, [Symbol.asyncDispose]: () => dir[Symbol.asyncDispose]() };
}

async function runToExit(
  opts: Parameters<typeof SimProcess.start>[0],
): Promise<{ sim: SimProcess; status: Deno.CommandStatus }> {
  await using sim = SimProcess.start(opts);
  const status = await sim.wait();
  return { sim, status };
}

Deno.test("simulator: version quiet and version, both lines", async () => {
  for (const version of ["1.25.16", "1.22.5", "0.0.0"]) {
    const { sim, status } = await runToExit({ args: ["version", "quiet"], version });
    assert.equal(status.code, 0);
    assert.equal(sim.rawStdout, `${version}\n`);
  }
  const { sim, status } = await runToExit({ args: ["version"], version: "1.22.5" });
  assert.equal(status.code, 0);
  assert.deepEqual(sim.events("version"), [{ kind: "version", version: "1.22.5" }]);
  assert.match(sim.rawStdout, /Kubefwd version: 1\.22\.5\nhttps:\/\/github\.com\/txn2\/kubefwd\n$/);
  // logrus ForceColors format, byte for byte
  const firstLine = sim.rawStdout.split("\n")[0];
  assert.equal(
    firstLine.replace(/\[\d\d:\d\d:\d\d\]/, "[T]"),
    "\x1b[36mINFO\x1b[0m[T]  _          _           __             _     ",
  );
});

Deno.test("simulator: not root prints the multi-line ERRO text and exits 0", async () => {
  const { sim, status } = await runToExit({ args: ["svc", "-n", "default"], root: false });
  assert.equal(status.code, 0);
  assert.equal(sim.events("not_root").length, 1);
  const line = sim.lines.find((l) => l.event.kind === "not_root")!.line;
  assert.equal(line.level, "ERRO");
  assert.match(line.message, /^This program requires superuser privileges to run\. These\n/);
  assert.equal(classifyExit({ code: status.code, signal: null }, undefined, true).kind, "not_root");
});

Deno.test("simulator: 1.22.x rejects -a, -t, --hosts-path like cobra (stderr, exit 1)", async () => {
  const cases: [string[], RegExp][] = [
    [["svc", "-n", "default", "-a"], /^Error: unknown shorthand flag: 'a' in -a$/],
    [["svc", "-n", "default", "-t", "5"], /^Error: unknown shorthand flag: 't' in -t$/],
    [["svc", "-n", "default", "--hosts-path", "/tmp/x"], /^Error: unknown flag: --hosts-path$/],
  ];
  for (const [args, re] of cases) {
    const { sim, status } = await runToExit({ args, version: "1.22.5" });
    assert.equal(status.code, 1, args.join(" "));
    const fatal = sim.lines.find((l) => l.line.stream === "stderr" && l.event.kind === "fatal");
    assert.ok(fatal, "stderr error line parsed as fatal");
    assert.match(fatal.line.message, re);
    assert.ok(sim.rawStderr.includes("\nUsage:\n  kubefwd services [flags]\n"));
    const verdict = classifyExit({ code: status.code, signal: null }, fatal.line.message);
    assert.equal(verdict.kind, "permanent");
  }
  // the same flags exist on 1.25
  const { status } = await runToExit({ args: ["svc", "--help"], version: "1.25.16" });
  assert.equal(status.code, 0);
});

Deno.test("simulator 1.25: forwards, -z IPs, labels, exclusion, listeners, hosts, SIGTERM clean exit", async () => {
  await using fixture = await setup(THREE_SERVICES, "127.77.27.1");
  const { dir, hostsPath, scenarioPath, zPath } = fixture;
  const pidfile = `${dir.path}/pids.jsonl`;
  await using sim = SimProcess.start({
    args: [
      "svc",
      "-n",
      "default",
      "-l",
      "tier=front",
      "-c",
      scenarioPath,
      "-z",
      zPath,
      "-f",
      "metadata.name!=api",
      "-a",
    ],
    scenarioPath,
    hostsPath,
    pidfile,
  });
  const fwd = await sim.waitForEvent("forward");
  await sim.waitForMessage(/^Watching pod events in namespace default$/);
  const forwards = sim.events("forward").map((e) => e.forward);
  assert.deepEqual(
    forwards,
    [
      { ip: "127.77.27.1", hostname: "web", localPort: 18080, pod: "web-7d9f-abcde", podPort: "8080" },
    ] satisfies ForwardAnnouncement[],
  );
  assert.match(
    fwd.line.message,
    /^Port-Forward: {6}127\.77\.27\.1 web:18080 to pod web-7d9f-abcde:8080$/,
  );
  assert.match(
    await httpGet("127.77.27.1", 18080),
    /^kubefwd-sim web\.default pod=web-7d9f-abcde port=8080/,
  );
  // api excluded by -f, db by -l: no announcement, no listener
  assert.equal(await canConnect("127.77.27.2", 18081), false);
  assert.ok(!sim.rawStdout.includes("api"), "excluded service never mentioned");
  const hosts = await Deno.readTextFile(hostsPath);
  assert.ok(hosts.startsWith(HOSTS_ORIGINAL), "existing lines untouched");
  assert.match(
    hosts,
    /^127\.77\.27\.1 +web web\.default web-default .*web\.default\.svc\.cluster\.kind-sim/m,
  );
  const pids = (await Deno.readTextFile(pidfile)).trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(pids.length, 1);
  assert.equal(pids[0].pid, sim.pid);
  assert.deepEqual(pids[0].argv.slice(0, 3), ["svc", "-n", "default"]);

  sim.signal("SIGTERM");
  const status = await sim.wait();
  assert.equal(status.code, 0);
  assert.equal(sim.events("shutting_down").length, 1);
  assert.equal(sim.events("clean_exit").length, 1);
  assert.equal(await Deno.readTextFile(hostsPath), HOSTS_ORIGINAL, "hosts entries removed on clean exit");
  assert.equal(await canConnect("127.77.27.1", 18080), false);
});

Deno.test("simulator 1.22: startup lines, lost forward stays dead with stale hosts, second signal kills", async () => {
  const scenario: Scenario = {
    ...THREE_SERVICES,
    slowShutdownMs: 5000,
    actions: [{ type: "lose_forward", atMs: 50, service: "web" }],
  };
  await using fixture = await setup(scenario, "127.78.27.1");
  const { hostsPath, scenarioPath, zPath } = fixture;
  await using sim = SimProcess.start({
    args: ["svc", "-n", "default", "-z", zPath, "-x", "kind-sim"],
    version: "1.22.5",
    scenarioPath,
    hostsPath,
  });
  await sim.waitForEvent("stopped_forwarding");
  assert.ok(sim.lines.some((l) => l.line.message === "Successfully connected context: kind-sim"));
  assert.ok(
    !sim.lines.some((l) => /Starting watcher|SyncPodForwards/.test(l.line.message)),
    "no 1.23+ lines",
  );
  assert.deepEqual(sim.events("forward").map((e) => e.forward.ip), [
    "127.78.27.1",
    "127.78.27.2",
    "127.78.27.3",
  ]);
  assert.deepEqual(sim.events("lost_connection"), [{
    kind: "lost_connection",
    error: "lost connection to pod",
  }]);
  assert.deepEqual(sim.events("stopped_forwarding"), [{
    kind: "stopped_forwarding",
    pod: "web-7d9f-abcde",
    serviceKey: "web.default.kind-sim",
  }]);
  assert.equal(await canConnect("127.78.27.1", 18080), false, "dead forward closed its port");
  assert.match(await httpGet("127.78.27.2", 18081), /api\.default/);
  assert.equal(sim.events("reconnect_scheduled").length, 0);

  sim.signal("SIGTERM");
  await sim.waitForMessage(/^Received shutdown signal$/);
  sim.signal("SIGTERM"); // during the slow shutdown: the default action kills 1.22.x
  const status = await sim.wait();
  assert.equal(status.signal, "SIGTERM");
  assert.equal(sim.events("clean_exit").length, 0);
  assert.match(
    await Deno.readTextFile(hostsPath),
    /^127\.78\.27\.1 +web /m,
    "1.22.x leaves the dead forward's entries",
  );
});

Deno.test("simulator 1.25 -a: lost forward reconnects on the same IP", async () => {
  const scenario: Scenario = {
    ...THREE_SERVICES,
    reconnectDelayMs: 200,
    actions: [{ type: "lose_forward", atMs: 50, service: "db" }],
  };
  await using fixture = await setup(scenario, "127.79.27.1");
  const { hostsPath, scenarioPath, zPath } = fixture;
  await using sim = SimProcess.start({
    args: ["svc", "-n", "default", "-z", zPath, "-a"],
    scenarioPath,
    hostsPath,
    stopSignal: "SIGINT",
  });
  await sim.waitForEvent("forward", 15_000, 4);
  const kinds = sim.lines.map((l) => l.event.kind).filter((k) => k !== "other" && k !== "version");
  assert.deepEqual(kinds.slice(3), [
    "lost_connection",
    "portforward_error",
    "reconnect_scheduled",
    "reconnect_attempt",
    "forward",
  ]);
  assert.deepEqual(sim.events("reconnect_scheduled"), [{
    kind: "reconnect_scheduled",
    serviceKey: "db.default.kind-sim",
    delay: "200ms",
  }]);
  const again = sim.events("forward")[3].forward;
  assert.equal(again.ip, "127.79.27.3");
  assert.equal(again.pod, "db-0");
  assert.match(await httpGet("127.79.27.3", 15432), /db\.default/);
});

/** Event kinds of parsed lines, `other` lines named by their first two words (e.g. `other:SyncPodForwards starting`). */
function kindSequence(lines: { event: { kind: string }; message: string }[]): string[] {
  return lines.filter((l) => l.event.kind !== "version").map((l) =>
    l.event.kind === "other" ? `other:${l.message.split(" ").slice(0, 2).join(" ")}` : l.event.kind
  );
}

/** The same sequence for a real recording (tests/fixtures/kubefwd_output/<version>/<scenario>.timeline.jsonl). */
async function recordedSequence(version: string, scenario: string): Promise<string[]> {
  const path = new URL(`../fixtures/kubefwd_output/${version}/${scenario}.timeline.jsonl`, import.meta.url);
  const lines: KubefwdLine[] = [];
  const asm = new OutputAssembler("stdout", (l) => lines.push(l));
  for (const raw of (await Deno.readTextFile(path)).split("\n")) {
    if (raw.trim() === "") continue;
    const rec = JSON.parse(raw) as { fd?: number; line?: string };
    if (rec.fd === 1 && rec.line !== undefined) asm.push(new TextEncoder().encode(rec.line + "\n"));
  }
  asm.close();
  return kindSequence(lines.map((l) => ({ event: parseKubefwdLine(l), message: l.message })));
}

/** The part of a sequence from the first `from` to the `n`-th following `forward` (inclusive). */
function segment(seq: string[], from: string, forwards = 1): string[] {
  const start = seq.indexOf(from);
  let seen = 0;
  for (let i = start; i < seq.length; i++) {
    if (seq[i] === "forward" && ++seen === forwards) return seq.slice(start, i + 1);
  }
  return seq.slice(start);
}

Deno.test("simulator 1.25: pod replaced → the recorded 1.25.16 sequence and a forward on a new IP; 1.22: nothing", async () => {
  const scenario: Scenario = {
    ...THREE_SERVICES,
    reconnectDelayMs: 100,
    syncDebounceMs: 100,
    actions: [{ type: "replace_pod", atMs: 50, service: "web", newPod: "web-7d9f-fghij", delayMs: 50 }],
  };
  { // 1.25 -a: each simulator ends before the next one starts
    await using fixture = await setup(scenario, "127.80.27.1");
    const { hostsPath, scenarioPath, zPath } = fixture;
    await using sim = SimProcess.start({
      args: ["svc", "-n", "default", "-z", zPath, "-a"],
      scenarioPath,
      hostsPath,
      stopSignal: "SIGTERM",
    });
    await sim.waitForEvent("forward", 15_000, 4);
    assert.deepEqual(sim.events("pod_deleted"), [
      { kind: "pod_deleted", pod: "web-7d9f-abcde", serviceKey: "web.default.kind-sim", markedOnly: true },
    ]);
    // Same lines in the same order as real kubefwd 1.25.16 (-a) when kwok deleted the pod gracefully.
    assert.deepEqual(
      segment(
        kindSequence(sim.lines.map((l) => ({ event: l.event, message: l.line.message }))),
        "pod_deleted",
      ),
      segment(await recordedSequence("1.25.16", "pod-replace"), "pod_deleted"),
    );
    const moved = sim.events("forward")[3].forward;
    assert.deepEqual(moved, {
      ip: "127.80.27.4",
      hostname: "web",
      localPort: 18080,
      pod: "web-7d9f-fghij",
      podPort: "8080",
    });
    assert.equal(await canConnect("127.80.27.1", 18080), false);
    assert.match(await httpGet("127.80.27.4", 18080), /pod=web-7d9f-fghij/);
    assert.match(await Deno.readTextFile(hostsPath), /^127\.80\.27\.4 +web /m);
    assert.doesNotMatch(await Deno.readTextFile(hostsPath), /^127\.80\.27\.1 /m);
  }

  { // The replacement only after the reconnect (pod-gone): `No Running Pods`, a quiet retry, `Pods now
    // available`, as recorded; a two-port service stops two forwards but schedules one reconnect.
    await using gone = await setup({
      ...scenario,
      currentContext: "kfd",
      namespaces: {
        default: {
          services: [{
            name: "b",
            ports: [{ port: 18082, targetPort: 8082 }, { port: 19090, targetPort: 8084 }],
            pods: ["b-0"],
          }],
        },
      },
      actions: [{ type: "replace_pod", atMs: 50, service: "b", newPod: "b-1", delayMs: 600 }],
    }, "127.82.27.1");
    await using simGone = SimProcess.start({
      args: ["svc", "-n", "default", "-z", gone.zPath, "-a", "--retry-interval", "300ms"],
      scenarioPath: gone.scenarioPath,
      hostsPath: gone.hostsPath,
      stopSignal: "SIGTERM",
    });
    await simGone.waitForEvent("forward", 15_000, 4);
    assert.deepEqual(
      segment(
        kindSequence(simGone.lines.map((l) => ({ event: l.event, message: l.line.message }))),
        "pod_deleted",
        2,
      ),
      segment(await recordedSequence("1.25.16", "pod-gone"), "pod_deleted", 2),
    );
  }

  { // Without -a: no reconnect lines; the debounced sync of the pod informer forwards the new pod.
    await using noA = await setup(scenario, "127.83.27.1");
    await using simNoA = SimProcess.start({
      args: ["svc", "-n", "default", "-z", noA.zPath],
      scenarioPath: noA.scenarioPath,
      hostsPath: noA.hostsPath,
      stopSignal: "SIGTERM",
    });
    await simNoA.waitForEvent("forward", 15_000, 4);
    assert.deepEqual(
      segment(
        kindSequence(simNoA.lines.map((l) => ({ event: l.event, message: l.line.message }))),
        "pod_deleted",
      ),
      [
        "pod_deleted",
        "stopped_forwarding",
        "other:SyncPodForwards starting",
        "other:SyncPodForwards: Found",
        "forward",
      ],
    );
  }

  await using old = await setup({
    ...scenario,
    actions: [...scenario.actions!, { type: "log", atMs: 300, message: "marker" }],
  }, "127.81.27.1");
  await using sim22 = SimProcess.start({
    args: ["svc", "-n", "default", "-z", old.zPath],
    version: "1.22.5",
    scenarioPath: old.scenarioPath,
    hostsPath: old.hostsPath,
    stopSignal: "SIGTERM",
  });
  await sim22.waitForMessage(/^marker$/);
  assert.equal(sim22.events("pod_deleted").length, 0);
  assert.equal(sim22.events("forward").length, 3);
  // like the 1.22.3 recording: the next connection gets an empty reply and the forward dies for good
  await assert.rejects(httpGet("127.81.27.1", 18080));
  await sim22.waitForEvent("stopped_forwarding");
  assert.deepEqual(sim22.events("lost_connection"), [{
    kind: "lost_connection",
    error: "lost connection to pod",
  }]);
  assert.equal(sim22.events("forward").length, 3, "1.22.x never re-forwards");
  assert.equal(await canConnect("127.81.27.1", 18080), false);
});

Deno.test("simulator 1.25: second signal during a slow shutdown forces exit 1 and still cleans hosts", async () => {
  await using fixture = await setup(
    { ...THREE_SERVICES, slowShutdownMs: 10_000 },
    "127.82.27.1",
  );
  const { hostsPath, scenarioPath, zPath } = fixture;
  await using sim = SimProcess.start({
    args: ["svc", "-n", "default", "-z", zPath],
    scenarioPath,
    hostsPath,
  });
  await sim.waitForEvent("forward", 15_000, 3);
  sim.signal("SIGTERM");
  await sim.waitForEvent("shutting_down");
  sim.signal("SIGTERM");
  const status = await sim.wait();
  assert.equal(status.code, 1);
  assert.ok(
    sim.lines.some((l) =>
      l.line.level === "WARN" && l.line.message === "Forced shutdown - cleaning up hosts file"
    ),
  );
  assert.equal(await Deno.readTextFile(hostsPath), HOSTS_ORIGINAL);
});

Deno.test("simulator: ignoreSigterm survives SIGTERM/SIGINT, dies only to SIGKILL, entries left behind", async () => {
  await using fixture = await setup(
    { ...THREE_SERVICES, ignoreSigterm: true },
    "127.83.27.1",
  );
  const { dir, hostsPath, scenarioPath, zPath } = fixture;
  const signals = `${dir.path}/signals`;
  await using sim = SimProcess.start({
    args: ["svc", "-n", "default", "-z", zPath],
    scenarioPath,
    hostsPath,
    env: { KUBEFWD_SIM_SIGNALS: signals },
  });
  await sim.waitForEvent("forward", 15_000, 3);
  sim.signal("SIGTERM");
  sim.signal("SIGINT");
  // Both signals handled (and ignored): a simulator that acted on one would be shutting down by now.
  const seen = async () => (await Deno.readTextFile(signals).catch(() => "")).split("\n").sort();
  await waitFor(async () => (await seen()).length >= 3, 15_000, { step: 10, what: "both signals handled" });
  assert.deepEqual(await seen(), ["", "SIGINT ignored", "SIGTERM ignored"]);
  assert.equal(sim.exited, false);
  assert.match(await httpGet("127.83.27.1", 18080), /web/);
  sim.signal("SIGKILL");
  const status = await sim.wait();
  assert.equal(status.signal, "SIGKILL");
  assert.equal(classifyExit({ code: null, signal: "SIGKILL" }).kind, "transient");
  assert.match(await Deno.readTextFile(hostsPath), /^127\.83\.27\.1 /m, "SIGKILL leaves hosts entries");
});

Deno.test("simulator: scripted crash (exit code, signal), fatal line, stderr lines", async () => {
  const cases: [Scenario["actions"], (s: Deno.CommandStatus, sim: SimProcess) => void][] = [
    [[{ type: "crash", atMs: 20, exitCode: 3 }], (s) => assert.equal(s.code, 3)],
    [[{ type: "crash", atMs: 20, signal: "SIGKILL" }], (s) => assert.equal(s.signal, "SIGKILL")],
    [[{ type: "crash", atMs: 20, signal: "SIGSEGV" }], (s) => assert.equal(s.signal, "SIGABRT")],
    [
      [{
        type: "crash",
        atMs: 20,
        panic: "runtime error: invalid memory address or nil pointer dereference",
      }],
      (s, sim) => {
        assert.equal(s.code, 2);
        const f = sim.events("fatal");
        // A Go panic is a crash: restarted with backoff (max_attempts applies), not a config error.
        assert.equal(classifyExit({ code: 2, signal: null }, f[f.length - 1].message).kind, "transient");
      },
    ],
    [[{ type: "stderr", atMs: 10, lines: ["E0102 boom", "second"] }, {
      type: "fatal",
      atMs: 30,
      message: "Error connecting to k8s cluster: dial tcp 10.0.0.1:443: i/o timeout",
    }], (s, sim) => {
      assert.equal(s.code, 1);
      assert.deepEqual(sim.lines.filter((l) => l.line.stream === "stderr").map((l) => l.line.message), [
        "E0102 boom",
        "second",
      ]);
      const f = sim.events("fatal");
      assert.equal(f.length, 1);
      // The API out of reach: retried steadily, not a crash loop.
      assert.equal(classifyExit({ code: 1, signal: null }, f[0].message).kind, "unreachable");
    }],
  ];
  for (const [i, [actions, check]] of cases.entries()) {
    await using fixture = await setup(
      { ...THREE_SERVICES, actions },
      `127.84.${27 + i}.1`,
    );
    const { hostsPath, scenarioPath, zPath } = fixture;
    const { sim, status } = await runToExit({
      args: ["svc", "-n", "default", "-z", zPath],
      scenarioPath,
      hostsPath,
    });
    check(status, sim);
  }
});

Deno.test("simulator 1.25 -a: an API outage drops every forward and recovers as recorded from 1.25.16", async () => {
  const scenario: Scenario = {
    ...THREE_SERVICES,
    reconnectDelayMs: 100,
    syncDebounceMs: 100,
    actions: [{ type: "api_outage", atMs: 50, durationMs: 900 }],
  };
  await using fixture = await setup(scenario, "127.84.27.1");
  const { hostsPath, scenarioPath, zPath } = fixture;
  await using sim = SimProcess.start({
    args: ["svc", "-n", "default", "-z", zPath, "-a", "--retry-interval", "200ms"],
    scenarioPath,
    hostsPath,
    stopSignal: "SIGTERM",
  });
  await sim.waitForEvent("forward", 15_000, 6);
  await sim.waitForEvent("pods_available", 15_000, 3);
  const seq = kindSequence(sim.lines.map((l) => ({ event: l.event, message: l.line.message })));
  const outage = (s: string[]) => {
    const end = s.indexOf("shutting_down");
    return new Set(s.slice(s.indexOf("lost_connection"), end < 0 ? undefined : end));
  };
  // The same kinds of lines as the real 20 s outage (their order between services is goroutine order).
  assert.deepEqual(outage(seq), outage(await recordedSequence("1.25.16", "apiserver-outage")));
  assert.equal(sim.events("lost_connection").length, 3, "every forward drops at once");
  const failures = sim.events("list_failed");
  assert.ok(failures.length >= 3, `${failures.length} list failures`);
  for (const f of failures) {
    assert.match(f.message, /^WARNING: Error in List pods for \S+: Get ".*connection refused$/);
  }
  // back on the same IPs (same pods), as recorded
  assert.deepEqual(
    sim.events("forward").slice(3).map((e) => e.forward.ip).sort(),
    sim.events("forward").slice(0, 3).map((e) => e.forward.ip).sort(),
  );
});

Deno.test("simulator: api_outage everyMs adds the reference's failed-to-list line on 1.23+; 1.22 stays silent as observed", async () => {
  const actions: Scenario["actions"] = [
    { type: "api_outage", atMs: 0, durationMs: 100, everyMs: 20 },
    { type: "crash", atMs: 300, exitCode: 0 },
  ];
  for (const [i, version] of ["1.25.16", "1.22.3"].entries()) {
    await using fixture = await setup(
      { ...THREE_SERVICES, actions },
      `127.91.${27 + i}.1`,
    );
    const { hostsPath, scenarioPath, zPath } = fixture;
    const { sim } = await runToExit({
      args: ["svc", "-n", "default", "-z", zPath],
      scenarioPath,
      hostsPath,
      version,
    });
    const failures = sim.events("list_failed").filter((e) => e.message.startsWith("Runtime:"));
    if (version === "1.22.3") assert.equal(sim.events("list_failed").length, 0);
    else {
      assert.equal(failures.length, 5);
      assert.match(failures[0].message, /^Runtime: failed to list \*v1\.Service: .*connection refused$/);
    }
  }
});

Deno.test("simulator: flood output arrives in full and parses line by line", async () => {
  const actions: Scenario["actions"] = [
    { type: "flood", atMs: 10, linesPerSecond: 5000, durationMs: 400 },
    { type: "log", atMs: 600, message: "flood done" },
  ];
  await using fixture = await setup({ ...THREE_SERVICES, actions }, "127.85.27.1");
  const { hostsPath, scenarioPath, zPath } = fixture;
  await using sim = SimProcess.start({
    args: ["svc", "-n", "default", "-z", zPath],
    scenarioPath,
    hostsPath,
    stopSignal: "SIGTERM",
  });
  // Under CPU load the flood can outlast its nominal 400 ms: wait for its last line, not the clock.
  await sim.waitForMessage(/^Runtime: flood line 1999$/, 30_000);
  await sim.waitForMessage(/^flood done$/);
  const flood = sim.lines.filter((l) => l.line.message.startsWith("Runtime: flood line "));
  assert.equal(flood.length, 2000);
  assert.ok(
    flood.every((l, i) => l.line.message === `Runtime: flood line ${i}` && l.line.level === "ERRO"),
  );
});

Deno.test("simulator: two processes on the same -z range → listen conflicts (1.25 retries with -a)", async () => {
  await using fixture = await setup(
    { ...THREE_SERVICES, reconnectDelayMs: 100 },
    "127.86.27.1",
  );
  const { hostsPath, scenarioPath, zPath } = fixture;
  await using first = SimProcess.start({
    args: ["svc", "-n", "default", "-z", zPath],
    scenarioPath,
    hostsPath,
    stopSignal: "SIGTERM",
  });
  await first.waitForEvent("forward", 15_000, 3);
  await using second = SimProcess.start({
    args: ["svc", "-n", "default", "-z", zPath, "-a"],
    scenarioPath,
    hostsPath,
    stopSignal: "SIGTERM",
  });
  await second.waitForEvent("reconnect_attempt", 15_000, 2);
  // the backoff is reset before each listen, so bind conflicts retry at the base delay forever
  // (docs/kubefwd-compatibility.md#auto-reconnect)
  assert.ok(second.events("reconnect_scheduled").every((e) => e.delay === "100ms"));
  const conflicts = second.events("listen_conflict");
  assert.ok(conflicts.length >= 6, `conflicts: ${conflicts.length}`);
  assert.deepEqual(conflicts[0], {
    kind: "listen_conflict",
    namespace: "default",
    pod: "web-7d9f-abcde",
    error: "unable to listen on any of the requested ports: [{18080 8080}]",
  });
});

Deno.test("simulator: startup fatals (HOME unset, /etc/hosts refused, missing kubeconfig, bad context, 1.22 bad -m)", async () => {
  await using fixture = await setup(
    { ...THREE_SERVICES, contexts: ["kind-sim"] },
    "127.87.27.1",
  );
  const { dir, hostsPath, scenarioPath, zPath } = fixture;
  const etcBefore = await Deno.readTextFile("/etc/hosts");
  const rows: [Parameters<typeof SimProcess.start>[0], number, RegExp, "permanent" | "transient"][] = [
    [
      { args: ["svc", "-n", "default", "-z", zPath], scenarioPath, hostsPath, clearEnv: true },
      1,
      /^Error backing up hostfile: \$HOME is not defined$/,
      "permanent",
    ],
    [
      { args: ["svc", "-n", "default", "-z", zPath], scenarioPath },
      1,
      /^HostFile error: kubefwd simulator refuses/,
      "permanent",
    ],
    [
      { args: ["svc", "-n", "default", "-c", `${dir.path}/nope`], scenarioPath, hostsPath },
      1,
      /^Error in get rawConfig: /,
      "permanent",
    ],
    [
      { args: ["svc", "-n", "default", "-x", "other"], scenarioPath, hostsPath },
      1,
      /^Error generating REST configuration: context "other" does not exist$/,
      "permanent",
    ],
    [
      { args: ["svc", "-n", "default", "--hosts-path", `${dir.path}/missing`], scenarioPath },
      1,
      /^Hosts path does not exist: /,
      "permanent",
    ],
    [
      { args: ["svc", "-n", "default", "-m", "80"], version: "1.22.5", scenarioPath, hostsPath },
      2,
      /^panic: runtime error: index out of range/,
      // A crash like any panic; `config validate` refuses a -m without ':' before kubefwd ever sees it.
      "transient",
    ],
  ];
  for (const [opts, code, re, kind] of rows) {
    const { sim, status } = await runToExit(opts);
    assert.equal(status.code, code, opts.args.join(" "));
    const f = sim.events("fatal");
    assert.ok(f.length >= 1, `fatal for ${opts.args.join(" ")}\n${sim.dump()}`);
    assert.match(f[0].message, re);
    assert.equal(classifyExit({ code: status.code, signal: null }, f[0].message).kind, kind, f[0].message);
  }
  assert.equal(await Deno.readTextFile("/etc/hosts"), etcBefore, "/etc/hosts never touched");
});

Deno.test("simulator: SIGTERM during a slow startup is acted on after the API check", async () => {
  await using fixture = await setup({
    ...THREE_SERVICES,
    startup: { delayMs: 700 },
  }, "127.88.27.1");
  const { hostsPath, scenarioPath, zPath } = fixture;
  await using sim = SimProcess.start({
    args: ["svc", "-n", "default", "-z", zPath],
    scenarioPath,
    hostsPath,
  });
  await sim.waitForMessage(/^HostFile management: /);
  sim.signal("SIGTERM");
  const status = await sim.wait();
  assert.equal(status.code, 0);
  assert.equal(sim.events("clean_exit").length, 1);
  assert.equal(await Deno.readTextFile(hostsPath), HOSTS_ORIGINAL);
});

Deno.test("simulator: -m remaps the local port, -d adds domain names, 1.25 multi-namespace IPs", async () => {
  const scenario: Scenario = {
    ...THREE_SERVICES,
    namespaces: {
      ...THREE_SERVICES.namespaces,
      other: { services: [{ name: "cache", ports: [{ port: 16379 }], pods: ["cache-0"] }] },
    },
  };
  await using fixture = await setup(scenario, "127.89.27.1");
  const { hostsPath, scenarioPath, zPath } = fixture;
  await using sim = SimProcess.start({
    args: [
      "svc",
      "-n",
      "default",
      "-n",
      "other",
      "-z",
      zPath,
      "-m",
      "18080:28080",
      "-d",
      "test",
      "-f",
      "metadata.name!=api,metadata.name!=db",
    ],
    scenarioPath,
    hostsPath,
    stopSignal: "SIGTERM",
  });
  await sim.waitForEvent("forward", 15_000, 2);
  assert.deepEqual(sim.events("forward").map((e) => e.forward), [
    { ip: "127.89.27.1", hostname: "web", localPort: 28080, pod: "web-7d9f-abcde", podPort: "8080" },
    { ip: "127.89.28.1", hostname: "cache.other", localPort: 16379, pod: "cache-0", podPort: "16379" },
  ]);
  assert.match(await httpGet("127.89.27.1", 28080), /web/);
  const hosts = await Deno.readTextFile(hostsPath);
  assert.match(hosts, /^127\.89\.27\.1 +web web\.test web-test /m);
  assert.match(hosts, /^127\.89\.28\.1 +cache\.other cache-other cache\.other\.svc /m);
});

Deno.test("simulator: generated wrapper carries its configuration through a cleared environment", async () => {
  await using dir = await tempDir();
  const wrapper = await writeSimulatorWrapper(dir.path, {
    KUBEFWD_SIM_VERSION: "1.22.5",
    KUBEFWD_SIM_ROOT: "0",
  });
  const out = await new Deno.Command(wrapper, {
    args: ["version", "quiet"],
    clearEnv: true,
    env: { PATH: "/usr/bin:/bin" },
  }).output();
  assert.equal(new TextDecoder().decode(out.stdout), "1.22.5\n");
  const svc = await new Deno.Command(wrapper, {
    args: ["svc", "-n", "x"],
    clearEnv: true,
    env: { PATH: "/usr/bin:/bin" },
  }).output();
  assert.equal(svc.code, 0);
  assert.match(new TextDecoder().decode(svc.stdout), /requires superuser privileges/);
});

Deno.test("simulator 1.25: --resync-interval passed → the replacement's Ready event syncs at once, without the debounce", async () => {
  // Every other way back (reconnect backoff, retry, debounce) takes a minute here.
  const scenario: Scenario = {
    ...THREE_SERVICES,
    reconnectDelayMs: 60_000,
    syncDebounceMs: 60_000,
    actions: [
      { type: "replace_pod", atMs: 50, service: "web", newPod: "web-new", delayMs: 600 },
      { type: "log", atMs: 3000, message: "marker" },
    ],
  };
  for (const resync of [["--resync-interval", "100ms"], []]) {
    await using fixture = await setup(scenario, "127.84.27.1");
    await using sim = SimProcess.start({
      args: ["svc", "-n", "default", "-z", fixture.zPath, "-a", "--retry-interval", "60s", ...resync],
      scenarioPath: fixture.scenarioPath,
      hostsPath: fixture.hostsPath,
      stopSignal: "SIGTERM",
    });
    await sim.waitForMessage(/^marker$/, 15_000);
    const pods = sim.events("forward").map((e) => e.forward.pod);
    if (resync.length) assert.ok(pods.includes("web-new"), `re-forwarded before the marker: ${pods}`);
    else assert.ok(!pods.includes("web-new"), `debounced past the marker: ${pods}`);
  }
});

Deno.test("simulator: close_stdout ends stdout while the process and its forwards live on; onlyIn", async () => {
  await using fixture = await setup(
    {
      ...THREE_SERVICES,
      actions: [
        { type: "close_stdout", atMs: 50 },
        // Not for this process: it forwards `default` only.
        { type: "crash", atMs: 10, exitCode: 7, onlyIn: "elsewhere" },
      ],
    },
    "127.86.27.1",
  );
  const { hostsPath, scenarioPath, zPath } = fixture;
  await using sim = SimProcess.start({
    args: ["svc", "-n", "default", "-z", zPath],
    scenarioPath,
    hostsPath,
  });
  await sim.waitForEvent("forward", 15_000, 3);
  // stdout reaches EOF while the child still runs and still forwards.
  await waitFor(() => sim.stdoutEnded, 15_000, { step: 20, what: "EOF on stdout" });
  assert.equal(sim.exited, false);
  assert.match(await httpGet("127.86.27.1", 18080), /web/);
  sim.signal("SIGTERM");
  const status = await sim.wait();
  assert.equal(status.code, 0, "a clean exit although its output is gone");
  assert.doesNotMatch(await Deno.readTextFile(hostsPath), /^127\.86\./m, "hosts entries cleaned on exit");
});
