import assert from "node:assert/strict";
import { FakeClock } from "../testing/fake_clock.ts";
import {
  mappedForLife,
  type MemoryTrimmer,
  trimmableRanges,
  type TrimReport,
  TrimScheduler,
} from "./memory_trim.ts";

function mapping(
  header: string,
  rss: number,
  privateDirty: number,
  anonymous = privateDirty,
  swap = 0,
): string {
  return [
    header,
    "Size:               1024 kB",
    `Rss:                ${rss} kB`,
    `Private_Clean:      ${rss - privateDirty} kB`,
    `Private_Dirty:      ${privateDirty} kB`,
    `Anonymous:          ${anonymous} kB`,
    `Swap:               ${swap} kB`,
    "VmFlags: rd mr mw me",
    "",
  ].join("\n");
}

Deno.test("trimmableRanges: only clean, resident, read-only private file mappings", () => {
  const smaps = [
    mapping(
      "55d000000000-55d001000000 r--p 00000000 fe:00 745899                     /usr/bin/deno",
      8000,
      0,
    ),
    mapping(
      "55d001000000-55d004000000 r-xp 01b8e000 fe:00 745899                     /usr/bin/deno",
      18000,
      0,
    ),
    // relro: relocated at load time, then made read-only: privately dirty, must never be dropped
    mapping(
      "55d004000000-55d004200000 r--p 05881000 fe:00 745899                     /usr/bin/deno",
      2400,
      2400,
    ),
    mapping(
      "55d004200000-55d004300000 rw-p 05af3000 fe:00 745899                     /usr/bin/deno",
      200,
      100,
    ),
    mapping("7f0000000000-7f0000100000 rw-p 00000000 00:00 0 ", 5000, 5000), // anonymous (heap)
    mapping(
      "7f0000100000-7f0000200000 r--s 00000000 fe:00 1234                       /root/.cache/x.db",
      500,
      0,
    ),
    mapping(
      "7f0000200000-7f0000300000 r-xp 00000000 fe:00 99                         /lib/libc.so.6",
      1600,
      0,
    ),
    mapping(
      "7f0000300000-7f0000400000 r-xp 00000000 fe:00 98                         /tmp/old (deleted)",
      300,
      0,
    ),
    mapping("7f0000400000-7f0000500000 r--p 00000000 fe:00 97                         /lib/idle.so", 0, 0),
    mapping("7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0                          [vdso]", 8, 0),
    // a copy-on-write page that is clean again after swap-in, and one still in swap: never dropped
    mapping(
      "7f0000500000-7f0000600000 r--p 00000000 fe:00 96                         /lib/cow.so",
      100,
      0,
      4,
    ),
    mapping(
      "7f0000600000-7f0000700000 r--p 00000000 fe:00 95                         /lib/swap.so",
      100,
      0,
      0,
      4,
    ),
  ].join("");
  const ranges = trimmableRanges(smaps);
  assert.deepEqual(
    ranges.map((r) => [r.start.toString(16), r.end.toString(16), r.rssKb, r.path]),
    [
      ["55d000000000", "55d001000000", 8000, "/usr/bin/deno"],
      ["55d001000000", "55d004000000", 18000, "/usr/bin/deno"],
      ["7f0000200000", "7f0000300000", 1600, "/lib/libc.so.6"],
    ],
  );
});

Deno.test("trimmableRanges: eligiblePath limits the files (mappedForLife: the executable and .so files)", () => {
  const smaps = [
    mapping("55d001000000-55d004000000 r-xp 01b8e000 fe:00 745899                     /usr/bin/deno", 100, 0),
    mapping(
      "7f0000200000-7f0000300000 r-xp 00000000 fe:00 99                         /lib/libc.so.6",
      100,
      0,
    ),
    mapping(
      "7f0000300000-7f0000400000 r--p 00000000 fe:00 98                         /data/file.bin",
      100,
      0,
    ),
  ].join("");
  assert.deepEqual(
    trimmableRanges(smaps, (p) => mappedForLife(p, "/usr/bin/deno")).map((r) => r.path),
    ["/usr/bin/deno", "/lib/libc.so.6"],
  );
});

Deno.test("trimmableRanges: a mapping whose dirty count is missing is not trusted", () => {
  const header = "55d000000000-55d001000000 r-xp 00000000 fe:00 745899                     /usr/bin/deno";
  assert.deepEqual(trimmableRanges(`${header}\nRss:                100 kB\n`), []);
  assert.deepEqual(trimmableRanges(""), []);
});

