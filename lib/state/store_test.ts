import assert from "node:assert/strict";
import type { TransitionEvent } from "../supervisor/types.ts";
import { waitFor } from "../util/async.ts";
import { capEvents, parseState, StateStore } from "./store.ts";
import { atomicWriteFile } from "../util/atomic_write.ts";
import { emptyState, MAX_PERSISTED_EVENTS, type PersistedState, STATE_VERSION } from "./types.ts";
import { tempDir } from "../../tests/temp_dir.ts";

function event(i: number, profile = "web"): TransitionEvent {
  return {
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    profile,
    from: "starting",
    to: "running",
    reason: `r${i}`,
  };
}

function sample(): PersistedState {
  return {
    version: STATE_VERSION,
    profiles: {
      web: {
        enabledOverride: false,
        counters: { restarts: 3, failures: 1, totalUptimeMs: 12345 },
        events: [event(1), { ...event(2), detail: "exit code 1" }],
        baseIp: "127.1.27.1",
        addresses: [
          {
            service: "web",
            namespace: "ns",
            pod: "web-1",
            ip: "127.1.27.1",
            seenAt: "2026-01-01T00:00:00.000Z",
          },
        ],
        child: {
          pid: 999,
          cmdline: "sudo\0kubefwd\0svc",
          startedAt: "2026-01-01T00:00:00.000Z",
          viaSudo: true,
          announcedIps: ["127.1.27.1"],
        },
      },
      db: { counters: { restarts: 0, failures: 0, totalUptimeMs: 0 }, events: [] },
    },
  };
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("store: missing file loads as empty state without warnings", async () => {
  await using tmp = await tempDir("kfd-state-");
  const dir = tmp.path;
  const loaded = await new StateStore(`${dir}/state.json`).load();
  assert.deepEqual(loaded, { state: emptyState(), warnings: [] });
});

Deno.test("store: save then load round-trips; file is 0600 and no temp files remain", async () => {
  await using tmp = await tempDir("kfd-state-");
  const dir = tmp.path;
  const path = `${dir}/sub/state.json`;
  const store = new StateStore(path);
  await store.save(sample());
  assert.deepEqual(await listDir(`${dir}/sub`), ["state.json"]);
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  assert.equal((await Deno.stat(`${dir}/sub`)).mode! & 0o777, 0o700);
  const loaded = await new StateStore(path).load();
  assert.deepEqual(loaded.warnings, []);
  assert.deepEqual(loaded.state, sample());
  // overwrite keeps it atomic and clean
  const next = sample();
  next.profiles.web.counters.restarts = 4;
  await store.save(next);
  assert.deepEqual(await listDir(`${dir}/sub`), ["state.json"]);
  assert.equal((await new StateStore(path).load()).state.profiles.web.counters.restarts, 4);
});

Deno.test("store: load removes the temp files a killed daemon left, and says so", async () => {
  await using tmp = await tempDir("kfd-state-");
  const path = `${tmp.path}/state.json`;
  await new StateStore(path).save(sample());
  // A daemon killed between create and rename: its temp file holds the raw state (child argv included).
  const stale = "state.json.tmp-999999-0123456789ab";
  const mine = `state.json.tmp-${Deno.pid}-0123456789ab`;
  for (const name of [stale, mine, "other.json.tmp-999999-0123456789ab", "state.json.tmp-notes"]) {
    await Deno.writeTextFile(`${tmp.path}/${name}`, "{}");
  }
  const loaded = await new StateStore(path).load();
  assert.equal(loaded.state.profiles.web.counters.restarts, sample().profiles.web.counters.restarts);
  assert.deepEqual(
    await listDir(tmp.path),
    [
      "other.json.tmp-999999-0123456789ab",
      "state.json",
      "state.json.tmp-notes",
      mine,
    ].sort(),
  );
  assert.equal(loaded.warnings.length, 1);
  assert.match(loaded.warnings[0], /removed 1 temp file\(s\) .*state\.json\.tmp-999999-0123456789ab/);
});

for (
  const [name, content, reason] of [
    ["garbage", "{not json", /is not valid JSON/],
    ["truncated", '{"version":1,"profiles":{"web":{"coun', /is not valid JSON/],
    ["wrong version", '{"version":99,"profiles":{}}', /has version 99, this daemon reads version 1/],
    ["not an object", "[1,2,3]", /is not a JSON object/],
    ["no profiles", '{"version":1}', /has no profiles object/],
  ] as const
) {
  Deno.test(`store: corrupt file (${name}) is moved aside with a warning`, async () => {
    await using tmp = await tempDir("kfd-state-");
    const dir = tmp.path;
    const path = `${dir}/state.json`;
    await Deno.writeTextFile(path, content);
    const store = new StateStore(path, { now: () => new Date("2026-02-03T04:05:06.789Z") });
    const loaded = await store.load();
    assert.deepEqual(loaded.state, emptyState());
    assert.equal(loaded.warnings.length, 1);
    assert.match(loaded.warnings[0], reason);
    const aside = `${path}.corrupt-2026-02-03T04-05-06.789Z`;
    assert.match(loaded.warnings[0], new RegExp(`moved it to ${aside.replaceAll(".", "\\.")}`));
    assert.equal(await Deno.readTextFile(aside), content);
    assert.deepEqual(await listDir(dir), ["state.json.corrupt-2026-02-03T04-05-06.789Z"]);
  });
}

Deno.test("store: malformed parts are dropped field by field with warnings", () => {
  const raw = {
    version: 1,
    profiles: {
      ok: { counters: { restarts: 1, failures: 2, totalUptimeMs: 3 }, events: [event(1, "ok")] },
      bad: "nope",
      partial: {
        enabledOverride: "yes",
        counters: { restarts: -1, failures: 0, totalUptimeMs: 0 },
        events: [event(1, "partial"), { at: 1 }, { ...event(2, "partial"), to: "exploded" }],
        baseIp: 7,
        addresses: [
          { service: "a", namespace: "ns", pod: "a-1", ip: "127.3.27.1", seenAt: "2026-01-01T00:00:00.000Z" },
          { service: "b", namespace: "ns", pod: "b-1", ip: 7, seenAt: "2026-01-01T00:00:00.000Z" },
          { service: "c", namespace: "ns", pod: "c-1", ip: "127.3.27.3", seenAt: "yesterday" },
        ],
        child: { pid: "x" },
      },
    },
  };
  const warnings: string[] = [];
  const text = JSON.stringify(raw).replace('"profiles":{', '"profiles":{"__proto__":{"counters":{}},');
  const state = parseState(JSON.parse(text), warnings)!;
  assert.deepEqual(Object.keys(state.profiles).sort(), ["ok", "partial"]);
  assert.deepEqual(state.profiles.partial, {
    counters: { restarts: 0, failures: 0, totalUptimeMs: 0 },
    events: [event(1, "partial")],
    addresses: [
      { service: "a", namespace: "ns", pod: "a-1", ip: "127.3.27.1", seenAt: "2026-01-01T00:00:00.000Z" },
    ],
  });
  assert.deepEqual(state.profiles.ok.counters, { restarts: 1, failures: 2, totalUptimeMs: 3 });
  assert.equal(Object.getPrototypeOf(state.profiles), Object.prototype);
  const all = warnings.join("\n");
  assert.match(all, /profile "bad" was malformed and was dropped/);
  assert.match(all, /profile "__proto__" was malformed and was dropped/);
  assert.match(all, /profile "partial": counters were malformed/);
  assert.match(all, /profile "partial": 2 malformed event\(s\) dropped/);
  assert.match(all, /profile "partial": enabledOverride was not a boolean/);
  assert.match(all, /profile "partial": baseIp was not a string/);
  assert.match(all, /profile "partial": owned child record was malformed/);
  assert.match(all, /profile "partial": 2 malformed remembered address\(es\) dropped/);
});

Deno.test("store: events are capped to the newest MAX_PERSISTED_EVENTS per profile on save", async () => {
  await using tmp = await tempDir("kfd-state-");
  const dir = tmp.path;
  const state = emptyState();
  const events = Array.from({ length: MAX_PERSISTED_EVENTS + 50 }, (_, i) => event(i));
  state.profiles.web = { counters: { restarts: 0, failures: 0, totalUptimeMs: 0 }, events };
  const store = new StateStore(`${dir}/state.json`);
  await store.save(state);
  assert.equal(
    state.profiles.web.events.length,
    MAX_PERSISTED_EVENTS + 50,
    "the caller's state is not mutated",
  );
  const saved = (await store.load()).state.profiles.web.events;
  assert.equal(saved.length, MAX_PERSISTED_EVENTS);
  assert.deepEqual(saved[0], event(50));
  assert.deepEqual(saved.at(-1), event(MAX_PERSISTED_EVENTS + 49));
  const small = sample();
  assert.equal(capEvents(small).profiles.web, small.profiles.web, "profiles under the cap are not copied");
});

Deno.test("store: scheduleSave coalesces a burst into one write of the latest state", async () => {
  await using tmp = await tempDir("kfd-state-");
  const dir = tmp.path;
  const path = `${dir}/state.json`;
  const store = new StateStore(path, { debounceMs: 40 });
  const state = sample();
  for (let i = 0; i < 50; i++) {
    state.profiles.web.counters.restarts = i;
    store.scheduleSave(state);
  }
  assert.equal(store.writes, 0);
  await waitFor(() => store.writes > 0, 5000, { step: 5, what: "the debounced write" });
  assert.equal(store.writes, 1);
  assert.equal((await new StateStore(path).load()).state.profiles.web.counters.restarts, 49);
  await store.close();
  assert.equal(store.writes, 1, "nothing pending: close writes nothing");
});

Deno.test("store: flush writes pending state at once and leaves no timer", async () => {
  await using tmp = await tempDir("kfd-state-");
  const dir = tmp.path;
  const path = `${dir}/state.json`;
  const store = new StateStore(path, { debounceMs: 60_000 });
  const state = sample();
  store.scheduleSave(state);
  state.profiles.db.enabledOverride = true;
  store.scheduleSave(state);
  await store.flush();
  assert.equal(store.writes, 1);
  assert.equal((await new StateStore(path).load()).state.profiles.db.enabledOverride, true);
  // after close, scheduleSave arms no timer (the op sanitizer would catch one); flush still writes
  await store.close();
  state.profiles.db.enabledOverride = false;
  store.scheduleSave(state);
  await store.flush();
  assert.equal((await new StateStore(path).load()).state.profiles.db.enabledOverride, false);
});

Deno.test("store: a failed debounced save is reported and retried by flush; explicit saves run in order", async () => {
  await using tmp = await tempDir("kfd-state-");
  const dir = tmp.path;
  const errors: unknown[] = [];
  const path = `${dir}/blocked/state.json`;
  await Deno.writeTextFile(`${dir}/blocked`, "a file where the directory should be");
  const store = new StateStore(path, { debounceMs: 5, onError: (e) => errors.push(e) });
  store.scheduleSave(sample());
  await waitFor(() => errors.length > 0, 5000, { step: 5, what: "the failed save to be reported" });
  assert.equal(errors.length, 1);
  await Deno.remove(`${dir}/blocked`);
  await store.flush();
  assert.deepEqual((await new StateStore(path).load()).state, sample());
  // concurrent explicit saves are serialised: the last one wins
  const a = sample();
  a.profiles.web.counters.restarts = 100;
  const b = sample();
  b.profiles.web.counters.restarts = 200;
  await Promise.all([store.save(a), store.save(b)]);
  assert.equal((await store.load()).state.profiles.web.counters.restarts, 200);
  await store.close();
});

Deno.test("store: a failing write is reported by health, and the next successful write clears it", async () => {
  await using tmp = await tempDir("kfd-state-");
  const dir = tmp.path;
  let fail = true;
  const changes: boolean[] = [];
  const store = new StateStore(`${dir}/state.json`, {
    writeFile: (path, data) =>
      fail ? Promise.reject(new Error("Read-only file system (os error 30)")) : atomicWriteFile(path, data),
    onHealthChange: (h) => changes.push(h.ok),
    now: () => new Date(Date.UTC(2026, 0, 1)),
  });
  assert.equal(store.health.ok, true);
  await assert.rejects(store.save(sample()), /Read-only/);
  assert.deepEqual(store.health, {
    ok: false,
    error: `cannot write ${dir}/state.json: Read-only file system (os error 30)`,
    since: "2026-01-01T00:00:00.000Z",
  });
  fail = false;
  await store.save(sample());
  assert.deepEqual(store.health, { ok: true });
  assert.deepEqual(changes, [false, true]);
});

Deno.test("store: a failed scheduled save is retried by itself; flush with a deadline never hangs", async () => {
  await using tmp = await tempDir("kfd-state-");
  const dir = tmp.path;
  let fail = true;
  const store = new StateStore(`${dir}/state.json`, {
    debounceMs: 1,
    retryMs: 20,
    writeFile: (path, data) =>
      fail ? Promise.reject(new Error("No space left on device")) : atomicWriteFile(path, data),
  });
  store.scheduleSave(sample());
  await waitFor(() => !store.health.ok, 2000);
  fail = false;
  await waitFor(() => store.health.ok, 2000);
  assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/state.json`)).profiles.web.counters.restarts, 3);
  await store.close();

  const hung = new StateStore(`${dir}/other.json`, { writeFile: () => new Promise<void>(() => {}) });
  hung.scheduleSave(sample());
  await assert.rejects(hung.flush(50), /did not finish within 50 ms/);
});

Deno.test("store: a state.json writable by others or owned by another user is moved aside, not obeyed", async () => {
  await using tmp = await tempDir("kfd-state-");
  const dir = tmp.path;
  const path = `${dir}/state.json`;
  await Deno.writeTextFile(path, JSON.stringify(sample()), { mode: 0o600 });
  await Deno.chmod(path, 0o646);
  const loaded = await new StateStore(path, { now: () => new Date(Date.UTC(2026, 0, 1)) }).load();
  assert.deepEqual(loaded.state, emptyState());
  assert.match(
    loaded.warnings[0],
    /is writable by other users \(mode 0646\), so it is not obeyed; moved it to/,
  );
  assert.deepEqual(await listDir(dir), ["state.json.corrupt-2026-01-01T00-00-00.000Z"]);
  if (Deno.uid() === 0) {
    await Deno.writeTextFile(path, JSON.stringify(sample()), { mode: 0o600 });
    await Deno.chown(path, 4242, 4242);
    const planted = await new StateStore(path).load();
    assert.deepEqual(planted.state, emptyState());
    assert.match(planted.warnings[0], /belongs to uid 4242/);
  }
});
