/**
 * Stable addresses across kubefwd restarts: which service had which address, and the `serviceConfigurations`
 * of the `-z` file that ask the next kubefwd for the same ones. kubefwd picks a reservation by comparing its
 * `name` with a list of names it derives for each forward (service, pod, namespace, context combinations) and
 * takes the **first** entry of the file that matches, so the order of the entries matters
 * (docs/kubefwd-compatibility.md#stable-addresses). Pure functions only.
 */
import { LONG_WITH_VALUE, SHORT_WITH_VALUE } from "./argv.ts";
import type { ForwardAnnouncement } from "./types.ts";

/** One address kubefwd handed out, as remembered between runs. */
export interface AddressRecord {
  /**
   * kubefwd's own name for the forward: the service name, or `<pod>.<service>` for the per-pod forwards of a
   * headless service.
   */
  service: string;
  /** The namespace of the service. */
  namespace: string;
  /** The pod the forward went to when it was announced (decides which other reservations it also matches). */
  pod: string;
  /** The local address. */
  ip: string;
  /** When a kubefwd last announced this address for this forward (ISO 8601). */
  seenAt: string;
}

/** One `serviceConfigurations` entry of the `-z` file. */
export interface Reservation {
  /** The name kubefwd compares with its names of a forward: `<service>.<namespace>`. */
  name: string;
  /** The address asked for. */
  ip: string;
}

/** Remembered addresses unseen for longer than this are forgotten (a deleted service frees its address). */
export const ADDRESS_MEMORY_MS = 30 * 24 * 3600 * 1000;
/** Most addresses remembered per profile; the ones seen longest ago go first. */
export const MAX_REMEMBERED_ADDRESSES = 512;

/** A DNS label or subdomain as Kubernetes allows for names (lower case, digits, `-`, `.`). */
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const IPV4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Whether `ip` is a dotted 127.x.y.z address with octets 0–255 and no leading zeros. */
function isLoopbackIp(ip: string): boolean {
  const m = IPV4.exec(ip);
  return m !== null && m.slice(1).every((o) => String(Number(o)) === o && Number(o) <= 255);
}

/** The reservation name of a remembered forward: `<service>.<namespace>` (see the module doc). */
export function reservationName(record: Pick<AddressRecord, "service" | "namespace">): string {
  return `${record.service}.${record.namespace}`;
}

/**
 * What a `Port-Forward:` line says about the address of one forward, or undefined when the line cannot be
 * attributed (a namespace the profile does not list, a malformed address). The hostname is `<name>` in the
 * first namespace and `<name>.<namespace>` in later ones, where `<name>` is the service or `<pod>.<service>`
 * (service names have no dots, so whatever follows the name is the namespace).
 */
export function addressOfForward(
  forward: ForwardAnnouncement,
  namespaces: readonly string[],
): Omit<AddressRecord, "seenAt"> | undefined {
  const { hostname, pod, ip } = forward;
  if (!isLoopbackIp(ip) || !NAME.test(pod) || !NAME.test(hostname)) return undefined;
  const podPrefix = `${pod}.`;
  const perPod = hostname.startsWith(podPrefix);
  const rest = perPod ? hostname.slice(podPrefix.length) : hostname;
  const dot = rest.indexOf(".");
  const service = dot < 0 ? rest : rest.slice(0, dot);
  const namespace = dot < 0 ? namespaces[0] : rest.slice(dot + 1);
  if (service === "" || namespace === undefined || !namespaces.includes(namespace)) return undefined;
  // A later namespace's forward always carries its namespace; a bare name belongs to the first one only.
  if (dot >= 0 && namespaces.indexOf(namespace) === 0) return undefined;
  return { service: perPod ? `${pod}.${service}` : service, namespace, pod, ip };
}

/**
 * kubefwd's names for a forward (its `MatchList`, identical in 1.22.3 and v1.25.16) for the first cluster,
 * which is the only one a profile has: a reservation whose name is in this list applies to the forward.
 * Names with the context are left out when the context is not known (the kubeconfig's current one).
 */
