import assert from "node:assert/strict";
import { FakeClock } from "../testing/fake_clock.ts";
import { FakeProber } from "../testing/fake_prober.ts";
import { Histogram } from "./histogram.ts";
import { MAX_PROBE_TIMINGS, TimedProber } from "./probe_timing.ts";
import { privateFromRollup, processMemory, residentFromStatus } from "./process_memory.ts";

Deno.test("process memory: VmRSS and private clean + dirty, in bytes; unreadable files are null", () => {
  assert.equal(residentFromStatus("Name:\tdeno\nVmRSS:\t   31744 kB\nVmSwap:\t0 kB\n"), 31744 * 1024);
  assert.equal(residentFromStatus("Name:\tdeno\n"), null);
  const rollup = "55c0-7ffe ---p 00000000 00:00 0  [rollup]\nRss:  31744 kB\nPrivate_Clean:  1000 kB\n" +
    "Private_Dirty:  11000 kB\nShared_Clean: 19744 kB\n";
  assert.equal(privateFromRollup(rollup), 12000 * 1024);
  assert.equal(privateFromRollup("Rss: 1 kB\n"), null);
  const none = processMemory(() => {
    throw new Deno.errors.NotFound("no /proc");
  });
  assert.equal(none.privateBytes, null);
  assert.ok((none.residentBytes ?? 0) > 0, "falls back to Deno.memoryUsage().rss");
});

Deno.test({
  name: "process memory: this process on Linux has both, private below resident",
  ignore: Deno.build.os !== "linux",
  fn: () => {
    const m = processMemory();
    assert.ok(m.residentBytes !== null && m.privateBytes !== null);
    assert.ok(m.privateBytes > 0 && m.privateBytes < m.residentBytes);
  },
});

Deno.test("probe timings: duration of the newest probe; failing since the first failure of a run", async () => {
  const clock = new FakeClock();
  let elapsed = 0;
  const inner = new FakeProber(true);
  const timed = new TimedProber(inner, () => clock.now(), () => elapsed);
  const probe = async (ms: number) => {
    const p = timed.probe({ ip: "127.3.27.1", port: 80, mode: "http", host: "web" }, 1000);
    elapsed += ms;
    return await p;
  };
  assert.equal(timed.timing("127.3.27.1", 80), undefined);
  assert.equal(await probe(3), "answered");
  assert.deepEqual(timed.timing("127.3.27.1", 80), { seconds: 0.003, ok: true });
  inner.set("127.3.27.1", 80, false);
  const firstFailure = clock.now();
  assert.equal(await probe(1), "refused");
  clock.advance(5000);
  await probe(2);
  assert.deepEqual(timed.timing("127.3.27.1", 80), { seconds: 0.002, ok: false, failingSince: firstFailure });
  inner.set("127.3.27.1", 80, true);
  await probe(1);
  assert.equal(timed.timing("127.3.27.1", 80)?.failingSince, undefined, "answering again ends the run");
});

Deno.test("probe timings: a prober that throws counts as a failed probe; memory is bounded", async () => {
  const timed = new TimedProber({ probe: () => Promise.reject(new Error("boom")) }, () => 0, () => 0);
  const spec = (ip: string, port: number) => ({ ip, port, mode: "tcp" as const, host: "db" });
  assert.equal(await timed.probe(spec("127.3.27.1", 80), 10), "refused");
  for (let i = 0; i <= MAX_PROBE_TIMINGS; i++) await timed.probe(spec("127.4.0.1", 1000 + i), 10);
  assert.equal(timed.timing("127.3.27.1", 80), undefined, "the oldest address went first");
  assert.ok(timed.timing("127.4.0.1", 1000 + MAX_PROBE_TIMINGS));
});

Deno.test("histogram: cumulative buckets, count, sum; negative values count as 0", () => {
  const h = new Histogram([1, 5]);
  for (const v of [0.5, 1, 3, 7, -2]) h.observe(v);
  assert.deepEqual(h.snapshot(), { bounds: [1, 5], cumulative: [3, 4], count: 5, sum: 11.5 });
});
