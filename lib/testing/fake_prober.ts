/** A {@link Prober} for tests: no sockets, answers from a table. */
import type { ProbeOutcome, Prober, ProbeSpec } from "../health/probe.ts";

/** A prober for tests: answers from a table (default refused) and records every call. */
export class FakeProber implements Prober {
  /** Every probe, in order. */
  readonly calls: { ip: string; port: number; timeoutMs: number; mode: ProbeSpec["mode"] }[] = [];
  readonly #table = new Map<string, ProbeOutcome>();
  /** When true, every address answers unless set otherwise. */
  defaultUp: boolean;

  /** A prober whose unknown addresses are refused, or answer with `defaultUp`. */
  constructor(defaultUp = false) {
    this.defaultUp = defaultUp;
  }

  /** Marks ip:port answering (`true`), refused (`false`) or any other outcome. */
  set(ip: string, port: number, outcome: boolean | ProbeOutcome): void {
    this.#table.set(`${ip}:${port}`, outcome === true ? "answered" : outcome === false ? "refused" : outcome);
  }

  probe(spec: ProbeSpec, timeoutMs: number): Promise<ProbeOutcome> {
    this.calls.push({ ip: spec.ip, port: spec.port, timeoutMs, mode: spec.mode });
    const outcome = this.#table.get(`${spec.ip}:${spec.port}`);
    return Promise.resolve(outcome ?? (this.defaultUp ? "answered" : "refused"));
  }
}
