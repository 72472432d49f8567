/**
 * The Prometheus endpoint across reloads: binds the configured address, rebinds when `reload` changes it,
 * and never takes the daemon down with it. A failed bind leaves the daemon supervising (its job) with the
 * previous endpoint, or none, and says why.
 */
import { formatListenAddress } from "../config/listen_address.ts";
import type { MetricsSettings } from "../config/types.ts";
import { MetricsEndpoint } from "./http_endpoint.ts";

/** What the control needs from the daemon. */
export interface EndpointControlDeps {
  /** The exposition text of one scrape. */
  render: () => string;
  /** Log lines: where it listens, why it could not. */
  log: (level: "info" | "error", message: string) => void;
}

/** Owns the one endpoint of the daemon. */
export class EndpointControl {
  readonly #deps: EndpointControlDeps;
  #endpoint: MetricsEndpoint | undefined;
  #settings: MetricsSettings | undefined;

  /** No endpoint until {@link apply}. */
  constructor(deps: EndpointControlDeps) {
    this.#deps = deps;
  }

  /** Where it listens (the bound port when 0 was configured), or null when off. */
  get address(): string | null {
    return this.#endpoint?.address ?? null;
  }

  /**
   * Makes the endpoint match `next` (undefined: off). Returns why it could not, or undefined. When the new
   * address cannot be bound, the previous endpoint is bound again, so a typo in a reload costs nothing.
   */
  async apply(next: MetricsSettings | undefined): Promise<string | undefined> {
    const current = this.#settings;
    if (current?.hostname === next?.hostname && current?.port === next?.port) return undefined;
    await this.close();
    if (next === undefined) {
      if (current) this.#deps.log("info", `metrics endpoint on ${formatListenAddress(current)} closed`);
      return undefined;
    }
    const problem = this.#bind(next);
    if (problem === undefined) return undefined;
    let text = `cannot serve metrics on ${formatListenAddress(next)}: ${problem}`;
    if (current !== undefined) {
      text += this.#bind(current) === undefined
        ? `; still serving on ${this.address}`
        : `; the previous address ${formatListenAddress(current)} could not be bound again either`;
    }
    this.#deps.log("error", text);
    return text;
  }

  /** Closes the endpoint (shutdown). */
  async close(): Promise<void> {
    const endpoint = this.#endpoint;
    this.#endpoint = undefined;
    this.#settings = undefined;
    await endpoint?.close();
  }

  #bind(settings: MetricsSettings): string | undefined {
    try {
      this.#endpoint = MetricsEndpoint.listen({
        hostname: settings.hostname,
        port: settings.port,
        render: this.#deps.render,
        onError: (e) => this.#deps.log("error", `metrics endpoint: ${e instanceof Error ? e.message : e}`),
      });
      this.#settings = settings;
      this.#deps.log("info", `metrics endpoint listening on http://${this.#endpoint.address}/metrics`);
      return undefined;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }
}
