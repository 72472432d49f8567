/**
 * Faults of the state directory: read-only (a read-only bind mount), full (a size-limited tmpfs filled to
 * the last byte) and a corrupt or hostile state file. Root makes the mounts; where mounting is refused the
 * fault falls back to replacing the directory by a plain file and says so in the table.
 */
import assert from "node:assert/strict";
import { processAlive, waitFor } from "../integration/harness.ts";
import { BYSTANDER, type ChaosEnv, TARGET } from "./chaos_env.ts";
import { fault } from "./suite.ts";

async function sh(...argv: string[]): Promise<{ ok: boolean; text: string }> {
  const out = await new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { ok: out.success, text: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

/** Makes `dir` read-only for everyone, root included; returns how, and the undo. */
async function makeReadOnly(dir: string): Promise<{ how: string; undo: () => Promise<void> }> {
  const bind = await sh("mount", "--bind", dir, dir);
  if (bind.ok) {
    const ro = await sh("mount", "-o", "remount,bind,ro", dir);
    if (ro.ok) return { how: "read-only bind mount", undo: async () => void await sh("umount", dir) };
    await sh("umount", dir);
  }
  // No mounts here: the directory becomes a plain file (open descriptors keep working, new files fail).
  await Deno.rename(dir, `${dir}.real`);
  await Deno.writeTextFile(dir, "not a directory\n");
  return {
    how: "directory replaced by a file (mount refused)",
    undo: async () => {
      await Deno.remove(dir);
      await Deno.rename(`${dir}.real`, dir);
    },
  };
}

/** Writes zeros into `<dir>/filler` until the file system is full; returns the bytes written. */
async function fill(dir: string): Promise<number> {
  const file = await Deno.open(`${dir}/filler`, { write: true, create: true });
  const chunk = new Uint8Array(4096);
  let written = 0;
  try {
    for (;;) written += await file.write(chunk);
  } catch {
    // ENOSPC: full
  } finally {
    file.close();
  }
  return written;
}

const mounts = new Map<ChaosEnv, () => Promise<void>>();

fault("state dir read-only", async ({ env, run, note }) => {
  let undo: () => Promise<void> = () => Promise.resolve();
  await run("read-only: choices say NOT persisted, supervision goes on", async () => {
    const made = await makeReadOnly(env.t.stateDir);
    undo = made.undo;
    mounts.set(env, undo);
    note(made.how);
    const disable = await env.cli("disable", BYSTANDER);
    assert.equal(disable.code, 0, disable.stderr);
    assert.match(disable.stdout, /NOT persisted/);
    const old = (await env.waitHealthy(TARGET)).pid;
    assert.equal((await env.cli("restart", TARGET)).code, 0);
    const now = await env.waitHealthy(TARGET);
    assert.notEqual(now.pid, old);
  }, { persistenceFailing: true });
  await run("writable again: persistence restored", async () => {
    await undo();
    mounts.delete(env);
    assert.equal((await env.cli("enable", BYSTANDER)).code, 0);
    await waitFor(async () => (await env.status()).daemon.persistence?.ok === true, "persistence ok", 20_000);
    await env.waitHealthy(BYSTANDER);
  });
}, { finally: async (env) => await mounts.get(env)?.() });

const TMPFS_BYTES = 1024 * 1024;

fault("disk full", async ({ env, run, note }) => {
  const method = tmpfsMethod.get(env) ?? "none";
  let undoRo: (() => Promise<void>) | undefined;
  await run("full: choices say NOT persisted, supervision goes on", async () => {
    if (method === "tmpfs") {
      const bytes = await fill(env.t.stateDir);
      note(`state dir on a ${TMPFS_BYTES / 1024} KiB tmpfs, filled with ${Math.round(bytes / 1024)} KiB`);
    } else {
      const made = await makeReadOnly(env.t.stateDir);
      undoRo = made.undo;
      mounts.set(env, undoRo);
      note(`tmpfs refused (${method}): ${made.how} instead`);
    }
    const disable = await env.cli("disable", BYSTANDER);
    assert.equal(disable.code, 0, disable.stderr);
    assert.match(disable.stdout, /NOT persisted/);
    const old = (await env.waitHealthy(TARGET)).pid;
    assert.equal((await env.cli("restart", TARGET)).code, 0);
    const now = await env.waitHealthy(TARGET);
    assert.notEqual(now.pid, old);
    // A flood of log lines into a full disk.
    for (let i = 0; i < 20; i++) await env.cli("status");
  }, { persistenceFailing: true });
  await run("space freed: persistence restored", async () => {
    if (undoRo) {
      await undoRo();
      mounts.delete(env);
    } else await Deno.remove(`${env.t.stateDir}/filler`);
    assert.equal((await env.cli("enable", BYSTANDER)).code, 0);
    await waitFor(async () => (await env.status()).daemon.persistence?.ok === true, "persistence ok", 20_000);
    await env.waitHealthy(BYSTANDER);
  });
}, {
  beforeStart: async (env) => {
    await Deno.mkdir(env.t.stateDir, { recursive: true, mode: 0o700 });
    const r = await sh(
      "mount",
      "-t",
      "tmpfs",
      "-o",
      `size=${TMPFS_BYTES},mode=0700`,
      "tmpfs",
      env.t.stateDir,
    );
    tmpfsMethod.set(env, r.ok ? "tmpfs" : r.text.trim());
    if (r.ok) mounts.set(env, async () => void await sh("umount", "-l", env.t.stateDir));
  },
  finally: async (env) => {
    await env.t.cleanup(); // the daemon must be gone before its state dir is unmounted
    await mounts.get(env)?.();
  },
});

const tmpfsMethod = new Map<ChaosEnv, string>();

/** A process a hostile state file names: it must survive. */
function sleeper(): Deno.ChildProcess {
  return new Deno.Command("sleep", { args: ["600"], stdout: "null", stderr: "null" }).spawn();
}

fault("corrupt/hostile state file", async ({ env, run, note }) => {
  const path = `${env.t.stateDir}/state.json`;
  const victim = sleeper();
  const victimCmdline = Deno.readTextFileSync(`/proc/${victim.pid}/cmdline`);
  const elsewhere = `${env.t.dir}/not-the-state.json`;
  await Deno.writeTextFile(elsewhere, '{"keep": "me"}\n');
  const child = (pid: number, cmdline: string) => ({
    pid,
    cmdline,
    startedAt: new Date().toISOString(),
    viaSudo: false,
    announcedIps: ["127.0.0.1", "::1", "10.9.8.7", "127.9.27.9"],
  });
  const variants: [string, () => Promise<void>][] = [
    ["random bytes", async () => await Deno.writeFile(path, crypto.getRandomValues(new Uint8Array(4096)))],
    ["truncated JSON", async () => {
      const text = await Deno.readTextFile(path);
      await Deno.writeTextFile(path, text.slice(0, Math.floor(text.length / 2)));
    }],
    ["records naming other processes and localhost", async () => {
      await Deno.writeTextFile(
        path,
        JSON.stringify({
          version: 1,
          profiles: {
            [TARGET]: {
              counters: { restarts: -5, failures: "x" },
              baseIp: "127.0.0.1",
              child: child(victim.pid, "kubefwd\0svc"),
            },
            [BYSTANDER]: {
              counters: { restarts: 0, failures: 0, totalUptimeMs: 0 },
              events: [],
              baseIp: "127.0.0.1",
              child: child(1, "/sbin/init"),
            },
            ["__proto__"]: { polluted: true },
          },
        }),
        { mode: 0o600 },
      );
    }],
    ["writable by others, naming a live process exactly", async () => {
      await Deno.writeTextFile(
        path,
        JSON.stringify({
          version: 1,
          profiles: {
            [TARGET]: {
              counters: { restarts: 0, failures: 0, totalUptimeMs: 0 },
              events: [],
              child: child(victim.pid, victimCmdline),
            },
          },
        }),
      );
      await Deno.chmod(path, 0o666);
    }],
    ["a symlink to another file", async () => {
      await Deno.remove(path);
      await Deno.symlink(elsewhere, path);
    }],
    ["huge: 2000 profiles, 100k events", async () => {
      const event = {
        at: new Date().toISOString(),
        profile: TARGET,
        from: "starting",
        to: "running",
        reason: "x",
      };
      const profiles: Record<string, unknown> = {};
      for (let i = 0; i < 2000; i++) {
        profiles[`ghost-${i}`] = {
          counters: { restarts: 1, failures: 1, totalUptimeMs: 1 },
          events: [event],
        };
      }
      profiles[TARGET] = {
        counters: { restarts: 0, failures: 0, totalUptimeMs: 0 },
        events: Array(100_000).fill(event),
      };
      await Deno.writeTextFile(path, JSON.stringify({ version: 1, profiles }), { mode: 0o600 });
    }],
  ];
  try {
    for (const [label, plant] of variants) {
      await run(label, async () => {
        assert.equal(await env.stopDaemon(), 0);
        await plant();
        await env.restartDaemon();
        assert.ok(processAlive(victim.pid), "the process the state file named is alive");
        assert.ok(processAlive(1));
        assert.equal(
          await Deno.readTextFile(elsewhere),
          '{"keep": "me"}\n',
          "the symlink's target is untouched",
        );
      });
    }
    const aside = [...Deno.readDirSync(env.t.stateDir)].filter((e) => e.name.includes(".corrupt-")).length;
    note(`${aside} files moved aside`);
  } finally {
    try {
      victim.kill("SIGKILL");
    } catch { /* gone */ }
    await victim.status;
  }
});