export function kubefwdMatchNames(
  forward: Pick<AddressRecord, "service" | "namespace" | "pod">,
  namespaceIndex: number,
  context: string | undefined,
): string[] {
  const { service: s, pod: p, namespace: n } = forward;
  const c = context;
  const names: (string | false)[] = namespaceIndex === 0
    ? [
      p,
      s,
      `${s}.svc`,
      `${p}.${s}`,
      c !== undefined && `${p}.${c}`,
      c !== undefined && `${s}.${c}`,
      `${p}.${n}`,
      `${p}.${n}.svc`,
      `${p}.${n}.svc.cluster.local`,
      `${s}.${n}`,
      `${s}.${n}.svc`,
      `${s}.${n}.svc.cluster.local`,
      `${p}.${s}.${n}`,
      `${p}.${s}.${n}.svc`,
      `${p}.${s}.${n}.svc.cluster.local`,
      c !== undefined && `${p}.${s}.${c}`,
    ]
    : [
      `${p}.${n}`,
      `${p}.${n}.svc`,
      `${s}.${n}`,
      `${s}.${n}.svc`,
      `${s}.${n}.svc.cluster.local`,
      `${p}.${s}.${n}`,
      `${p}.${s}.${n}.svc`,
      `${p}.${s}.${n}.svc.cluster.local`,
    ];
  if (c !== undefined) {
    names.push(
      `${p}.${n}.${c}`,
      `${p}.${n}.svc.${c}`,
      `${p}.${n}.svc.cluster.${c}`,
      `${s}.${n}.${c}`,
      `${s}.${n}.svc.${c}`,
      `${s}.${n}.svc.cluster.${c}`,
      `${p}.${s}.${n}.${c}`,
      `${p}.${s}.${n}.svc.${c}`,
      `${p}.${s}.${n}.svc.cluster.${c}`,
    );
  }
  return names.filter((x): x is string => x !== false);
}

/**
 * The remembered addresses after a kubefwd announced `address` at `now`, or undefined when nothing changed
 * worth a write (same address, seen less than an hour ago). The newest announcement wins: another forward
 * remembered on the same address is forgotten (kubefwd gave it away, so it is no longer that forward's).
 * Entries unseen for {@link ADDRESS_MEMORY_MS} are dropped, and at most {@link MAX_REMEMBERED_ADDRESSES} kept.
 */
export function rememberAddress(
  records: readonly AddressRecord[],
  address: Omit<AddressRecord, "seenAt">,
  now: number,
): AddressRecord[] | undefined {
  const name = reservationName(address);
  const same = records.find((r) => reservationName(r) === name);
  if (
    same !== undefined && same.ip === address.ip && same.pod === address.pod &&
    now - Date.parse(same.seenAt) < 3600_000
  ) {
    return undefined;
  }
  const kept = records.filter((r) =>
    reservationName(r) !== name && r.ip !== address.ip && now - Date.parse(r.seenAt) < ADDRESS_MEMORY_MS
  );
  kept.push({ ...address, seenAt: new Date(now).toISOString() });
  if (kept.length <= MAX_REMEMBERED_ADDRESSES) return kept;
  return [...kept].sort((a, b) => Date.parse(b.seenAt) - Date.parse(a.seenAt))
    .slice(0, MAX_REMEMBERED_ADDRESSES);
}

/** What {@link planReservations} needs besides the remembered addresses. */
export interface ReservationContext {
  /** The namespaces in the order kubefwd gets them (`-n`): the first one has the short names. */
  namespaces: readonly string[];
  /** The context passed with `-x`, when there is one. */
  context: string | undefined;
  /** The profile's `baseUnreservedIP`: only addresses of its 127.N range are asked for. */
  baseIp: string;
  /** The user's own `-r name:ip` reservations (extra_args): they win over remembered addresses. */
  userReservations: readonly Reservation[];
}