class CountingTrimmer implements MemoryTrimmer {
  calls: number[] = [];
  constructor(private readonly clock: FakeClock) {}
  trim(): TrimReport {
    this.calls.push(this.clock.now());
    return { rssBeforeKb: 50_000, rssAfterKb: 30_000, ranges: 2 };
  }
}

Deno.test("TrimScheduler: trims after a quiet period, rate limited, never without a poke", () => {
  const clock = new FakeClock(0);
  const trimmer = new CountingTrimmer(clock);
  const reports: TrimReport[] = [];
  const trims = new TrimScheduler(trimmer, clock, (r) => reports.push(r), {
    quietMs: 10_000,
    minIntervalMs: 60_000,
    maxDelayMs: 30_000,
  });
  clock.advance(600_000);
  assert.deepEqual(trimmer.calls, [], "idle daemon: no trim at all");

  trims.poke();
  clock.advance(5_000);
  trims.poke(); // still busy: the quiet period starts again
  clock.advance(9_999);
  assert.deepEqual(trimmer.calls, []);
  clock.advance(1);
  assert.deepEqual(trimmer.calls, [615_000]);
  assert.equal(reports.length, 1);

  trims.poke(); // right after a trim: waits for the minimum interval, not just the quiet period
  clock.advance(59_999);
  assert.deepEqual(trimmer.calls, [615_000]);
  clock.advance(1);
  assert.deepEqual(trimmer.calls, [615_000, 675_000]);
  assert.equal(clock.pending, 0);
});

Deno.test("TrimScheduler: pokes that never stop still trim after maxDelay; close cancels", () => {
  const clock = new FakeClock(0);
  const trimmer = new CountingTrimmer(clock);
  const trims = new TrimScheduler(trimmer, clock, undefined, {
    quietMs: 10_000,
    minIntervalMs: 60_000,
    maxDelayMs: 30_000,
  });
  for (let t = 0; t < 40_000; t += 2_000) {
    trims.poke();
    clock.advance(2_000);
  }
  assert.deepEqual(trimmer.calls, [30_000], "a flapping profile does not postpone the trim forever");
  trims.poke();
  trims.close();
  trims.poke();
  clock.advance(600_000);
  assert.deepEqual(trimmer.calls, [30_000]);
  assert.equal(clock.pending, 0);
});

Deno.test({
  name: "LinuxMemoryTrimmer: a real process drops clean code pages and keeps working",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const url = new URL("./memory_trim.ts", import.meta.url).href;
    // The child warms up a lot of runtime code (a subprocess, a TCP listener, file I/O), trims, then
    // exercises the same code again: it must still work, and the executable's read-only mappings must have
    // lost most of their resident pages. Measured on those mappings alone: the process RSS also moves with
    // the heap and with other threads, by megabytes on a busy machine.
    const code = `import { LinuxMemoryTrimmer } from "${url}";
      const exeResidentKb = () => {
        let kb = 0;
        for (const block of Deno.readTextFileSync("/proc/self/smaps").split(/\\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
          const header = block.slice(0, block.indexOf("\\n"));
          if (!/ r(-|x)-p /.test(header) || !header.endsWith(" " + Deno.execPath())) continue;
          kb += Number(block.match(/\\nRss:\\s+(\\d+) kB/)?.[1] ?? 0);
        }
        return kb;
      };
      const warm = async () => {
        const out = await new Deno.Command("/bin/echo", { args: ["hi"], stdout: "piped" }).output();
        const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const c = await Deno.connect({ hostname: "127.0.0.1", port: l.addr.port });
        const s = await l.accept();
        c.close(); s.close(); l.close();
        return new TextDecoder().decode(out.stdout).trim();
      };
      await warm();
      const exeBeforeKb = exeResidentKb();
      const report = new LinuxMemoryTrimmer().trim();
      const exeAfterKb = exeResidentKb();
      const again = await warm();
      console.log(JSON.stringify({ report, again, exeBeforeKb, exeAfterKb }));`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const result = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.equal(result.again, "hi", "runtime code still runs after its pages were dropped");
    assert.ok(result.report.ranges > 0, JSON.stringify(result));
    assert.ok(
      result.exeBeforeKb > 5_000,
      `the warm-up made the executable resident: ${JSON.stringify(result)}`,
    );
    assert.ok(
      result.exeAfterKb < result.exeBeforeKb / 2,
      `most of the executable's resident pages released: ${JSON.stringify(result)}`,
    );
  },
});
