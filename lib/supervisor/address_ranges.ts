/**
 * Which 127.N ranges belong to this daemon's profiles, and the guard that keeps every hosts-file cleanup
 * inside them. Each configured profile has one base address (kept in its record across restarts); every base
 * ever assigned stays owned, so a stopping child of a removed and re-added name still cleans its old range.
 */
import type { ProfileSpec } from "../config/types.ts";
import type { HostsFile } from "../kubefwd/hosts.ts";
import { allocateBaseIp, isUsableBaseIp, ownedIps } from "./ip_alloc.ts";
import type { ProfileRecord } from "./profile_record.ts";

/** The base addresses of the configured profiles, and every base this daemon ever assigned. */
export class AddressRanges {
  /** Each configured profile's current base address. */
  readonly #bases = new Map<string, string>();
  /**
   * Every base address this daemon ever assigned, removed and re-added profiles included: the hosts lines
   * it may remove (a retiring child of a re-added name still cleans its old range).
   */
  readonly #everBases = new Set<string>();

  /** The profile's current base address, if it has one. */
  baseOf(name: string): string | undefined {
    return this.#bases.get(name);
  }

  /** Every base address ever assigned (a live view: later assignments appear in it). */
  get everAssigned(): Iterable<string> {
    return this.#everBases;
  }

  /**
   * Keeps every valid, unshared persisted base IP; gives the others the lowest free 127.N.27.1. `taken`
   * are the bases of profiles still stopping, which no profile may share.
   */
  assign(specs: ProfileSpec[], record: (name: string) => ProfileRecord, taken: string[]): void {
    const used = [...taken];
    const needing: [string, ProfileRecord][] = [];
    for (const spec of specs) {
      const r = record(spec.name);
      if (isUsableBaseIp(r.baseIp, used)) {
        used.push(r.baseIp);
        this.#bases.set(spec.name, r.baseIp);
        this.#everBases.add(r.baseIp);
      } else needing.push([spec.name, r]);
    }
    for (const [name, r] of needing) {
      const ip = allocateBaseIp(used);
      r.setBaseIp(ip);
      used.push(ip);
      this.#bases.set(name, ip);
      this.#everBases.add(ip);
    }
  }
}

/**
 * The hosts file, restricted to the lines of the given profile ranges: any other address (127.0.0.1, ::1,
 * another program's 127.x) is never removed, whatever a state file or a child's output claims. `bases` is
 * read at each removal; `refused` hears of the addresses left alone.
 */
export function restrictToRanges(
  hosts: HostsFile,
  bases: () => Iterable<string | undefined>,
  refused: (ips: string[]) => void,
): HostsFile {
  return {
    removeEntries: (ips) => {
      const allowed = ownedIps(ips, bases());
      const outside = ips.filter((ip) => !allowed.includes(ip));
      if (outside.length > 0) refused(outside);
      return allowed.length > 0 ? hosts.removeEntries(allowed) : Promise.resolve(0);
    },
  };
}
