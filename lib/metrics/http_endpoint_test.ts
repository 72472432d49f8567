import assert from "node:assert/strict";
import { type EndpointOptions, MetricsEndpoint } from "./http_endpoint.ts";
import { EndpointControl } from "./endpoint_control.ts";
import { waitFor } from "../util/async.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Sends `request` raw and returns everything the server wrote until it closed the connection. */
async function exchange(address: string, request: string | Uint8Array): Promise<string> {
  const [hostname, port] = address.split(":");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    const bytes = typeof request === "string" ? enc.encode(request) : request;
    await conn.write(bytes).catch(() => 0); // a server that answered early may have closed already
    let out = "";
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) return out;
      out += dec.decode(buf.subarray(0, n));
    }
  } finally {
    conn.close();
  }
}

function status(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3}) /.exec(response)?.[1]);
}

async function withEndpoint(
  opts: Partial<EndpointOptions>,
  fn: (e: MetricsEndpoint) => Promise<void>,
): Promise<void> {
  const endpoint = MetricsEndpoint.listen({
    hostname: "127.0.0.1",
    port: 0,
    render: () => "up 1\n",
    ...opts,
  });
  try {
    await fn(endpoint);
  } finally {
    await endpoint.close();
  }
}

Deno.test("endpoint: GET and HEAD /metrics; other paths 404, other methods 405, garbage 400", async () => {
  await withEndpoint({}, async (e) => {
    const ok = await exchange(e.address, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n");
    assert.equal(status(ok), 200);
    assert.match(ok, /\r\nContent-Type: text\/plain; version=0\.0\.4; charset=utf-8\r\n/);
    assert.match(ok, /\r\nContent-Length: 5\r\n/);
    assert.match(ok, /\r\nConnection: close\r\n/);
    assert.ok(ok.endsWith("\r\n\r\nup 1\n"));
    assert.equal(status(await exchange(e.address, "GET /metrics?x=1 HTTP/1.0\n\n")), 200);
    const head = await exchange(e.address, "HEAD /metrics HTTP/1.1\r\n\r\n");
    assert.equal(status(head), 200);
    assert.ok(head.endsWith("\r\n\r\n"), "no body");
    assert.equal(status(await exchange(e.address, "GET / HTTP/1.1\r\n\r\n")), 404);
    assert.equal(status(await exchange(e.address, "GET /metricsx HTTP/1.1\r\n\r\n")), 404);
    const post = await exchange(e.address, "POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
    assert.equal(status(post), 405);
    assert.match(post, /\r\nAllow: GET, HEAD\r\n/);
    assert.equal(status(await exchange(e.address, "hello\r\n\r\n")), 400);
    assert.equal(status(await exchange(e.address, "GET /metrics SPDY/3\r\n\r\n")), 400);
  });
});

Deno.test("endpoint: a huge head gets 431, a slow one 408, and neither holds up a scrape", async () => {
  await withEndpoint({ limits: { headTimeoutMs: 300 } }, async (e) => {
    const huge = await exchange(e.address, `GET /metrics HTTP/1.1\r\nX-Big: ${"a".repeat(100_000)}\r\n\r\n`);
    assert.equal(status(huge), 431);
    const slow = exchange(e.address, "GET /metrics HTTP/1.1\r\nHost: x\r\n"); // never finishes its head
    assert.equal(status(await exchange(e.address, "GET /metrics HTTP/1.1\r\n\r\n")), 200, "served meanwhile");
    assert.equal(status(await slow), 408);
    await waitFor(() => e.connections === 0, 10_000, { step: 5 }); // every connection ends
  });
});

Deno.test("endpoint: connections beyond the cap get 503 at once; a render failure is a 500 and reported", async () => {
  const errors: unknown[] = [];
  let fail = false;
  await withEndpoint({
    limits: { maxConnections: 2, headTimeoutMs: 60_000 },
    render: () => {
      if (fail) throw new Error("boom");
      return "up 1\n";
    },
    onError: (err) => errors.push(err),
  }, async (e) => {
    const [hostname, port] = e.address.split(":");
    const stalled = [
      await Deno.connect({ hostname, port: Number(port) }),
      await Deno.connect({ hostname, port: Number(port) }),
    ];
    try {
      await waitFor(() => e.connections === 2, 10_000, { step: 5 });
      assert.equal(status(await exchange(e.address, "GET /metrics HTTP/1.1\r\n\r\n")), 503);
    } finally {
      for (const c of stalled) c.close();
    }
    await waitFor(() => e.connections === 0, 10_000, { step: 5 });
    fail = true;
    assert.equal(status(await exchange(e.address, "GET /metrics HTTP/1.1\r\n\r\n")), 500);
    assert.equal((errors[0] as Error).message, "boom");
  });
});

Deno.test("endpoint: close stops listening and drops a connection that is still sending its head", async () => {
  const e = MetricsEndpoint.listen({ hostname: "127.0.0.1", port: 0, render: () => "" });
  const [hostname, port] = e.address.split(":");
  const pending = exchange(e.address, "GET /metrics HTTP/1.1\r\n");
  await waitFor(() => e.connections === 1, 10_000, { step: 5 });
  await e.close();
  assert.equal(await pending, "", "dropped without an answer");
  await assert.rejects(() => Deno.connect({ hostname, port: Number(port) }));
});

Deno.test("endpoint control: bind, rebind on change, keep the old address when the new one is taken, off", async () => {
  const lines: string[] = [];
  const control = new EndpointControl({
    render: () => "up 1\n",
    log: (level, m) => lines.push(`${level}: ${m}`),
  });
  try {
    assert.equal(await control.apply({ hostname: "127.0.0.1", port: 0 }), undefined);
    const first = control.address!;
    assert.equal(status(await exchange(first, "GET /metrics HTTP/1.1\r\n\r\n")), 200);
    assert.equal(await control.apply({ hostname: "127.0.0.1", port: 0 }), undefined, "unchanged: no rebind");
    assert.equal(control.address, first);
    using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const problem = await control.apply({ hostname: "127.0.0.1", port: taken.addr.port });
    assert.match(
      problem ?? "",
      new RegExp(`cannot serve metrics on 127\\.0\\.0\\.1:${taken.addr.port}: .*; still serving on`),
    );
    assert.ok(control.address !== null);
    assert.equal(
      status(await exchange(control.address!, "GET /metrics HTTP/1.1\r\n\r\n")),
      200,
      "old address",
    );
    assert.equal(await control.apply(undefined), undefined);
    assert.equal(control.address, null);
    assert.ok(
      lines.some((l) => /^info: metrics endpoint listening on http:\/\/127\.0\.0\.1:\d+\/metrics$/.test(l)),
    );
    assert.ok(lines.some((l) => l.startsWith("error: cannot serve metrics on")));
  } finally {
    await control.close();
  }
});
