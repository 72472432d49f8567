import assert from "node:assert/strict";
import { isLoopback, parseListenAddress } from "./listen_address.ts";
import { loadConfigText } from "./load.ts";
import { envFrom } from "./paths.ts";

Deno.test("listen addresses: IPv4, [IPv6], localhost and port 0 parse; names and bad ports do not", () => {
  const table: [string, unknown][] = [
    ["127.0.0.1:9469", { hostname: "127.0.0.1", port: 9469 }],
    ["localhost:9469", { hostname: "127.0.0.1", port: 9469 }],
    ["[::1]:9469", { hostname: "::1", port: 9469 }],
    ["[FE80::1]:80", { hostname: "fe80::1", port: 80 }],
    ["0.0.0.0:0", { hostname: "0.0.0.0", port: 0 }],
    ["9469", /expected "host:port"/],
    [":9469", /"" is not an IP address/],
    ["prometheus.example:9469", /is not an IP address .*names are not resolved/],
    ["256.0.0.1:9469", /is not an IP address/],
    ["127.0.0.1:65536", /outside 0-65535/],
    ["[::1::2]:9469", /not an IPv6 address/],
    ["::1:9469", /expected "host:port"/],
  ];
  for (const [text, want] of table) {
    const got = parseListenAddress(text);
    if (want instanceof RegExp) {
      assert.ok("error" in got, `${text} should be refused`);
      assert.match(got.error, want, text);
    } else assert.deepEqual(got, want, text);
  }
});

Deno.test("loopback: 127.0.0.0/8 and ::1 in any spelling; nothing else", () => {
  for (const h of ["127.0.0.1", "127.3.27.1", "::1", "0:0:0:0:0:0:0:1", "0::1"]) assert.ok(isLoopback(h), h);
  for (const h of ["0.0.0.0", "10.0.0.1", "::", "::2", "fe80::1", "128.0.0.1"]) assert.ok(!isLoopback(h), h);
});

Deno.test("daemon.metrics resolves to an address; absent means off; non-loopback needs allow_non_loopback", async () => {
  const opts = {
    file: "/etc/kfd/config.yaml",
    env: envFrom({ HOME: "/home/u", XDG_RUNTIME_DIR: "/run/user/1000" }),
    home: "/home/u",
    format: "yaml" as const,
  };
  const profiles = "profiles:\n  a: { namespaces: [x] }\n";
  const off = await loadConfigText(profiles, opts);
  assert.equal(off.config?.daemon.metrics, undefined);
  const on = await loadConfigText(`daemon: { metrics: { listen: "127.0.0.1:9469" } }\n${profiles}`, opts);
  assert.deepEqual(on.config?.daemon.metrics, { hostname: "127.0.0.1", port: 9469 });
  const remote = await loadConfigText(
    `daemon: { metrics: { listen: "0.0.0.0:9469", allow_non_loopback: true } }\n${profiles}`,
    opts,
  );
  assert.deepEqual(remote.errors, []);
  assert.deepEqual(remote.config?.daemon.metrics, { hostname: "0.0.0.0", port: 9469 });
  const refused = await loadConfigText(`daemon: { metrics: { listen: "[::]:9469" } }\n${profiles}`, opts);
  assert.match(refused.errors[0]?.message ?? "", /:: is not a loopback address/);
  assert.equal(refused.config, undefined);
});
