/**
 * One probe round over a child's forwards: every forward is probed through (lib/health), and a forward whose
 * address lost its hosts line counts as dead too (another kubefwd rewriting the file can drop it; the name then no
 * longer resolves although the listener answers).
 */
import type { Prober } from "../health/probe.ts";
import { DEFAULT_HOSTS_PATH } from "../kubefwd/argv.ts";
import { addressesWithNames } from "../kubefwd/hosts.ts";
import type { KubefwdVersion } from "../kubefwd/types.ts";
import { kubefwdSupports } from "../kubefwd/version.ts";
import type { ProbeResult, ProbeTarget } from "./forward_tracker.ts";

/** Where the probes look for hosts lines; `read` undefined: not checked. */
export interface HostsCheck {
  /** Reads the hosts file. */
  read?: (path: string) => Promise<string>;
  /** The hosts file the child writes. */
  path: string;
  /** The child's kubefwd version: 1.22.x always writes the OS default file. */
  version: KubefwdVersion;
}

/** Probes every target at once; never rejects (a failing probe is a dead forward). */
export async function probeForwards(
  targets: ProbeTarget[],
  prober: Prober,
  timeoutMs: number,
  hosts: HostsCheck,
): Promise<ProbeResult[]> {
  const [named, ...listening] = await Promise.all([
    addressesInHostsFile(hosts),
    ...targets.map((t) =>
      prober.probe({ ip: t.ip, port: t.port, mode: t.mode, host: t.host }, timeoutMs).catch(() =>
        "timeout" as const
      )
    ),
  ]);
  return targets.map((target, i) => ({
    target,
    outcome: named !== undefined && !named.has(target.ip) ? "unnamed" : listening[i],
  }));
}

/**
 * Addresses with a line in the hosts file the child writes, or undefined when that cannot be checked: no
 * reader, an unreadable file, or 1.22.x with a custom hosts_path (1.22.x always writes the OS default file).
 */
async function addressesInHostsFile(hosts: HostsCheck): Promise<Set<string> | undefined> {
  if (hosts.read === undefined) return undefined;
  if (!kubefwdSupports(hosts.version, "hostsPath") && hosts.path !== DEFAULT_HOSTS_PATH) return undefined;
  try {
    return addressesWithNames(await hosts.read(hosts.path));
  } catch {
    return undefined;
  }
}
