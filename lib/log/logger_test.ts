import assert from "node:assert/strict";
import type { LogEntry } from "../supervisor/types.ts";
import { DaemonLog, formatLogLine } from "./logger.ts";
import { tempDir } from "../../tests/temp_dir.ts";

const HOME = "/home/ana";

function entry(message: string, extra: Partial<LogEntry> = {}): LogEntry {
  return { at: "2026-01-01T00:00:00.000Z", level: "info", source: "daemon", message, ...extra };
}

async function readJsonLines(path: string): Promise<LogEntry[]> {
  const text = await Deno.readTextFile(path);
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

/** A stderr stand-in that records text and can be paused to simulate a stuck terminal. */
function fakeStderr() {
  const chunks: string[] = [];
  let gate: Promise<void> | undefined;
  let open: () => void = () => {};
  return {
    text: () => chunks.join(""),
    pause() {
      gate = new Promise((r) => open = r);
    },
    resume() {
      gate = undefined;
      open();
    },
    async write(bytes: Uint8Array): Promise<number> {
      if (gate) await gate;
      chunks.push(new TextDecoder().decode(bytes));
      return bytes.length;
    },
  };
}

Deno.test("logger: secrets are masked in the file, the ring buffer, subscribers and stderr", async () => {
  await using tmp = await tempDir("kfd-log-");
  const dir = tmp.path;
  const stderr = fakeStderr();
  const log = new DaemonLog({
    file: `${dir}/logs/daemon.log`,
    stderr: true,
    stderrWrite: stderr.write,
    home: HOME,
  });
  const seen: LogEntry[] = [];
  log.subscribe((e) => seen.push(e));
  const raw = "spawn kubefwd svc -c /home/ana/.kube/prod-eu env KUBEFWD_API_KEY=deadbeef";
  log.write(
    entry("API key (generated): 0123456789abcdef0123456789abcdef", { profile: "web", source: "stdout" }),
  );
  log.write(entry(raw, { profile: "web" }));
  await log.close();

  const expected = "spawn kubefwd svc -c ~/.kube/*** env KUBEFWD_API_KEY=***";
  const fileLines = await readJsonLines(`${dir}/logs/daemon.log`);
  assert.deepEqual(fileLines.map((e) => e.message), ["API key (generated): ***", expected]);
  assert.deepEqual(log.tail(10).map((e) => e.message), ["API key (generated): ***", expected]);
  assert.deepEqual(seen.map((e) => e.message), ["API key (generated): ***", expected]);
  assert.equal(
    stderr.text(),
    "2026-01-01T00:00:00.000Z INFO  web stdout: API key (generated): ***\n" +
      `2026-01-01T00:00:00.000Z INFO  web daemon: ${expected}\n`,
  );
  const all = (await Deno.readTextFile(`${dir}/logs/daemon.log`)) + stderr.text();
  assert.ok(!all.includes("deadbeef") && !all.includes("prod-eu") && !all.includes("0123456789abcdef"));
  assert.equal((await Deno.stat(`${dir}/logs/daemon.log`)).mode! & 0o777, 0o600);
  assert.equal((await Deno.stat(`${dir}/logs`)).mode! & 0o777, 0o700);
});

Deno.test("logger: known kubeconfig paths are masked, and can be updated", async () => {
  const log = new DaemonLog({ home: HOME, kubeconfigs: ["/srv/clusters/prod.yaml"] });
  log.write(entry("stat /srv/clusters/prod.yaml: denied"));
  log.setKubeconfigs(["/srv/clusters/stage.yaml"]);
  log.write(entry("stat /srv/clusters/stage.yaml: denied"));
  assert.deepEqual(log.tail(2).map((e) => e.message), [
    "stat /srv/clusters/***: denied",
    "stat /srv/clusters/***: denied",
  ]);
  await log.close();
});

Deno.test("logger: level filter applies everywhere", async () => {
  await using tmp = await tempDir("kfd-log-");
  const dir = tmp.path;
  const log = new DaemonLog({ file: `${dir}/d.log`, level: "warn" });
  log.write(entry("debug", { level: "debug" }));
  log.write(entry("info", { level: "info" }));
  log.write(entry("warn", { level: "warn" }));
  log.write(entry("error", { level: "error" }));
  await log.close();
  assert.deepEqual(log.tail(10).map((e) => e.message), ["warn", "error"]);
  assert.deepEqual((await readJsonLines(`${dir}/d.log`)).map((e) => e.message), ["warn", "error"]);
});

Deno.test("logger: tail overall and per profile, each bounded", async () => {
  const log = new DaemonLog({ bufferSize: 5, profileBufferSize: 3 });
  for (let i = 0; i < 10; i++) {
    log.write(entry(`a${i}`, { profile: "a" }));
    if (i % 2 === 0) log.write(entry(`b${i}`, { profile: "b" }));
  }
  log.write(entry("daemon line"));
  assert.deepEqual(log.tail(100, "a").map((e) => e.message), ["a7", "a8", "a9"]);
  assert.deepEqual(log.tail(2, "b").map((e) => e.message), ["b6", "b8"]);
  assert.deepEqual(log.tail(100).map((e) => e.message), ["a7", "a8", "b8", "a9", "daemon line"]);
  assert.deepEqual(log.tail(100, "nope"), []);
  assert.deepEqual(log.tail(0), []);
  await log.close();
});

Deno.test("logger: subscribe receives new lines until unsubscribed; a throwing listener is isolated", async () => {
  const log = new DaemonLog();
  const got: string[] = [];
  log.subscribe(() => {
    throw new Error("bad listener");
  });
  const unsubscribe = log.subscribe((e) => got.push(e.message));
  log.write(entry("one"));
  log.write(entry("two"));
  unsubscribe();
  log.write(entry("three"));
  assert.deepEqual(got, ["one", "two"]);
  assert.equal(log.tail(10).length, 3);
  await log.close();
});

Deno.test("logger: the file rotates by size and keeps maxFiles files", async () => {
  await using tmp = await tempDir("kfd-log-");
  const dir = tmp.path;
  const path = `${dir}/d.log`;
  const log = new DaemonLog({ file: path, maxFileBytes: 1000, maxFiles: 3 });
  for (let i = 0; i < 100; i++) {
    log.write(entry(`line ${String(i).padStart(3, "0")} ${"x".repeat(40)}`));
    if (i % 7 === 0) await log.flush(); // several batches, so rotation happens between writes
  }
  await log.close();
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  assert.deepEqual(names.sort(), ["d.log", "d.log.1", "d.log.2"]);
  const current = await readJsonLines(path);
  const previous = await readJsonLines(`${path}.1`);
  const oldest = await readJsonLines(`${path}.2`);
  for (const name of ["d.log", "d.log.1", "d.log.2"]) {
    assert.ok((await Deno.stat(`${dir}/${name}`)).size <= 1000, `${name} exceeds the limit`);
  }
  assert.match(current.at(-1)!.message, /^line 099/);
  const sequence = [...oldest, ...previous, ...current].map((e) => Number(e.message.slice(5, 8)));
  assert.deepEqual(sequence, sequence.slice().sort((a, b) => a - b), "rotation keeps order");
  assert.equal(sequence.at(-1), 99);
  assert.ok(sequence.length < 100, "old files beyond maxFiles were dropped");
});

Deno.test("logger: appends to an existing file and counts its size", async () => {
  await using tmp = await tempDir("kfd-log-");
  const dir = tmp.path;
  const path = `${dir}/d.log`;
  await Deno.writeTextFile(path, JSON.stringify(entry("from before")) + "\n");
  const log = new DaemonLog({ file: path });
  log.write(entry("after restart"));
  await log.close();
  assert.deepEqual((await readJsonLines(path)).map((e) => e.message), ["from before", "after restart"]);
});

Deno.test("logger: a stuck output drops lines beyond its bound and reports how many", async () => {
  const stderr = fakeStderr();
  stderr.pause();
  const log = new DaemonLog({ stderr: true, stderrWrite: stderr.write, maxQueuedBytes: 500 });
  for (let i = 0; i < 100; i++) log.write(entry(`line ${i} ${"y".repeat(20)}`));
  assert.equal(log.tail(1000).length, 100, "the ring buffer never drops");
  stderr.resume();
  await log.close();
  const lines = stderr.text().trimEnd().split("\n");
  const dropped = lines.find((l) => /log lines dropped/.test(l));
  assert.ok(dropped, "a dropped-lines notice is written");
  const count = Number(/(\d+) log lines dropped/.exec(dropped)![1]);
  assert.equal(lines.length - 1 + count, 100, "every line is either written or counted");
  assert.ok(count > 50);
  assert.match(lines[0], /line 0 /);
});

Deno.test("logger: long messages are cut before masking and storage", async () => {
  const log = new DaemonLog({ maxMessageChars: 20 });
  log.write(entry("z".repeat(100)));
  assert.equal(log.tail(1)[0].message, `${"z".repeat(20)}… (80 more characters)`);
  await log.close();
});

Deno.test("logger: lines after close reach memory but not the file; entries are copied", async () => {
  await using tmp = await tempDir("kfd-log-");
  const dir = tmp.path;
  const log = new DaemonLog({ file: `${dir}/d.log` });
  const original = entry("before");
  log.write(original);
  original.message = "mutated by caller";
  await log.close();
  log.write(entry("after"));
  assert.deepEqual(log.tail(5).map((e) => e.message), ["before", "after"]);
  assert.deepEqual((await readJsonLines(`${dir}/d.log`)).map((e) => e.message), ["before"]);
});

Deno.test("logger: unwritable file counts errors and does not throw", async () => {
  await using tmp = await tempDir("kfd-log-");
  const dir = tmp.path;
  await Deno.writeTextFile(`${dir}/not-a-dir`, "");
  const log = new DaemonLog({ file: `${dir}/not-a-dir/d.log` });
  log.write(entry("lost"));
  await log.close();
  assert.equal(log.fileErrors, 1);
  assert.equal(log.tail(1)[0].message, "lost");
});

Deno.test("formatLogLine: daemon-wide and profile lines", () => {
  assert.equal(formatLogLine(entry("hello")), "2026-01-01T00:00:00.000Z INFO  daemon: hello");
  assert.equal(
    formatLogLine(entry("boom", { level: "error", profile: "db", source: "stderr" })),
    "2026-01-01T00:00:00.000Z ERROR db stderr: boom",
  );
});
