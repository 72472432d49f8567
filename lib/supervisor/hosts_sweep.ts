/**
 * The daemon's last line of defence for the hosts file: with a profile's child gone, no line of its
 * addresses may stay. kubefwd children that exit at the same moment rewrite the file concurrently without a
 * lock (docs/kubefwd-compatibility.md#multiple-instances), so one child's cleanup can bring back lines
 * another child had just removed: the sweeper removes them again, by address.
 */
import type { Clock, TimerHandle } from "../clock.ts";
import type { HostsFile } from "../kubefwd/hosts.ts";

/** Second sweep of a removed profile's addresses, after concurrent kubefwd hosts writes have settled. */
export const RETIRED_SWEEP_SETTLE_MS = 3000;

/** What the sweeper needs from the Supervisor. */
export interface HostsSweeperDeps {
  /** Timer of the second sweep. */
  clock: Clock;
  /** The hosts file restricted to the daemon's ranges; undefined before the first config. */
  hosts: () => HostsFile | undefined;
  /** Addresses the current profiles use (a re-added name's): never swept as retired. */
  liveIps: () => string[];
  /** True once the daemon shuts down: the final sweep takes over. */
  shuttingDown: () => boolean;
  /** The daemon's log. */
  log: (level: "warn" | "error", message: string) => void;
}

/** Sweeps the addresses of removed profiles, and everything once more at shutdown. */
export class HostsSweeper {
  readonly #deps: HostsSweeperDeps;
  /** Addresses of profiles removed from the config: no line of them may stay in the hosts file. */
  readonly #retiredIps = new Set<string>();
  #timer: TimerHandle | undefined;

  /** A sweeper with nothing retired yet. */
  constructor(deps: HostsSweeperDeps) {
    this.#deps = deps;
  }

  /**
   * A removed profile's kubefwd cleans its lines as it exits, but another profile's kubefwd writing the file
   * at the same moment can bring them back (no lock between processes): sweep the removed profile's
   * addresses now and once more after the other writers have settled. Addresses a current profile uses again
   * (same name re-added) are left alone.
   */
  retire(ips: Iterable<string>): void {
    for (const ip of ips) this.#retiredIps.add(ip);
    const sweep = () => {
      const live = new Set(this.#deps.liveIps());
      return this.#sweep([...this.#retiredIps].filter((ip) => !live.has(ip)));
    };
    if (this.#deps.shuttingDown()) return;
    void sweep();
    if (this.#timer !== undefined) this.#deps.clock.clearTimeout(this.#timer);
    this.#timer = this.#deps.clock.setTimeout(() => {
      this.#timer = undefined;
      if (!this.#deps.shuttingDown()) void sweep();
    }, RETIRED_SWEEP_SETTLE_MS);
  }

  /** With every child gone: the retired addresses and `ips` (the last profiles'), once more. */
  async final(ips: string[]): Promise<void> {
    if (this.#timer !== undefined) this.#deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#sweep([...this.#retiredIps, ...ips]);
  }

  async #sweep(ips: string[]): Promise<void> {
    if (ips.length === 0) return;
    try {
      const hosts = this.#deps.hosts();
      if (hosts === undefined) return;
      const removed = await hosts.removeEntries(ips);
      if (removed > 0) {
        this.#deps.log(
          "warn",
          `final sweep removed ${removed} stale hosts name(s) of this daemon's profiles`,
        );
      }
    } catch (e) {
      this.#deps.log("error", `final hosts sweep failed: ${(e as Error).message}`);
    }
  }
}
