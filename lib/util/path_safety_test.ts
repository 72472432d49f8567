import assert from "node:assert/strict";
import { DaemonLog } from "../log/logger.ts";
import { openAppendNoFollow, unsafeDaemonPaths, untrustedStateFile } from "./path_safety.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kfd-paths-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("unsafeDaemonPaths: state_dir and log_file in world-writable directories (sticky too) are refused", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/sticky`);
    await Deno.chmod(`${dir}/sticky`, 0o1777);
    await Deno.mkdir(`${dir}/open`);
    await Deno.chmod(`${dir}/open`, 0o777);
    await Deno.mkdir(`${dir}/private`, { mode: 0o700 });
    assert.deepEqual(
      await unsafeDaemonPaths({ stateDir: `${dir}/private/s`, logFile: `${dir}/private/s/l` }),
      [],
    );
    const problems = await unsafeDaemonPaths({
      stateDir: `${dir}/sticky/s`,
      logFile: `${dir}/open/daemon.log`,
    });
    assert.equal(problems.length, 2, problems.join("\n"));
    assert.match(
      problems[0],
      /state_dir .*sticky\/s is in .*sticky, which every user can write \(mode 1777, sticky/,
    );
    assert.match(problems[1], /log_file .*open\/daemon\.log is in .*open, which every user can write/);
  });
});

Deno.test("unsafeDaemonPaths: a log file that is a symlink, or a state dir of another user, is refused", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/s`, { mode: 0o700 });
    await Deno.writeTextFile(`${dir}/victim`, "root's file\n");
    await Deno.symlink(`${dir}/victim`, `${dir}/s/daemon.log`);
    const problems = await unsafeDaemonPaths({ stateDir: `${dir}/s`, logFile: `${dir}/s/daemon.log` }, 0);
    assert.deepEqual(problems.length, 1);
    assert.match(problems[0], /log_file .* is a symbolic link/);
    const foreign = await unsafeDaemonPaths({ stateDir: `${dir}/s`, logFile: `${dir}/s/other.log` }, 4242);
    assert.match(
      foreign.join("\n"),
      /state_dir .* belongs to uid \d+, not to this daemon's user \(uid 4242\)/,
    );
  });
});

Deno.test("the log file is never opened through a symlink (O_NOFOLLOW equivalent)", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/victim`, "root's file\n");
    await Deno.symlink(`${dir}/victim`, `${dir}/daemon.log`);
    await assert.rejects(openAppendNoFollow(`${dir}/daemon.log`), /symbolic link/);
    const log = new DaemonLog({ file: `${dir}/daemon.log`, stderr: false });
    log.write({ at: "2026-01-01T00:00:00.000Z", level: "info", source: "daemon", message: "hello" });
    await log.close();
    assert.equal(
      await Deno.readTextFile(`${dir}/victim`),
      "root's file\n",
      "the symlink's target is untouched",
    );
    assert.ok(log.fileErrors > 0);
  });
});

Deno.test("untrustedStateFile: a symlink, another owner or a group/world-writable file is not the daemon's", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/state.json`;
    assert.equal(await untrustedStateFile(path), undefined, "missing is fine");
    await Deno.writeTextFile(path, "{}", { mode: 0o600 });
    assert.equal(await untrustedStateFile(path), undefined);
    await Deno.chmod(path, 0o666);
    assert.match((await untrustedStateFile(path))!, /writable by other users \(mode 0666\)/);
    await Deno.chmod(path, 0o600);
    assert.match((await untrustedStateFile(path, 4242))!, /belongs to uid \d+/);
    await Deno.remove(path);
    await Deno.symlink(`${dir}/elsewhere`, path);
    assert.equal(await untrustedStateFile(path), "is a symbolic link");
  });
});
