import assert from "node:assert/strict";
import { isSelfConnect, TcpProber } from "./tcp_probe.ts";
import { FakeProber } from "../testing/fake_prober.ts";

Deno.test("TcpProber: up while listening, down after close; no leaked resources", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const accepting = (async () => {
    try {
      for await (const conn of listener) conn.close();
    } catch {
      // closed
    }
  })();
  const prober = new TcpProber();
  assert.equal(await prober.probe("127.0.0.1", port, 1000), true);
  listener.close();
  await accepting;
  assert.equal(await prober.probe("127.0.0.1", port, 1000), false);
});

Deno.test("TcpProber: a black-holed address times out within the bound", async () => {
  const t0 = Date.now();
  // TEST-NET-1 is not routable; connect either fails fast or hangs until the timeout.
  assert.equal(await new TcpProber().probe("192.0.2.1", 9, 200), false);
  assert.ok(Date.now() - t0 < 2000);
});

Deno.test("FakeProber: table and default", async () => {
  const p = new FakeProber();
  assert.equal(await p.probe("127.3.27.1", 80, 10), false);
  p.set("127.3.27.1", 80, true);
  assert.equal(await p.probe("127.3.27.1", 80, 10), true);
  p.defaultUp = true;
  assert.equal(await p.probe("127.3.27.2", 80, 10), true);
  p.set("127.3.27.2", 80, false);
  assert.equal(await p.probe("127.3.27.2", 80, 10), false);
  assert.equal(p.calls.length, 4);
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
