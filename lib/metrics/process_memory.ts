/**
 * The daemon's own memory as Linux reports it: resident (VmRSS) and unique (private clean + private dirty
 * of /proc/self/smaps_rollup: what this process alone costs; the `deno` executable's shared pages are
 * not in it). Elsewhere (macOS) resident comes from Deno.memoryUsage and unique is unknown.
 */

/** Resident and unique set size in bytes; null when unknown. */
export interface ProcessMemory {
  /** Resident set size. */
  residentBytes: number | null;
  /** Unique set size (private pages). */
  privateBytes: number | null;
}

/** VmRSS of a /proc/<pid>/status text, in bytes; null when absent. */
export function residentFromStatus(text: string): number | null {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(text);
  return m ? Number(m[1]) * 1024 : null;
}

/** Private_Clean + Private_Dirty of a smaps_rollup text, in bytes; null when either is absent. */
export function privateFromRollup(text: string): number | null {
  const clean = /^Private_Clean:\s+(\d+) kB$/m.exec(text);
  const dirty = /^Private_Dirty:\s+(\d+) kB$/m.exec(text);
  return clean && dirty ? (Number(clean[1]) + Number(dirty[1])) * 1024 : null;
}

/** This process's memory now; `read` is the file reader (tests pass fixtures). */
export function processMemory(read: (path: string) => string = Deno.readTextFileSync): ProcessMemory {
  const attempt = <T>(f: () => T | null): T | null => {
    try {
      return f();
    } catch {
      return null;
    }
  };
  const resident = attempt(() => residentFromStatus(read("/proc/self/status"))) ??
    attempt(() => Deno.memoryUsage().rss);
  return {
    residentBytes: resident,
    privateBytes: attempt(() => privateFromRollup(read("/proc/self/smaps_rollup"))),
  };
}
