import assert from "node:assert/strict";
import { realClock } from "../clock.ts";
import { FakeClock } from "../testing/fake_clock.ts";
import { waitFor } from "../util/async.ts";
import {
  cmdlineOf,
  findChildPids,
  isSameProcess,
  killOrphans,
  kubefwdPidOf,
  kubefwdPidsUnder,
  processGroupMembers,
  readCmdline,
  sameCommand,
  stopChild,
} from "./process_control.ts";
import { DenoSpawner } from "./spawner.ts";
import { FakeSpawner } from "../testing/fake_spawner.ts";
import { tempDir } from "../../tests/temp_dir.ts";

/** Waits (bounded) until stopChild has armed its next wait: the earliest timer falls due `ms` from now. */
async function armed(clock: FakeClock, ms: number): Promise<void> {
  await waitFor(() => clock.nextDue() === clock.now() + ms, 5000, { step: 1, what: `a ${ms} ms wait` });
}

function fakeChild() {
  const spawner = new FakeSpawner();
  const handle = spawner.spawn({ argv: ["/k"], env: {}, onOutput: () => {} });
  return { handle, fake: spawner.last! };
}

Deno.test("stopChild: exits on the first SIGTERM (group when direct)", async () => {
  const clock = new FakeClock();
  const { handle, fake } = fakeChild();
  const result = await stopChild(handle, { clock, viaSudo: false, stopTimeoutMs: 10_000 });
  assert.deepEqual(result, { exit: { code: 0, signal: null }, escalation: "term" });
  assert.deepEqual(fake.signals, [{ signal: "SIGTERM", group: true }]);
  assert.equal(clock.pending, 0, "no timer left behind");
});

Deno.test("stopChild: second SIGTERM exactly after stop_timeout, then exits", async () => {
  const clock = new FakeClock();
  const { handle, fake } = fakeChild();
  let terms = 0;
  fake.onSignal = (s) => {
    if (s === "SIGTERM" && ++terms === 2) fake.exit(1);
    return true;
  };
  const steps: string[] = [];
  const p = stopChild(handle, { clock, viaSudo: false, stopTimeoutMs: 10_000, onStep: (m) => steps.push(m) });
  await armed(clock, 10_000);
  clock.advance(9_999);
  assert.equal(clock.nextDue(), clock.now() + 1, "still waiting for the first SIGTERM");
  assert.equal(fake.signals.length, 1);
  clock.advance(1);
  await waitFor(() => fake.signals.length === 2, 5000, { step: 1, what: "the second SIGTERM" });
  assert.equal(fake.signals.length, 2);
  const result = await p;
  assert.deepEqual(result, { exit: { code: 1, signal: null }, escalation: "second_term" });
  assert.equal(steps.length, 1);
  assert.equal(clock.pending, 0);
});

Deno.test("stopChild: direct child ignoring SIGTERM gets SIGKILL on its group; never SIGHUP", async () => {
  const clock = new FakeClock();
  const { handle, fake } = fakeChild();
  fake.exitOnTerm = false;
  const p = stopChild(handle, { clock, viaSudo: false, stopTimeoutMs: 1000, secondTermWaitMs: 500 });
  await armed(clock, 1000);
  clock.advance(1000);
  await armed(clock, 500);
  clock.advance(500);
  const result = await p;
  assert.deepEqual(result, { exit: { code: null, signal: "SIGKILL" }, escalation: "kill" });
  assert.deepEqual(fake.signals, [
    { signal: "SIGTERM", group: true },
    { signal: "SIGTERM", group: true },
    { signal: "SIGKILL", group: true },
  ]);
});

Deno.test("stopChild via sudo: SIGTERMs to sudo only, SIGKILL of kubefwd through sudo -n kill", async () => {
  const clock = new FakeClock();
  const { handle, fake } = fakeChild();
  fake.exitOnTerm = false;
  const sudoKilled: number[] = [];
  const p = stopChild(handle, {
    clock,
    viaSudo: true,
    stopTimeoutMs: 1000,
    secondTermWaitMs: 500,
    findChildren: (pid) => (pid === fake.pid ? [777] : []),
    sudoKill: (pid) => {
      sudoKilled.push(pid);
      fake.exit(null, "SIGKILL"); // sudo mirrors kubefwd's death
      return Promise.resolve(true);
    },
  });
  await armed(clock, 1000);
  clock.advance(1000);
  await armed(clock, 500);
  clock.advance(500);
  const result = await p;
  assert.equal(result.escalation, "kill");
  assert.deepEqual(sudoKilled, [777]);
  assert.deepEqual(fake.signals, [{ signal: "SIGTERM", group: false }, { signal: "SIGTERM", group: false }]);
});

