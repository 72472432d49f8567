/**
 * Per-profile IP ranges. kubefwd numbers addresses from `baseUnreservedIP` as base + (0, cluster, namespace,
 * counter), so a profile whose base is 127.N.27.1 stays inside 127.N.x.x as long as it has one context.
 * Giving every profile its own N keeps two kubefwd processes off each other's addresses
 * (docs/kubefwd-compatibility.md#ip-allocation).
 */

/** First second octet handed out: 127.0.x is localhost, 127.1.x is kubefwd's default, 127.2.27.1 its API. */
export const FIRST_PROFILE_OCTET = 3;

/** The second octet of a 127.N.… address, or undefined when `ip` is not one. */
export function profileOctet(ip: string): number | undefined {
  const m = /^127\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(ip);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n <= 255 ? n : undefined;
}

/**
 * The base address for a new profile: `127.<N>.27.1` with the smallest N ≥ {@link FIRST_PROFILE_OCTET} whose
 * 127.N.x.x range no address in `used` touches. Throws when all 253 ranges are taken.
 */
export function allocateBaseIp(used: string[]): string {
  const taken = new Set<number>();
  for (const ip of used) {
    const n = profileOctet(ip);
    if (n !== undefined) taken.add(n);
  }
  for (let n = FIRST_PROFILE_OCTET; n <= 255; n++) {
    if (!taken.has(n)) return `127.${n}.27.1`;
  }
  throw new Error("no free 127.N.0.0/16 range left for another profile (at most 253 profiles)");
}

/** Whether a persisted base address is still acceptable: in the profile area and not shared. */
export function isUsableBaseIp(ip: string | undefined, others: string[]): ip is string {
  if (ip === undefined) return false;
  if (!/^127\.\d{1,3}\.27\.1$/.test(ip)) return false;
  const n = profileOctet(ip);
  if (n === undefined || n < FIRST_PROFILE_OCTET) return false;
  return !others.some((o) => profileOctet(o) === n);
}

/**
 * The addresses of `ips` that lie inside one of the profile ranges of `baseIps` (127.N.x.y for a base
 * 127.N.27.1; bases outside the profile area count for nothing). Every hosts cleanup passes through it: the
 * daemon may only ever remove lines of its own ranges, whatever a state file or a child claims.
 */
export function ownedIps(ips: readonly string[], baseIps: Iterable<string | undefined>): string[] {
  const octets = new Set<number>();
  for (const base of baseIps) {
    if (isUsableBaseIp(base, [])) octets.add(profileOctet(base)!);
  }
  return ips.filter((ip) => {
    const n = profileOctet(ip);
    return n !== undefined && octets.has(n) && ip.split(".").every((part) => String(Number(part)) === part);
  });
}
