/**
 * Probe timings for the metrics: a Prober that passes every probe through and remembers, per address, how
 * long the newest probe took, whether it connected, and since when the address has been failing. It sits
 * outside the supervisor (the daemon wraps its prober), so the supervisor's probing stays as it is.
 */
import type { ProbeOutcome, Prober, ProbeSpec } from "../health/probe.ts";

/** What is known about the probes of one ip:port. */
export interface ProbeTiming {
  /** Duration of the newest probe, seconds. */
  seconds: number;
  /** The newest probe saw the forward working (`answered` or `held`). */
  ok: boolean;
  /** Wall time (ms) of the first failed probe in the current run of failures; undefined while it answers. */
  failingSince?: number;
}

/** Addresses remembered at most: far above any profile's forwards, a bound against address churn. */
export const MAX_PROBE_TIMINGS = 4096;

/** A Prober decorator recording {@link ProbeTiming}s; read them with {@link TimedProber.timing}. */
export class TimedProber implements Prober {
  readonly #inner: Prober;
  readonly #wallNow: () => number;
  readonly #elapsedNow: () => number;
  readonly #timings = new Map<string, ProbeTiming>();

  /** `wallNow` dates failures (the clock of the events); `elapsedNow` times probes (monotonic, ms). */
  constructor(inner: Prober, wallNow: () => number, elapsedNow: () => number = () => performance.now()) {
    this.#inner = inner;
    this.#wallNow = wallNow;
    this.#elapsedNow = elapsedNow;
  }

  async probe(spec: ProbeSpec, timeoutMs: number): Promise<ProbeOutcome> {
    const started = this.#elapsedNow();
    const outcome = await this.#inner.probe(spec, timeoutMs).catch((): ProbeOutcome => "refused");
    const ok = outcome === "answered" || outcome === "held";
    const key = `${spec.ip}:${spec.port}`;
    const before = this.#timings.get(key);
    const timing: ProbeTiming = { seconds: Math.max(0, this.#elapsedNow() - started) / 1000, ok };
    if (!ok) timing.failingSince = before?.failingSince ?? this.#wallNow();
    this.#timings.delete(key); // re-inserted last: the oldest entry goes first when the cap is reached
    this.#timings.set(key, timing);
    if (this.#timings.size > MAX_PROBE_TIMINGS) this.#timings.delete(this.#timings.keys().next().value!);
    return outcome;
  }

  /** What is known about ip:port, or undefined before its first probe. */
  timing(ip: string, port: number): Readonly<ProbeTiming> | undefined {
    return this.#timings.get(`${ip}:${port}`);
  }
}
