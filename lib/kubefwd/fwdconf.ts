/**
 * The generated `-z` file that gives each profile its own IP range, and each forward the address it had in
 * the previous kubefwd run (reservations.ts). kubefwd has no CLI flag for the base
 * address (docs/kubefwd-compatibility.md#ip-allocation), so a file with `baseUnreservedIP` is the only way to
 * keep two kubefwd processes off each other's 127.1.27.x addresses. Built by string concatenation: the daemon
 * must not load a YAML library.
 */
import type { Reservation } from "./reservations.ts";

/** A dotted IPv4 address with octets 0–255 and no leading zeros. */
const IPV4 =
  /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * Whether `ip` is usable as a `baseUnreservedIP`: inside 127.0.0.0/8 (kubefwd panics or dies otherwise),
 * not in 127.0.0.0/24 (real localhost services live there), not in 127.2.27.0/24 (kubefwd's fixed API
 * address 127.2.27.1), and with a last octet in 1..254 so the first allocation is a host address.
 */
export function isValidBaseIp(ip: string): boolean {
  const m = IPV4.exec(ip);
  if (!m) return false;
  const [a, b, c, d] = m.slice(1, 5).map(Number);
  if (a !== 127) return false;
  if (b === 0 && c === 0) return false;
  if (b === 2 && c === 27) return false;
  return d >= 1 && d <= 254;
}

/**
 * The `-z` file content. The keys are exactly `baseUnreservedIP` and `serviceConfigurations` (kubefwd's own
 * troubleshooting doc shows wrong keys that make it fail; docs/kubefwd-compatibility.md#ip-allocation). The
 * reservations keep their order (kubefwd takes the first matching entry) and must not share an address
 * (kubefwd refuses to start then; docs/kubefwd-compatibility.md#stable-addresses).
 */
export function renderFwdConf(baseIp: string, reservations: readonly Reservation[] = []): string {
  if (!isValidBaseIp(baseIp)) throw new Error(`invalid baseUnreservedIP ${JSON.stringify(baseIp)}`);
  if (reservations.length === 0) return `baseUnreservedIP: ${baseIp}\nserviceConfigurations: []\n`;
  const ips = new Set<string>();
  const lines = [`baseUnreservedIP: ${baseIp}`, "serviceConfigurations:"];
  for (const { name, ip } of reservations) {
    if (!IPV4.test(ip) || !ip.startsWith("127.") || ips.has(ip)) {
      throw new Error(`invalid or repeated reservation address ${JSON.stringify(ip)}`);
    }
    if (!RESERVATION_NAME.test(name)) throw new Error(`invalid reservation name ${JSON.stringify(name)}`);
    ips.add(ip);
    lines.push(`- name: "${name}"`, `  ip: "${ip}"`);
  }
  return lines.join("\n") + "\n";
}

/** Names kubefwd can match: Kubernetes object names joined by dots (nothing YAML would read specially). */
const RESERVATION_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** The file name used for a profile's `-z` file, refusing names that could escape `dir`. */
export function fwdConfFileName(profile: string): string {
  if (profile === "" || profile.startsWith(".") || /[\/\\\0]/.test(profile)) {
    throw new Error(`profile name ${JSON.stringify(profile)} cannot be used in a file name`);
  }
  return `${profile}.fwdconf.yml`;
}

/**
 * Writes `<dir>/<profile>.fwdconf.yml` with mode 0600 (created 0700 if missing) and returns its path. The
 * file is rewritten in place when its content or mode differs; an identical one is left alone, so kubefwd
 * still restarts while the state directory is read-only or full. When the rewrite fails there (new
 * remembered addresses to reserve), the previous file of the same range is used as it is: the profile's
 * range holds, only addresses first seen since may move; the state directory's failure is already reported
 * (`daemon.persistence`). Root kubefwd under sudo can read a 0600 user file.
 */
export async function writeFwdConf(
  dir: string,
  profile: string,
  baseIp: string,
  reservations: readonly Reservation[] = [],
  write: (path: string, text: string) => Promise<void> = writePrivateFile,
): Promise<string> {
  const text = renderFwdConf(baseIp, reservations);
  const path = `${dir.replace(/\/+$/, "")}/${fwdConfFileName(profile)}`;
  if (await hasContent(path, text)) return path;
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    await write(path, text);
  } catch (e) {
    if (await hasContent(path, (old) => old.startsWith(`baseUnreservedIP: ${baseIp}\n`))) return path;
    throw e;
  }
  return path;
}

async function writePrivateFile(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text, { mode: 0o600 });
  await Deno.chmod(path, 0o600);
}

/** A regular file (not a symlink) of mode 0600 that holds exactly `text` (or whose text passes the test). */
async function hasContent(path: string, text: string | ((text: string) => boolean)): Promise<boolean> {
  try {
    const info = await Deno.lstat(path);
    if (!info.isFile || info.mode === null || (info.mode & 0o777) !== 0o600) return false;
    const content = await Deno.readTextFile(path);
    return typeof text === "string" ? content === text : text(content);
  } catch {
    return false;
  }
}
