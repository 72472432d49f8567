/**
 * Working-set trim of the idle daemon (Linux only).
 *
 * The Deno runtime is ~95 MB of machine code and read-only data mapped from its executable. Starting up
 * (module loading, the config-resolution child, the first spawns) runs a large part of it once; those
 * pages stay mapped and count in the daemon's RSS although the idle daemon never runs them again.
 * `madvise(MADV_DONTNEED)` on a read-only, private, file-backed mapping that holds no privately modified
 * page only removes page-table entries: a page that is used again is faulted back from the page cache
 * with the same bytes. This is what Android does to background apps ("app compaction"); here it runs when
 * the daemon has gone quiet after a burst of one-off work (startup, reload, a restart), see
 * {@link TrimScheduler}. Anonymous memory (the JS heap, malloc, stacks) and writable or relocated
 * mappings are never touched.
 */
import type { Clock, TimerHandle } from "../clock.ts";

/** One mapping of /proc/self/smaps that may be trimmed. */
export interface TrimmableRange {
  /** First address of the mapping. */
  start: bigint;
  /** End address (exclusive). */
  end: bigint;
  /** Resident kB at the time smaps was read. */
  rssKb: number;
  /** Backing file: only the executable and shared libraries are trimmed. */
  path: string;
}

/**
 * The mappings of an smaps text that are safe to drop: read-only (`r--p` or `r-xp`), private, backed
 * by a file that still exists, resident, and holding no page of its own: no private dirty page, no
 * anonymous (copy-on-write) page, nothing swapped. A relocated or written page would be reverted to the
 * file's bytes by MADV_DONTNEED, so any such page disqualifies the whole mapping. `eligiblePath` limits
 * it further to files that stay mapped for the life of the process.
 */
export function trimmableRanges(
  smaps: string,
  eligiblePath: (path: string) => boolean = () => true,
): TrimmableRange[] {
  const ranges: TrimmableRange[] = [];
  for (const block of smaps.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const newline = block.indexOf("\n");
    const header = newline < 0 ? block : block.slice(0, newline);
    const m = header.match(
      /^([0-9a-f]+)-([0-9a-f]+) (r--p|r-xp) [0-9a-f]+ [0-9a-f]+:[0-9a-f]+ (\d+) +(\/.*)$/,
    );
    if (!m || m[4] === "0" || m[5].endsWith(" (deleted)") || !eligiblePath(m[5])) continue;
    const field = (name: string) => {
      const f = block.match(new RegExp(`\\n${name}:\\s+(\\d+) kB`));
      return f ? Number(f[1]) : undefined;
    };
    const rss = field("Rss");
    // Anonymous covers copy-on-write copies even when clean again (swapped out and back in).
    if (field("Private_Dirty") !== 0 || field("Anonymous") !== 0 || (field("Swap") ?? 0) !== 0) continue;
    if (rss === undefined || rss === 0) continue;
    ranges.push({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), rssKb: rss, path: m[5] });
  }
  return ranges;
}

/**
 * The executable and shared libraries stay mapped for the life of the process, so no other thread can
 * unmap one and reuse its addresses between reading smaps and madvise. Only they are trimmed.
 */
export function mappedForLife(path: string, executable: string): boolean {
  return path === executable || /\.so(\.\d+)*$/.test(path);
}

/** What one trim did. */
export interface TrimReport {
  /** RSS in kB before and right after the trim. */
  rssBeforeKb: number;
  /** RSS right after the trim, in kB. */
  rssAfterKb: number;
  /** Number of mappings trimmed. */
  ranges: number;
}

/** Releases clean code pages; the daemon calls it when it has just finished one-off work. */
export interface MemoryTrimmer {
  /** Trim now; undefined when trimming is not possible on this system. */
  trim(): TrimReport | undefined;
}

const MADV_DONTNEED = 4;

/** Resident set size in kB of a process (this one by default), from /proc; NaN when unreadable. */
export function residentKb(pid: number | "self" = "self"): number {
  const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) : NaN;
}

