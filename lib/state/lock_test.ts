import assert from "node:assert/strict";
import { readUntil } from "../../tests/deadline.ts";
import { UserError } from "../errors.ts";
import { acquireLock, LOCK_FILE_NAME } from "./lock.ts";
import { tempDir } from "../../tests/temp_dir.ts";

Deno.test("lock: second acquirer fails naming the holder's pid; released after release()", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const stateDir = `${dir}/state`;
  const lock = await acquireLock(stateDir, 1111);
  assert.equal(lock.path, `${stateDir}/${LOCK_FILE_NAME}`);
  assert.equal(await Deno.readTextFile(lock.path), "1111\n");
  assert.equal((await Deno.stat(stateDir)).mode! & 0o777, 0o700);
  assert.equal((await Deno.stat(lock.path)).mode! & 0o777, 0o600);

  await assert.rejects(acquireLock(stateDir, 2222), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.match(err.message, /another daemon \(pid 1111\) already uses the state directory/);
    assert.deepEqual(err.details, { holderPid: 1111, lockPath: lock.path });
    return true;
  });
  // A failed attempt must not disturb the holder's pid.
  assert.equal(await Deno.readTextFile(lock.path), "1111\n");

  await lock.release();
  await lock.release(); // idempotent
  const again = await acquireLock(stateDir, 3333);
  assert.equal(await Deno.readTextFile(again.path), "3333\n");
  await again.release();
});

Deno.test("lock: a lock held by another process is detected, and freed when that process dies", async () => {
  await using cleanup = new AsyncDisposableStack();
  const dir = cleanup.adopt(await Deno.makeTempDir(), (d) => Deno.remove(d, { recursive: true }));
  const script = `
    const f = await Deno.open(${
    JSON.stringify(`${dir}/${LOCK_FILE_NAME}`)
  }, { read: true, write: true, create: true });
    await f.lock(true);
    await f.write(new TextEncoder().encode(Deno.pid + "\\n"));
    console.log("locked");
    setInterval(() => {}, 60_000); // keep running (a bare pending promise would end the process)
  `;
  const child = cleanup.adopt(
    new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      stdout: "piped",
      stderr: "null",
      stdin: "null",
    }).spawn(),
    async (child) => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.status;
      await child.stdout.cancel().catch(() => {});
    },
  );
  const reader = child.stdout.getReader();
  const text = await readUntil(reader, (t) => t.includes("\n"), "the child to take the lock");
  assert.equal(text.trim(), "locked");
  reader.releaseLock();
  await assert.rejects(acquireLock(dir), new RegExp(`pid ${child.pid}\\)`));
  child.kill("SIGKILL");
  await child.status;
  const lock = await acquireLock(dir);
  assert.equal(await Deno.readTextFile(lock.path), `${Deno.pid}\n`);
  await lock.release();
});
