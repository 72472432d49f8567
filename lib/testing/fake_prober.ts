/** A {@link Prober} for tests: no sockets, answers from a table. */
import type { Prober } from "../health/tcp_probe.ts";

/** A prober for tests: answers from a table (default down) and records every call. */
export class FakeProber implements Prober {
  /** Every probe, in order. */
  readonly calls: { ip: string; port: number; timeoutMs: number }[] = [];
  readonly #up = new Set<string>();
  /** When true, every address is up unless set down explicitly. */
  defaultUp: boolean;
  readonly #down = new Set<string>();

  /** A prober whose unknown addresses are down, or up with `defaultUp`. */
  constructor(defaultUp = false) {
    this.defaultUp = defaultUp;
  }

  /** Marks ip:port up or down. */
  set(ip: string, port: number, up: boolean): void {
    const key = `${ip}:${port}`;
    if (up) {
      this.#up.add(key);
      this.#down.delete(key);
    } else {
      this.#down.add(key);
      this.#up.delete(key);
    }
  }

  probe(ip: string, port: number, timeoutMs: number): Promise<boolean> {
    this.calls.push({ ip, port, timeoutMs });
    const key = `${ip}:${port}`;
    if (this.#up.has(key)) return Promise.resolve(true);
    if (this.#down.has(key)) return Promise.resolve(false);
    return Promise.resolve(this.defaultUp);
  }
}
