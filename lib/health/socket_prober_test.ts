import assert from "node:assert/strict";
import { holdWindowMs, httpProbeRequest, SocketProber } from "./socket_prober.ts";
import { isSelfConnect, type ProbeMode } from "./probe.ts";

type Behaviour = "http" | "close" | "silent" | "greet" | "close_on_data";

/** A local server that treats every connection the same way; `stop` closes it and its connections. */
function serve(behaviour: Behaviour): { port: number; stop: () => Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const handle = async (conn: Deno.Conn) => {
    conns.add(conn);
    try {
      if (behaviour === "close") return;
      if (behaviour === "greet") await conn.write(new TextEncoder().encode("220 hello\r\n"));
      const buf = new Uint8Array(1024);
      const n = await conn.read(buf);
      if (n === null) return;
      if (behaviour === "http") {
        await conn.write(new TextEncoder().encode("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"));
      } else if (behaviour === "silent") await conn.read(buf);
    } catch {
      // the prober went away
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // closed already
      }
    }
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) void handle(conn);
    } catch {
      // closed
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    stop: async () => {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // closed already
        }
      }
      await accepting;
    },
  };
}

const table: { behaviour: Behaviour; mode: ProbeMode; want: string }[] = [
  { behaviour: "http", mode: "http", want: "answered" }, // any HTTP status proves the path
  { behaviour: "http", mode: "tcp", want: "held" },
  { behaviour: "close", mode: "tcp", want: "closed" }, // kubefwd that cannot reach the pod
  { behaviour: "close", mode: "http", want: "closed" },
  { behaviour: "silent", mode: "tcp", want: "held" }, // a healthy idle connection
  { behaviour: "silent", mode: "http", want: "timeout" }, // accepted, never answered: no evidence
  { behaviour: "greet", mode: "tcp", want: "answered" },
  { behaviour: "close_on_data", mode: "http", want: "held" }, // not HTTP after all: falls back to holding
];

for (const { behaviour, mode, want } of table) {
  Deno.test(`SocketProber: ${mode} probe of a server that does '${behaviour}' → ${want}`, async () => {
    const server = serve(behaviour);
    try {
      const outcome = await new SocketProber().probe({
        ip: "127.0.0.1",
        port: server.port,
        mode,
        host: "svc",
      }, 600);
      assert.equal(outcome, want);
    } finally {
      await server.stop();
    }
  });
}

Deno.test("SocketProber: nothing listening is refused, in both modes", async () => {
  const server = serve("http");
  const port = server.port;
  await server.stop();
  for (const mode of ["tcp", "http"] as const) {
    assert.equal(
      await new SocketProber().probe({ ip: "127.0.0.1", port, mode, host: "svc" }, 500),
      "refused",
    );
  }
});

Deno.test("SocketProber: a black-holed address is a timeout, not a death", async () => {
  // TEST-NET-1 is not routable; connect either fails fast (no route: refused) or hangs until the timeout.
  const outcome = await new SocketProber().probe({ ip: "192.0.2.1", port: 9, mode: "http", host: "x" }, 200);
  assert.ok(outcome === "timeout" || outcome === "refused", outcome);
});

Deno.test("holdWindowMs: half the timeout, capped at one second, at least 1 ms", () => {
  assert.equal(holdWindowMs(2000), 1000);
  assert.equal(holdWindowMs(10_000), 1000);
  assert.equal(holdWindowMs(600), 300);
  assert.equal(holdWindowMs(0), 1);
});

Deno.test("httpProbeRequest: Host carries the port unless it is 80; the connection closes after the answer", () => {
  assert.match(httpProbeRequest("api", 80), /^GET \/ HTTP\/1\.1\r\nHost: api\r\n/);
  assert.match(httpProbeRequest("echo-a", 8080), /\r\nHost: echo-a:8080\r\n/);
  assert.match(httpProbeRequest("api", 80), /\r\nConnection: close\r\n\r\n$/);
});

Deno.test("isSelfConnect: same address and port on both ends, TCP only", () => {
  const tcp = (hostname: string, port: number): Deno.NetAddr => ({ transport: "tcp", hostname, port });
  assert.equal(isSelfConnect(tcp("127.3.27.1", 50051), tcp("127.3.27.1", 50051)), true);
  assert.equal(isSelfConnect(tcp("127.3.27.1", 41234), tcp("127.3.27.1", 50051)), false);
  assert.equal(isSelfConnect(tcp("127.0.0.1", 50051), tcp("127.3.27.1", 50051)), false);
  assert.equal(
    isSelfConnect({ transport: "unix", path: "/s" }, { transport: "unix", path: "/s" }),
    false,
  );
});
