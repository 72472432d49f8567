import assert from "node:assert/strict";
import { atomicWriteFile, removeStaleTempFiles, tempFileWriter } from "./atomic_write.ts";
import { tempDir } from "../../tests/temp_dir.ts";

async function listDir(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir), (e) => e.name)).sort();
}

Deno.test("atomicWriteFile: replaces the file and leaves no temp file", async () => {
  await using tmp = await tempDir("kfd-atomic-");
  const path = `${tmp.path}/f.json`;
  await atomicWriteFile(path, "one");
  await atomicWriteFile(path, "two", { mode: 0o600 });
  assert.equal(await Deno.readTextFile(path), "two");
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  assert.deepEqual(await listDir(tmp.path), ["f.json"]);
});

Deno.test("atomicWriteFile: removes its temp file when the rename fails", async () => {
  await using tmp = await tempDir("kfd-atomic-");
  await Deno.mkdir(`${tmp.path}/target-is-a-dir`);
  await Deno.writeTextFile(`${tmp.path}/target-is-a-dir/x`, "keep");
  await assert.rejects(atomicWriteFile(`${tmp.path}/target-is-a-dir`, "data"));
  assert.deepEqual(await listDir(tmp.path), ["target-is-a-dir"]);
});

Deno.test("removeStaleTempFiles: only other processes' temp files of that one file", async () => {
  await using tmp = await tempDir("kfd-atomic-");
  const names = {
    stale: "f.json.tmp-4242424-a1b2c3d4e5f6",
    mine: `f.json.tmp-${Deno.pid}-a1b2c3d4e5f6`,
    otherFile: "g.json.tmp-4242424-a1b2c3d4e5f6",
    notOurs: "f.json.tmp-4242424-backup",
    target: "f.json",
  };
  for (const name of Object.values(names)) await Deno.writeTextFile(`${tmp.path}/${name}`, "x");
  await Deno.mkdir(`${tmp.path}/f.json.tmp-4242425-a1b2c3d4e5f6`);
  assert.deepEqual(await removeStaleTempFiles(`${tmp.path}/f.json`), [names.stale]);
  assert.deepEqual(
    await listDir(tmp.path),
    [names.mine, names.otherFile, names.notOurs, names.target, "f.json.tmp-4242425-a1b2c3d4e5f6"].sort(),
  );
  assert.deepEqual(await removeStaleTempFiles(`${tmp.path}/missing-dir/f.json`), []);
});

Deno.test("tempFileWriter: the writing pid of a temp file of that one file, else undefined", () => {
  assert.equal(tempFileWriter("f.json", "f.json.tmp-4242-a1b2c3d4e5f6"), 4242);
  assert.equal(tempFileWriter("f.json", "g.json.tmp-4242-a1b2c3d4e5f6"), undefined);
  assert.equal(tempFileWriter("f.json", "f.json.tmp-4242-backup"), undefined);
  assert.equal(tempFileWriter("f.json", "f.json"), undefined);
});