/**
 * The `serviceConfigurations` that give every remembered forward its address again, in an order in which
 * kubefwd's first-match rule picks each forward's own entry. A forward also matches the entries of other
 * forwards (the service-wide forward of a headless service matches the per-pod entry of its first pod, since
 * `<pod>.<service>.<namespace>` is one of its names), so each entry comes before every other entry its forward
 * matches. Left out: addresses outside the profile's range, forwards of namespaces the profile no longer
 * lists, forwards or addresses the user reserved, and entries whose order cannot be satisfied.
 */
export function planReservations(
  records: readonly AddressRecord[],
  context: ReservationContext,
): Reservation[] {
  const octet = IPV4.exec(context.baseIp)?.[1];
  const userIps = new Set(context.userReservations.map((r) => r.ip));
  const userNames = context.userReservations.map((r) => r.name);
  const seenNames = new Set<string>();
  const seenIps = new Set<string>();
  const candidates: { name: string; ip: string; matches: Set<string> }[] = [];
  for (const record of [...records].sort((a, b) => Date.parse(b.seenAt) - Date.parse(a.seenAt))) {
    const index = context.namespaces.indexOf(record.namespace);
    const name = reservationName(record);
    if (
      index < 0 || !isLoopbackIp(record.ip) || IPV4.exec(record.ip)?.[1] !== octet ||
      userIps.has(record.ip) ||
      seenNames.has(name) || seenIps.has(record.ip) || !NAME.test(name)
    ) {
      continue;
    }
    const matches = new Set(kubefwdMatchNames(record, index, context.context));
    if (!matches.has(name) || userNames.some((u) => matches.has(u))) continue;
    seenNames.add(name);
    seenIps.add(record.ip);
    candidates.push({ name, ip: record.ip, matches });
  }
  candidates.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  // Kahn's algorithm over "my entry before every other entry I match"; what stays in a cycle is left out.
  const before = new Map(candidates.map((c) => [c.name, 0]));
  for (const c of candidates) {
    for (const other of candidates) {
      if (other !== c && c.matches.has(other.name)) before.set(other.name, before.get(other.name)! + 1);
    }
  }
  const ordered: Reservation[] = [];
  const placed = new Set<string>();
  for (let progress = true; progress;) {
    progress = false;
    for (const c of candidates) {
      if (placed.has(c.name) || before.get(c.name) !== 0) continue;
      placed.add(c.name);
      ordered.push({ name: c.name, ip: c.ip });
      for (const other of candidates) {
        if (other !== c && c.matches.has(other.name)) before.set(other.name, before.get(other.name)! - 1);
      }
      progress = true;
      break;
    }
  }
  return ordered;
}

/**
 * The `-r`/`--reserve` values of kubefwd arguments as `name:ip` reservations (a pflag string slice: the
 * flag may repeat and each value may hold several, comma-separated). Malformed values are skipped: kubefwd
 * refuses them itself.
 */
export function userReservations(args: readonly string[]): Reservation[] {
  const values: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") break;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const long = eq >= 0 ? arg.slice(0, eq) : arg;
      const value = eq >= 0 ? arg.slice(eq + 1) : LONG_WITH_VALUE.has(long) ? args[++i] : undefined;
      if (long === "--reserve" && value !== undefined) values.push(value);
      continue;
    }
    if (!arg.startsWith("-") || arg.length < 2) continue;
    // A shorthand group: booleans up to the first flag that takes a value, which takes the rest or the next.
    for (let j = 1; j < arg.length; j++) {
      if (!SHORT_WITH_VALUE.has(arg[j])) continue;
      const value = j < arg.length - 1 ? arg.slice(j + 1).replace(/^=/, "") : args[++i];
      if (arg[j] === "r" && value !== undefined) values.push(value);
      break;
    }
  }
  const out: Reservation[] = [];
  for (const value of values) {
    for (const part of value.split(",")) {
      const colon = part.indexOf(":");
      if (colon > 0 && colon < part.length - 1) {
        out.push({ name: part.slice(0, colon).trim(), ip: part.slice(colon + 1).trim() });
      }
    }
  }
  return out;
}