Deno.test("stopChild via sudo: without a kill rule, sudo itself is killed as a last resort", async () => {
  const clock = new FakeClock();
  const { handle, fake } = fakeChild();
  fake.exitOnTerm = false;
  const steps: string[] = [];
  const p = stopChild(handle, {
    clock,
    viaSudo: true,
    stopTimeoutMs: 10,
    secondTermWaitMs: 10,
    findChildren: () => [777],
    sudoKill: () => Promise.resolve(false),
    onStep: (m) => steps.push(m),
  });
  await armed(clock, 10);
  clock.advance(10);
  await armed(clock, 10);
  clock.advance(10);
  const result = await p;
  assert.equal(result.exit?.signal, "SIGKILL");
  assert.match(steps.at(-1)!, /orphaned/);
});

/** Bound of every wait for a real process in this file. */
const WAIT_MS = 10_000;

const env = { PATH: "/usr/bin:/bin" };
// A "kubefwd" that ignores SIGTERM, with a grandchild that ignores it too.
const STUBBORN =
  "trap '' TERM; sh -c \"trap '' TERM; echo gc; while :; do sleep 0.05; done\" & echo up; while :; do sleep 0.05; done";

Deno.test("stopChild (real): a SIGTERM-ignoring process tree is gone after the escalation", async () => {
  let out = "";
  const child = new DenoSpawner().spawn({
    argv: ["/bin/sh", "-c", STUBBORN],
    env,
    onOutput: (_s, c) => out += new TextDecoder().decode(c),
  });
  await waitFor(() => out.includes("up") && out.includes("gc"), WAIT_MS, { step: 20 });
  const t0 = Date.now();
  const result = await stopChild(child, {
    clock: realClock,
    viaSudo: false,
    stopTimeoutMs: 300,
    secondTermWaitMs: 200,
  });
  assert.equal(result.escalation, "kill");
  assert.equal(result.exit?.signal, "SIGKILL");
  assert.ok(Date.now() - t0 >= 500);
  await waitFor(() => processGroupMembers(child.pid).length === 0, WAIT_MS, { step: 20 });
  assert.equal(isSameProcess(child.pid, cmdlineOf(child.argv)), false);
});

Deno.test("stopChild (real, through a sudo-like relay): kubefwd itself is SIGKILLed, not orphaned", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  // Relays TERM to its command like sudo does, and mirrors its exit.
  const relay = `${dir}/relay`;
  await Deno.writeTextFile(
    relay,
    "#!/bin/sh\n\"$@\" &\nc=$!\ntrap 'kill -TERM $c' TERM INT\nwhile kill -0 $c 2>/dev/null; do wait $c; done\n",
    { mode: 0o755 },
  );
  let out = "";
  const child = new DenoSpawner().spawn({
    argv: [relay, "/bin/sh", "-c", STUBBORN],
    env,
    onOutput: (_s, c) => out += new TextDecoder().decode(c),
  });
  await waitFor(() => out.includes("up") && out.includes("gc"), WAIT_MS, { step: 20 });
  const inner = findChildPids(child.pid);
  assert.equal(inner.length, 1, `relay has one child: ${inner}`);
  const result = await stopChild(child, {
    clock: realClock,
    viaSudo: true,
    stopTimeoutMs: 300,
    secondTermWaitMs: 200,
    sudoKill: (pid) => {
      Deno.kill(pid, "SIGKILL");
      return Promise.resolve(true);
    },
  });
  assert.equal(result.escalation, "kill");
  assert.ok(result.exit !== null, "relay exited once its command died");
  await waitFor(() => readCmdline(inner[0]) === null || readCmdline(inner[0]) === "", WAIT_MS, { step: 20 });
  // The grandchild is in the same group (no setsid in between); clean it up like a group kill would.
  for (const pid of processGroupMembers(child.pid)) Deno.kill(pid, "SIGKILL");
  await waitFor(() => processGroupMembers(child.pid).length === 0, WAIT_MS, { step: 20 });
});

Deno.test("readCmdline / findChildPids / isSameProcess on this process", () => {
  const mine = readCmdline(Deno.pid);
  assert.ok(mine !== null && mine.includes("\0"));
  assert.ok(isSameProcess(Deno.pid, mine!));
  assert.ok(isSameProcess(Deno.pid, mine!.replace(/\0$/, "")), "trailing NUL is not significant");
  assert.equal(isSameProcess(Deno.pid, "/usr/bin/kubefwd\0svc"), false);
  assert.equal(readCmdline(2 ** 22 + 12345), null);
  assert.deepEqual(findChildPids(2 ** 22 + 12345), []);
});

