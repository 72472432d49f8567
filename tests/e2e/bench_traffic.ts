/**
 * Pieces of the e2e bench that observe or disturb the machine: steady HTTP traffic through forwarded
 * hostnames (so a fault's cost is counted in failed requests, not only in time to recovery) and a CPU load
 * that keeps every core busy, as on a laptop that compiles.
 */

/**
 * One request of a {@link TrafficLoop}: when it was sent (ms since epoch), whether it succeeded, and if not
 * curl's exit code (7 refused, 28 timeout, 52 empty reply, 56 reset; 0: an answer from the wrong server).
 */
export interface Sample {
  at: number;
  ok: boolean;
  curlExit?: number;
}

/** GET through the forwarded hostname with curl: the body, or curl's exit code. */
async function get(url: string, timeoutS: number): Promise<{ body?: string; exit: number }> {
  const out = await new Deno.Command("curl", {
    args: ["-s", "--max-time", String(timeoutS), "--noproxy", "*", url],
    stdout: "piped",
    stderr: "null",
  }).output();
  return out.success ? { body: new TextDecoder().decode(out.stdout), exit: 0 } : { exit: out.code };
}

/**
 * Sends a GET to each URL every `intervalMs` (requests overlap when answers are slow: the rate stays what a
 * client would send) and keeps every result. A request succeeds when the body names the expected echo server.
 */
export class TrafficLoop {
  readonly samples = new Map<string, Sample[]>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #pending = new Set<Promise<void>>();

  constructor(readonly urls: Record<string, string>, readonly intervalMs: number, readonly timeoutS = 1) {
    for (const url of Object.keys(urls)) this.samples.set(url, []);
  }

  start(): void {
    this.#timer = setInterval(() => {
      for (const [url, expected] of Object.entries(this.urls)) {
        const at = Date.now();
        const p = get(url, this.timeoutS).then(({ body, exit }) => {
          const ok = body?.includes(`echo name=${expected} `) ?? false;
          this.samples.get(url)!.push(ok ? { at, ok } : { at, ok, curlExit: exit });
        });
        this.#pending.add(p);
        p.finally(() => this.#pending.delete(p));
      }
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all([...this.#pending]);
  }

  /** Samples of `url` sent in [from, to). */
  between(url: string, from: number, to: number): Sample[] {
    return (this.samples.get(url) ?? []).filter((s) => s.at >= from && s.at < to).sort((a, b) => a.at - b.at);
  }

  /** Whether the last request to `url` sent before `at` failed (undefined: none was sent yet). */
  failingAt(url: string, at: number): boolean | undefined {
    const before = this.between(url, 0, at);
    return before.length ? !before[before.length - 1].ok : undefined;
  }
}

/** Busy loops on every core until stopped; `undefined` when `mode` is "idle". */
export function cpuLoad(mode: "idle" | "busy"): { stop(): Promise<void> } | undefined {
  if (mode === "idle") return undefined;
  const children = Array.from(
    { length: navigator.hardwareConcurrency },
    () =>
      new Deno.Command("sh", { args: ["-c", "exec yes > /dev/null"], stdin: "null", stdout: "null" })
        .spawn(),
  );
  return {
    async stop() {
      for (const c of children) {
        try {
          c.kill("SIGKILL");
        } catch { /* gone */ }
      }
      await Promise.all(children.map((c) => c.status));
    },
  };
}

/** The 1-minute load average ("?" when unknown): a result from a machine shared with other work needs it. */
export function loadavg(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ")[0];
  } catch {
    return "?";
  }
}
