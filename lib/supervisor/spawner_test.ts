import assert from "node:assert/strict";
import { readUntil } from "../../tests/deadline.ts";
import { waitFor } from "../util/async.ts";
import { DenoSpawner, type OutputStreamName } from "./spawner.ts";
import { FakeSpawner } from "../testing/fake_spawner.ts";

const env = { PATH: "/usr/bin:/bin", HOME: "/tmp" };

function collector() {
  const dec = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  const text = { stdout: "", stderr: "" };
  return {
    text,
    onOutput: (s: OutputStreamName, c: Uint8Array) => text[s] += dec[s].decode(c, { stream: true }),
  };
}

function procStat(pid: number): { state: string; pgrp: number; sid: number } | null {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { state: f[0], pgrp: Number(f[2]), sid: Number(f[3]) };
  } catch {
    return null;
  }
}

/** Pids of live (non-zombie) processes in process group `pgrp`. */
function groupMembers(pgrp: number): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const st = procStat(Number(e.name));
    if (st && st.pgrp === pgrp && st.state !== "Z") out.push(Number(e.name));
  }
  return out;
}

/** Bound of every wait for a real process in this file. */
const WAIT_MS = 5000;

Deno.test("DenoSpawner: output of both pipes, exit code, own session, env exactly as given", async () => {
  const c = collector();
  const child = new DenoSpawner().spawn({
    argv: [
      "/bin/sh",
      "-c",
      'echo "out $FOO"; echo err >&2; echo "home=$HOME inherited=${USER:-none}"; exit 3',
    ],
    env: { ...env, FOO: "bar" },
    onOutput: c.onOutput,
  });
  const st = procStat(child.pid);
  const status = await child.exited;
  assert.deepEqual(status, { code: 3, signal: null });
  assert.equal(c.text.stdout, "out bar\nhome=/tmp inherited=none\n");
  assert.equal(c.text.stderr, "err\n");
  if (st) assert.equal(st.sid, child.pid, "child leads its own session");
});

Deno.test("DenoSpawner: a 4 MB flood is drained completely (no stall)", async () => {
  let bytes = 0;
  const child = new DenoSpawner().spawn({
    argv: ["/bin/sh", "-c", "head -c 4194304 /dev/zero; echo done >&2"],
    env,
    onOutput: (s, chunk) => {
      if (s === "stdout") bytes += chunk.length;
    },
  });
  assert.deepEqual(await child.exited, { code: 0, signal: null });
  assert.equal(bytes, 4194304);
});

Deno.test("DenoSpawner: group kill reaches grandchildren; status reports the signal", async () => {
  const c = collector();
  const child = new DenoSpawner().spawn({
    argv: ["/bin/sh", "-c", "sleep 300 & echo started; wait"],
    env,
    onOutput: c.onOutput,
  });
  await waitFor(() => c.text.stdout.includes("started"), WAIT_MS, { step: 20 });
  await waitFor(() => groupMembers(child.pid).length >= 2, WAIT_MS, { step: 20 });
  child.kill("SIGTERM", { group: true });
  assert.deepEqual(await child.exited, { code: null, signal: "SIGTERM" });
  await waitFor(() => groupMembers(child.pid).length === 0, WAIT_MS, { step: 20 });
  child.kill("SIGKILL", { group: true }); // after exit: a no-op, must not throw
});

Deno.test("DenoSpawner: cmdline in /proc equals the requested argv (parent-death wrapper exec'd away)", async () => {
  const spawner = new DenoSpawner();
  const c = collector();
  await using cleanup = new AsyncDisposableStack();
  const child = cleanup.adopt(
    spawner.spawn({ argv: ["/bin/sh", "-c", "echo ready; exec sleep 30", "x y"], env, onOutput: c.onOutput }),
    async (child) => {
      child.kill("SIGKILL", { group: true });
      await child.exited;
    },
  );
  await waitFor(() => c.text.stdout.includes("ready"), WAIT_MS, { step: 20 });
  const cmdline = Deno.readTextFileSync(`/proc/${child.pid}/cmdline`);
  // sh has exec'd sleep by now or not; either way the wrapper (setpriv) is gone.
  assert.ok(!cmdline.startsWith("/usr/bin/setpriv"), JSON.stringify(cmdline));
  assert.deepEqual(child.argv, ["/bin/sh", "-c", "echo ready; exec sleep 30", "x y"]);
  if (spawner.parentDeathGuard) {
    const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
    assert.ok(status.length > 0);
  }
});

Deno.test("DenoSpawner: a grandchild holding the pipe does not block exited forever", async () => {
  const t0 = Date.now();
  const child = new DenoSpawner({ drainAfterExitMs: 300 }).spawn({
    argv: ["/bin/sh", "-c", "sleep 30 & echo $!; exit 0"],
    env,
    onOutput: () => {},
  });
  const status = await child.exited;
  assert.deepEqual(status, { code: 0, signal: null });
  assert.ok(Date.now() - t0 < 5000);
  try {
    Deno.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
});

Deno.test("DenoSpawner: missing program throws NotFound", () => {
  assert.throws(
    () => new DenoSpawner().spawn({ argv: ["/nonexistent/kubefwd"], env, onOutput: () => {} }),
    Deno.errors.NotFound,
  );
});

Deno.test("FakeSpawner: scripted output, signals and exits", async () => {
  const seen: string[] = [];
  const spawner = new FakeSpawner();
  const child = spawner.spawn({
    argv: ["kubefwd", "svc"],
    env: {},
    onOutput: (s, c) => seen.push(`${s}:${new TextDecoder().decode(c)}`),
  });
  const fake = spawner.last!;
  fake.stdout("a\n");
  fake.stderr("b\n");
  fake.exitOnTerm = false;
  child.kill("SIGTERM", { group: true });
  assert.ok(fake.alive);
  child.kill("SIGKILL");
  assert.deepEqual(await child.exited, { code: null, signal: "SIGKILL" });
  assert.deepEqual(seen, ["stdout:a\n", "stderr:b\n"]);
  assert.deepEqual(fake.signals, [{ signal: "SIGTERM", group: true }, { signal: "SIGKILL", group: false }]);
  spawner.failNext = new Deno.errors.NotFound("nope");
  assert.throws(() => spawner.spawn({ argv: ["x"], env: {}, onOutput: () => {} }), Deno.errors.NotFound);
});

Deno.test({
  name: "DenoSpawner: parent-death guard terminates the child when the daemon is SIGKILLed",
  ignore: !new DenoSpawner().parentDeathGuard,
  fn: async () => {
    const url = new URL("./spawner.ts", import.meta.url).href;
    const code = `import { DenoSpawner } from "${url}";
      const c = new DenoSpawner().spawn({ argv: ["/bin/sleep", "300"], env: { PATH: "/bin" }, onOutput: () => {} });
      console.log(c.pid);
      await c.exited;`;
    const daemon = new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = daemon.stdout.getReader();
    const text = await readUntil(reader, (t) => t.includes("\n"), "the throwaway daemon's child pid");
    const pid = Number(text.trim());
    assert.ok(pid > 0);
    assert.ok(procStat(pid) !== null, "grandchild alive");
    daemon.kill("SIGKILL");
    await daemon.status;
    await reader.cancel();
    await waitFor(
      () => {
        const st = procStat(pid);
        return st === null || st.state === "Z";
      },
      WAIT_MS,
      { step: 20 },
    );
  },
});
