/**
 * `daemon.metrics.listen`: `host:port` with an IP literal (`[…]` for IPv6) or `localhost`. Names other
 * than `localhost` are refused rather than resolved: what the endpoint binds must be visible in the config,
 * and whether it is loopback must be decidable without DNS.
 */

/** A parsed listen address. */
export interface ListenAddress {
  /** The IP literal to bind (`localhost` becomes 127.0.0.1), without brackets. */
  hostname: string;
  /** 0–65535; 0 picks a free port. */
  port: number;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isIpv6(text: string): boolean {
  if (!/^[0-9a-fA-F:]+$/.test(text) || !text.includes(":")) return false;
  const doubles = text.split("::").length - 1;
  if (doubles > 1) return false;
  const groups = text.split(":").filter((g) => g !== "");
  if (groups.some((g) => g.length > 4)) return false;
  return doubles === 1 ? groups.length <= 7 : groups.length === 8;
}

/** The address, or why it is not one. */
export function parseListenAddress(text: string): ListenAddress | { error: string } {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  if (!m) {
    return {
      error: `expected "host:port" such as "127.0.0.1:9469" or "[::1]:9469", got ${JSON.stringify(text)}`,
    };
  }
  const port = Number(m[3]);
  if (port > 65535) return { error: `port ${port} is outside 0-65535` };
  if (m[1] !== undefined) {
    if (!isIpv6(m[1])) return { error: `${JSON.stringify(m[1])} is not an IPv6 address` };
    return { hostname: m[1].toLowerCase(), port };
  }
  const host = m[2];
  if (host === "localhost") return { hostname: "127.0.0.1", port };
  if (!IPV4.test(host)) {
    return {
      error: `${JSON.stringify(host)} is not an IP address (write an IPv4 address, [IPv6] or localhost; ` +
        "names are not resolved)",
    };
  }
  return { hostname: host, port };
}

/** True for 127.0.0.0/8 and ::1: reachable from this machine only. */
export function isLoopback(hostname: string): boolean {
  if (IPV4.test(hostname)) return hostname.startsWith("127.");
  if (!isIpv6(hostname)) return false;
  const parts = hostname.split("::");
  const left = parts[0] === "" ? [] : parts[0].split(":");
  const right = parts.length > 1 && parts[1] !== "" ? parts[1].split(":") : [];
  const groups = [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  return groups.every((g, i) => parseInt(g, 16) === (i === 7 ? 1 : 0));
}

/** `host:port` as written in a config (IPv6 in brackets). */
export function formatListenAddress(address: ListenAddress): string {
  return `${address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname}:${address.port}`;
}