/**
 * The real trimmer: glibc's or musl's `madvise` through Deno's FFI. Inert (trim returns undefined) when
 * not on Linux, when /proc is missing, or when the C library cannot be opened.
 */
export class LinuxMemoryTrimmer implements MemoryTrimmer {
  #madvise?: (addr: bigint, length: bigint, advice: number) => number;
  #unavailable = Deno.build.os !== "linux";

  trim(): TrimReport | undefined {
    if (this.#unavailable) return undefined;
    try {
      this.#madvise ??= openMadvise();
      const before = residentKb();
      const exe = Deno.execPath();
      const ranges = trimmableRanges(
        Deno.readTextFileSync("/proc/self/smaps"),
        (path) => mappedForLife(path, exe),
      );
      let trimmed = 0;
      for (const r of ranges) {
        if (this.#madvise(r.start, r.end - r.start, MADV_DONTNEED) === 0) trimmed++;
      }
      return { rssBeforeKb: before, rssAfterKb: residentKb(), ranges: trimmed };
    } catch {
      this.#unavailable = true;
      return undefined;
    }
  }
}

function openMadvise(): (addr: bigint, length: bigint, advice: number) => number {
  const symbols = { madvise: { parameters: ["usize", "usize", "i32"], result: "i32" } } as const;
  for (const name of ["libc.so.6", `libc.musl-${Deno.build.arch}.so.1`]) {
    try {
      const lib = Deno.dlopen(name, symbols);
      return (addr, length, advice) => lib.symbols.madvise(addr, length, advice) as number;
    } catch { /* try the next C library */ }
  }
  throw new Error("no C library to call madvise");
}

/** Timing of {@link TrimScheduler}. */
export interface TrimSchedule {
  /** Trim once nothing happened for this long. */
  quietMs: number;
  /** Never trim more often than this: a flapping profile must not turn trimming into a page-fault loop. */
  minIntervalMs: number;
  /** Trim at most this long after the first poke even if pokes keep coming (no starvation). */
  maxDelayMs: number;
}

/** Default: 10 s of quiet (at most 60 s after the first poke), at most once a minute. */
export const DEFAULT_TRIM_SCHEDULE: TrimSchedule = {
  quietMs: 10_000,
  minIntervalMs: 60_000,
  maxDelayMs: 60_000,
};

/**
 * Decides when to trim: {@link poke} on every burst of one-off work (startup, reload, a child's state
 * change); the trim runs after a quiet period, rate limited. Without pokes it never runs, so an idle
 * daemon does no periodic work for it.
 */
export class TrimScheduler {
  #timer?: TimerHandle;
  #firstPokeAt?: number;
  #lastTrimAt = Number.NEGATIVE_INFINITY;
  #closed = false;

  /** `onTrim` receives each trim's report for the debug log; `schedule` is shortened by tests. */
  constructor(
    private readonly trimmer: MemoryTrimmer,
    private readonly clock: Clock,
    private readonly onTrim: (report: TrimReport) => void = () => {},
    private readonly schedule: TrimSchedule = DEFAULT_TRIM_SCHEDULE,
  ) {}

  /** Something one-off just ran: (re)start the quiet period. */
  poke(): void {
    if (this.#closed) return;
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    const now = this.clock.now();
    this.#firstPokeAt ??= now;
    const due = Math.max(
      Math.min(now + this.schedule.quietMs, this.#firstPokeAt + this.schedule.maxDelayMs),
      this.#lastTrimAt + this.schedule.minIntervalMs,
    );
    this.#timer = this.clock.setTimeout(() => this.#run(), Math.max(0, due - now));
  }

  /** Cancel the pending trim; later pokes are ignored (daemon shutdown). */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #run(): void {
    this.#timer = undefined;
    this.#firstPokeAt = undefined;
    this.#lastTrimAt = this.clock.now();
    const report = this.trimmer.trim();
    if (report) this.onTrim(report);
  }
}