Deno.test("killOrphans: verified by cmdline; a mismatch is left alone; missing pids are gone", async () => {
  const spawn = (script: string) =>
    new Deno.Command("/bin/sh", {
      args: ["-c", script],
      stdin: "null",
      stdout: "null",
      stderr: "null",
      detached: true,
    }).spawn();
  await using cleanup = new AsyncDisposableStack();
  const killGroup = async (c: Deno.ChildProcess) => {
    try {
      Deno.kill(-c.pid, "SIGKILL");
    } catch {
      // gone
    }
    await c.status;
  };
  const stubborn = cleanup.adopt(spawn(STUBBORN), killGroup);
  const polite = cleanup.adopt(spawn("exec sleep 300"), killGroup);
  const other = cleanup.adopt(spawn("exec sleep 301"), killGroup);
  await waitFor(
    () =>
      (readCmdline(polite.pid) ?? "").startsWith("sleep") &&
      (readCmdline(other.pid) ?? "").startsWith("sleep"),
    WAIT_MS,
    { step: 20 },
  );
  await waitFor(() => processGroupMembers(stubborn.pid).length >= 2, WAIT_MS, { step: 20 });
  const reports = await killOrphans([
    {
      pid: stubborn.pid,
      cmdline: readCmdline(stubborn.pid)!,
      startedAt: "",
      viaSudo: false,
      announcedIps: [],
    },
    {
      pid: polite.pid,
      cmdline: cmdlineOf(["sleep", "300"]),
      startedAt: "",
      viaSudo: false,
      announcedIps: [],
    },
    {
      pid: other.pid,
      cmdline: cmdlineOf(["/usr/bin/kubefwd", "svc"]),
      startedAt: "",
      viaSudo: false,
      announcedIps: [],
    },
    {
      pid: 2 ** 22 + 12345,
      cmdline: "x",
      startedAt: "",
      viaSudo: false,
      announcedIps: [],
    },
  ], { termWaitMs: 300, secondTermWaitMs: 200, killWaitMs: 3000 });
  assert.deepEqual(reports.map((r) => r.outcome), ["killed", "stopped", "not_ours", "gone"]);
  assert.equal((await stubborn.status).signal, "SIGKILL");
  assert.equal((await polite.status).signal, "SIGTERM");
  await waitFor(() => processGroupMembers(stubborn.pid).length === 0, WAIT_MS, { step: 20 });
  assert.ok(isSameProcess(other.pid, readCmdline(other.pid)!), "the unverified process is untouched");
});

Deno.test("sameCommand: wrappers that exec away still match; other programs and profiles do not", () => {
  const recorded = cmdlineOf([
    "/usr/bin/setpriv",
    "--pdeathsig",
    "TERM",
    "--",
    "/usr/local/bin/kubefwd",
    "svc",
    "-n",
    "team",
    "-z",
    "/state/fwdconf/alpha.fwdconf.yml",
  ]);
  const tail = ["svc", "-n", "team", "-z", "/state/fwdconf/alpha.fwdconf.yml"];
  assert.ok(sameCommand(recorded + "\0", recorded));
  assert.ok(sameCommand(["/usr/local/bin/kubefwd", ...tail].join("\0") + "\0", recorded));
  assert.ok(sameCommand(["deno", "run", "-A", "/x/kubefwd_sim.ts", ...tail].join("\0"), recorded));
  assert.ok(sameCommand(["sudo", "-n", "/usr/local/bin/kubefwd", ...tail].join("\0"), recorded));
  assert.ok(
    !sameCommand(
      ["/usr/local/bin/kubefwd", ...tail.slice(0, -1), "/state/fwdconf/beta.fwdconf.yml"].join("\0"),
      recorded,
    ),
  );
  assert.ok(!sameCommand(["sleep", "100"].join("\0"), recorded));
  assert.ok(
    !sameCommand(["kubefwd", "svc", "-n", "team"].join("\0"), cmdlineOf(["kubefwd", "svc", "-n", "other"])),
  );
});

Deno.test("kubefwdPidsUnder: kubefwd is sudo's child, or its monitor's child with use_pty", () => {
  const trees: [string, Record<number, number[]>, Record<number, string>, number[]][] = [
    ["no pty", { 10: [11] }, { 11: "/usr/bin/kubefwd\0svc" }, [11]],
    ["use_pty monitor", { 10: [11], 11: [12] }, { 11: "sudo\0-n\0/h\0run", 12: "/usr/bin/kubefwd\0svc" }, [
      12,
    ]],
    [
      "through the helper",
      { 10: [11], 11: [12] },
      { 11: "/usr/bin/sudo\0-n", 12: "/usr/local/bin/kubefwd" },
      [12],
    ],
    ["sudo gone", {}, {}, []],
    ["only sudo left", { 10: [11] }, { 11: "sudo\0-n" }, []],
  ];
  for (const [name, children, cmdlines, want] of trees) {
    assert.deepEqual(
      kubefwdPidsUnder(10, (p) => children[p] ?? [], (p) => cmdlines[p] ?? null),
      want,
      name,
    );
  }
});

Deno.test("kubefwdPidOf: the child itself, or through sudo the kubefwd under it", () => {
  assert.equal(kubefwdPidOf(10, false, () => [11]), 10);
  assert.equal(kubefwdPidOf(10, true, (p) => (p === 10 ? [12, 13] : [])), 12);
  assert.equal(kubefwdPidOf(10, true, () => []), null, "sudo has no kubefwd (yet, or any more)");
});
