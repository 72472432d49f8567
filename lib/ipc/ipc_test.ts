import assert from "node:assert/strict";
import { UserError } from "../errors.ts";
import type { LogEntry, TransitionEvent } from "../supervisor/types.ts";
import { waitFor } from "../util/async.ts";
import { withDeadline } from "../../tests/deadline.ts";
import { tempDir } from "../../tests/temp_dir.ts";
import { connectDaemon, type DaemonClient, isDaemonRunning, probeSocket } from "./client.ts";
import { FrameReader, writeAll, writeFrame } from "./framing.ts";
import { MAX_FRAME_BYTES, PROTOCOL_VERSION, type StatusResult } from "./protocol.ts";
import { type IpcServer, type IpcServerOptions, type RequestHandler, startIpcServer } from "./server.ts";

const enc = new TextEncoder();

const STATUS: StatusResult = {
  daemon: {
    pid: 42,
    version: "0.0.0-test",
    startedAt: "2026-01-01T00:00:00.000Z",
    uptimeSeconds: 1,
    configPath: "/c",
    socketPath: "/s",
  },
  profiles: [],
};

const defaultHandler: RequestHandler = (req) => {
  switch (req.type) {
    case "status":
      return Promise.resolve({ ...STATUS, profiles: [] });
    case "enable":
      return Promise.resolve({ results: req.profiles.map((p) => ({ profile: p, outcome: "enabled" })) });
    default:
      return Promise.reject(new UserError("usage", `not supported in this test: ${req.type}`));
  }
};

interface Fixture {
  dir: string;
  socketPath: string;
  server: IpcServer;
  errors: unknown[];
  [Symbol.asyncDispose](): Promise<void>;
}

async function fixture(overrides: Partial<IpcServerOptions> = {}): Promise<Fixture> {
  const dir = await Deno.makeTempDir({ prefix: "kfd-ipc-" });
  const socketPath = `${dir}/run/daemon.sock`;
  const errors: unknown[] = [];
  const server = await startIpcServer({
    socketPath,
    daemonVersion: "1.2.3",
    pid: 4242,
    handle: defaultHandler,
    onError: (e) => errors.push(e),
    ...overrides,
  });
  return {
    dir,
    socketPath,
    server,
    errors,
    async [Symbol.asyncDispose]() {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A client that closes itself at the end of an `await using` scope (closing twice is harmless). */
async function connect(socketPath: string, timeoutMs?: number): Promise<DaemonClient & AsyncDisposable> {
  const client = await connectDaemon(socketPath, { clientVersion: "9.9.9", timeoutMs });
  return Object.assign(client, { [Symbol.asyncDispose]: () => client.close() });
}

/** A raw connection speaking the wire format directly, for malformed input. */
async function raw(socketPath: string, hello = true) {
  const conn = await Deno.connect({ transport: "unix", path: socketPath });
  const reader = new FrameReader(conn);
  if (hello) {
    await writeFrame(conn, { type: "hello", protocolVersion: PROTOCOL_VERSION, clientVersion: "raw" });
    const reply = await reader.next() as { ok: boolean };
    assert.equal(reply.ok, true);
  }
  return {
    conn,
    reader,
    /** Every frame until the server closes the connection. */
    async rest(): Promise<unknown[]> {
      const frames: unknown[] = [];
      for (;;) {
        const f = await reader.next();
        if (f === undefined) return frames;
        frames.push(f);
      }
    },
    close() {
      try {
        conn.close();
      } catch {
        // closed
      }
    },
  };
}

/** Bound of every wait for the server in this file. */
const WAIT_MS = 5000;

async function statusWorks(socketPath: string): Promise<void> {
  await using client = await connect(socketPath);
  const status = await client.request({ type: "status", profiles: [] });
  assert.equal(status.daemon.version, "0.0.0-test");
}

/**
 * Opens a connection that says hello and then nothing, and waits until the idle timeout closes it. Opened
 * after another connection's last activity, it proves that connection's idle timer would have fired too.
 */
async function idleTimeoutWitness(socketPath: string): Promise<void> {
  const idle = await raw(socketPath);
  const frames = await withDeadline(idle.rest(), 5000, "the idle timeout") as {
    error: { message: string };
  }[];
  idle.close();
  assert.match(frames[0].error.message, /idle for/);
}

Deno.test("ipc: hello, request/reply, daemon identity", async () => {
  await using f = await fixture();
  const client = await connect(f.socketPath);
  assert.equal(client.daemonVersion, "1.2.3");
  assert.equal(client.daemonPid, 4242);
  const status = await client.request({ type: "status", profiles: [] });
  assert.deepEqual(status, STATUS);
  const enabled = await client.request({ type: "enable", profiles: ["a", "b"] });
  assert.deepEqual(enabled.results.map((r) => r.profile), ["a", "b"]);
  assert.equal(f.server.connections, 1);
  await client.close();
  await waitFor(() => f.server.connections === 0, WAIT_MS, { step: 5, what: "connection to close" });
});

Deno.test("ipc: pipelined requests on one connection each get their own reply", async () => {
  // The first request answers only after the second one did: the replies come back out of order.
  const fastAnswered = Promise.withResolvers<void>();
  await using f = await fixture({
    handle: async (req) => {
      if (req.type !== "enable") throw new UserError("usage", "x");
      if (req.profiles[0] === "slow") await fastAnswered.promise;
      return { results: [{ profile: req.profiles[0], outcome: "enabled" }] };
    },
  });
  const client = await connect(f.socketPath);
  const order: string[] = [];
  const [slow, fast] = await Promise.all([
    client.request({ type: "enable", profiles: ["slow"] }).finally(() => order.push("slow")),
    client.request({ type: "enable", profiles: ["fast"] }).finally(() => {
      order.push("fast");
      fastAnswered.resolve();
    }),
  ]);
  assert.deepEqual(order, ["fast", "slow"]);
  assert.equal(slow.results[0].profile, "slow");
  assert.equal(fast.results[0].profile, "fast");
  await client.close();
});

Deno.test("ipc: UserError keeps its code and details; other errors become code error and are reported", async () => {
  await using f = await fixture({
    handle: (req) => {
      if (req.type === "start") {
        return Promise.reject(
          new UserError("unknown_profile", "no profile nope", { details: { known: ["a"] } }),
        );
      }
      throw new Error("handler bug");
    },
  });
  const client = await connect(f.socketPath);
  await assert.rejects(client.request({ type: "start", profiles: ["nope"] }), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.equal(err.code, "unknown_profile");
    assert.equal(err.message, "no profile nope");
    assert.deepEqual(err.details, { known: ["a"] });
    assert.equal(err.exitCode, 5);
    return true;
  });
  await assert.rejects(client.request({ type: "reload" }), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.equal(err.code, "error");
    assert.equal(err.message, "handler bug");
    return true;
  });
  assert.equal(f.errors.length, 1);
  // The connection is still usable after error replies.
  await assert.rejects(client.request({ type: "start", profiles: ["x"] }), /no profile nope/);
  await client.close();
});

Deno.test("ipc: protocol mismatch gets ok:false with the restart hint and a closed connection", async () => {
  await using f = await fixture();
  const r = await raw(f.socketPath, false);
  await writeFrame(r.conn, { type: "hello", protocolVersion: PROTOCOL_VERSION + 1, clientVersion: "future" });
  const frames = await r.rest();
  r.close();
  assert.equal(frames.length, 1);
  const hello = frames[0] as Record<string, unknown>;
  assert.equal(hello.ok, false);
  assert.equal(hello.protocolVersion, PROTOCOL_VERSION);
  assert.match(
    String(hello.message),
    new RegExp(
      `daemon speaks protocol ${PROTOCOL_VERSION}, CLI speaks ${PROTOCOL_VERSION + 1} — restart the daemon`,
    ),
  );
  await statusWorks(f.socketPath);
});

Deno.test("ipc: client reports a protocol mismatch as version_mismatch with both versions", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/fake.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const fakeDaemon = (async () => {
    const conn = await listener.accept();
    const reader = new FrameReader(conn);
    await reader.next();
    await writeFrame(conn, { type: "hello", ok: true, protocolVersion: 99, daemonVersion: "7.0.0", pid: 1 });
    await reader.next();
    conn.close();
  })();
  await assert.rejects(connect(path), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.equal(err.code, "version_mismatch");
    assert.match(err.message, /daemon 7\.0\.0 speaks protocol 99, CLI 9\.9\.9 speaks protocol 1/);
    assert.match(err.message, /kubefwd-daemon restart/);
    return true;
  });
  await fakeDaemon;
  listener.close();
});

Deno.test("ipc: no socket or a stale socket means daemon_not_running (exit 3)", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  await assert.rejects(connect(`${dir}/none.sock`), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.equal(err.code, "daemon_not_running");
    assert.equal(err.exitCode, 3);
    assert.equal(
      err.message,
      `daemon is not running (socket ${dir}/none.sock) — start it with: kubefwd-daemon start`,
    );
    return true;
  });
  const stale = await makeStaleSocket(dir);
  assert.equal(await probeSocket(stale), "stale");
  assert.equal(await isDaemonRunning(stale), false);
  await assert.rejects(
    connect(stale),
    (e: unknown) => e instanceof UserError && e.code === "daemon_not_running",
  );
});

/** A socket file nobody listens on, as a crashed daemon leaves behind (closing unlinks only one name). */
async function makeStaleSocket(dir: string, name = "stale.sock"): Promise<string> {
  const live = `${dir}/live-${name}`;
  const listener = Deno.listen({ transport: "unix", path: live });
  await Deno.link(live, `${dir}/${name}`);
  listener.close();
  return `${dir}/${name}`;
}

Deno.test("ipc: socket is 0600 inside a 0700 directory; the file is removed on close", async () => {
  await using f = await fixture();
  const sock = await Deno.stat(f.socketPath);
  assert.equal(sock.isSocket, true);
  assert.equal(sock.mode! & 0o777, 0o600);
  assert.equal((await Deno.stat(`${f.dir}/run`)).mode! & 0o777, 0o700);
  assert.equal(await isDaemonRunning(f.socketPath), true);
  await f.server.close();
  await assert.rejects(Deno.lstat(f.socketPath), Deno.errors.NotFound);
  assert.equal(await isDaemonRunning(f.socketPath), false);
  await f.server.close(); // idempotent
});

Deno.test("ipc: our wider socket directory is tightened to 0700; a general or foreign one is refused", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  await Deno.mkdir(`${dir}/kubefwd-daemon`);
  await Deno.chmod(`${dir}/kubefwd-daemon`, 0o755);
  const server = await startIpcServer({
    socketPath: `${dir}/kubefwd-daemon/d.sock`,
    daemonVersion: "1",
    pid: 1,
    handle: defaultHandler,
  });
  assert.equal((await Deno.stat(`${dir}/kubefwd-daemon`)).mode! & 0o777, 0o700);
  await server.close();

  await Deno.mkdir(`${dir}/home`);
  await Deno.chmod(`${dir}/home`, 0o755);
  await assert.rejects(
    startIpcServer({
      socketPath: `${dir}/home/d.sock`,
      daemonVersion: "1",
      pid: 1,
      handle: defaultHandler,
    }),
    /accessible by others \(mode 0755\)/,
  );
  assert.equal(
    (await Deno.stat(`${dir}/home`)).mode! & 0o777,
    0o755,
    "a general directory is left as it was",
  );

  if (Deno.uid() === 0) {
    await Deno.mkdir(`${dir}/foreign`, { mode: 0o700 });
    await Deno.chown(`${dir}/foreign`, 12345, 12345);
    await assert.rejects(
      startIpcServer({
        socketPath: `${dir}/foreign/d.sock`,
        daemonVersion: "1",
        pid: 1,
        handle: defaultHandler,
      }),
      /belongs to uid 12345/,
    );
    assert.equal((await Deno.stat(`${dir}/foreign`)).mode! & 0o777, 0o700);
  }
});

Deno.test("ipc: a stale socket is replaced; a live one or a non-socket file is refused", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  await Deno.chmod(dir, 0o700);
  const stale = await makeStaleSocket(dir, "d.sock");
  {
    await using servers = new AsyncDisposableStack();
    servers.adopt(
      await startIpcServer({
        socketPath: stale,
        daemonVersion: "1",
        pid: 1,
        handle: defaultHandler,
      }),
      (server) => server.close(),
    );
    await statusWorks(stale);
    await assert.rejects(
      startIpcServer({ socketPath: stale, daemonVersion: "1", pid: 2, handle: defaultHandler }),
      (err: unknown) => err instanceof UserError && /daemon already running/.test(err.message),
    );
    await statusWorks(stale); // the refused second server did not disturb the first
  }
  await Deno.writeTextFile(`${dir}/file.sock`, "not a socket");
  await assert.rejects(
    startIpcServer({ socketPath: `${dir}/file.sock`, daemonVersion: "1", pid: 1, handle: defaultHandler }),
    /not a socket/,
  );
  assert.equal(await Deno.readTextFile(`${dir}/file.sock`), "not a socket");
});

Deno.test("ipc: 200 concurrent clients are all served", async () => {
  await using f = await fixture();
  const results = await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      await using client = await connect(f.socketPath);
      const r = await client.request({ type: "enable", profiles: [`p${i}`] });
      return r.results[0].profile;
    }),
  );
  assert.deepEqual(results, Array.from({ length: 200 }, (_, i) => `p${i}`));
});

const GARBAGE: (string | Uint8Array)[] = [
  "not json\n",
  "{\n",
  "[]\n",
  "null\n",
  '{"type":"hello"}\n',
  '{"type":"hello","protocolVersion":"1","clientVersion":1}\n',
  new Uint8Array([0xff, 0xfe, 0x00, 0x0a]),
  '"\\ud800"\n',
  "}}}}\n",
];

Deno.test("ipc: 1000 garbage connections leave the server answering", async () => {
  await using f = await fixture();
  for (let batch = 0; batch < 10; batch++) {
    await Promise.all(Array.from({ length: 100 }, async (_, i) => {
      const n = batch * 100 + i;
      const r = await raw(f.socketPath, n % 2 === 0);
      const junk = GARBAGE[n % GARBAGE.length];
      try {
        await writeAll(r.conn, typeof junk === "string" ? enc.encode(junk) : junk);
      } catch {
        // the server may already have hung up
      }
      const frames = await r.rest();
      r.close();
      // Every garbage frame gets exactly one protocol error, then the connection is closed.
      if (frames.length === 1) {
        const reply = frames[0] as { ok: boolean; error?: { code: string }; type?: string };
        assert.equal(reply.ok, false, JSON.stringify(reply));
      } else {
        assert.fail(
          `expected one error frame for ${JSON.stringify(String(junk))}, got ${JSON.stringify(frames)}`,
        );
      }
    }));
  }
  await statusWorks(f.socketPath);
  await waitFor(() => f.server.connections === 0, WAIT_MS, { step: 5, what: "garbage connections to close" });
});

Deno.test("ipc: garbage after a valid request: error reply with the frame id, connection closed", async () => {
  await using f = await fixture();
  const r = await raw(f.socketPath);
  const lines = [JSON.stringify({ id: 1, request: { type: "status", profiles: [] } })];
  lines.push(JSON.stringify({ id: 2, request: { type: "explode" } }));
  for (let i = 0; i < 1000; i++) lines.push(`garbage ${i} {{{`);
  try {
    await writeAll(r.conn, enc.encode(lines.join("\n") + "\n"));
  } catch {
    // hung up while we were still writing
  }
  const frames = await r.rest() as { id: number; ok: boolean; error?: { code: string; message: string } }[];
  r.close();
  const byId = new Map(frames.map((fr) => [fr.id, fr]));
  assert.equal(byId.get(2)?.ok, false);
  assert.equal(byId.get(2)?.error?.code, "protocol");
  assert.match(byId.get(2)!.error!.message, /unknown request type "explode"/);
  assert.ok(
    frames.length <= 2,
    `the connection must close at the first bad frame, got ${frames.length} frames`,
  );
  await statusWorks(f.socketPath);
});

Deno.test("ipc: oversized frame gets a protocol error reply and a closed connection", async () => {
  await using f = await fixture();
  const r = await raw(f.socketPath);
  const big = enc.encode(
    `{"id":1,"request":{"type":"status","profiles":["${"x".repeat(MAX_FRAME_BYTES)}"]}}\n`,
  );
  const writing = writeAll(r.conn, big).catch(() => "hung up");
  const frames = await r.rest() as { id: number; ok: boolean; error: { code: string; message: string } }[];
  await writing;
  r.close();
  assert.equal(frames.length, 1);
  assert.equal(frames[0].ok, false);
  assert.equal(frames[0].error.code, "protocol");
  assert.match(frames[0].error.message, /exceeds 1048576 bytes/);
  await statusWorks(f.socketPath);
});

Deno.test("ipc: a reply too large for the client becomes an error reply", async () => {
  await using f = await fixture({ handle: () => Promise.resolve({ blob: "y".repeat(MAX_FRAME_BYTES) }) });
  const client = await connect(f.socketPath);
  await assert.rejects(
    client.request({ type: "reload" }),
    /reply could not be sent: frame of \d+ bytes exceeds/,
  );
  await client.close();
});

Deno.test("ipc: handshake and idle timeouts close the connection with a reason", async () => {
  await using f = await fixture({ handshakeTimeoutMs: 30, idleTimeoutMs: 60 });
  const silent = await raw(f.socketPath, false);
  const silentFrames = await silent.rest() as { error: { message: string } }[];
  silent.close();
  assert.match(silentFrames[0].error.message, /no hello within 0.03 s/);

  const idle = await raw(f.socketPath);
  const idleFrames = await idle.rest() as { id: number; error: { message: string } }[];
  idle.close();
  assert.equal(idleFrames[0].id, 0);
  assert.match(idleFrames[0].error.message, /idle for 0.06 s/);
});

Deno.test("ipc: the idle timeout does not fire while a request is running", async () => {
  let socketPath = "";
  await using f = await fixture({
    idleTimeoutMs: 40,
    // Runs until a connection opened after this request arrived has been closed for being idle.
    handle: async () => {
      await idleTimeoutWitness(socketPath);
      return { done: true };
    },
  });
  socketPath = f.socketPath;
  const client = await connect(f.socketPath);
  assert.deepEqual(await client.request({ type: "reload" }) as unknown, { done: true });
  await client.close();
});

Deno.test("ipc: the client sees an idle disconnect as an error on its next request", async () => {
  await using f = await fixture({ idleTimeoutMs: 20 });
  const client = await connect(f.socketPath);
  await waitFor(() => f.server.connections === 0, WAIT_MS, { step: 5, what: "idle disconnect" });
  await assert.rejects(client.request({ type: "status", profiles: [] }), /idle for 0.02 s/);
  await client.close();
});

Deno.test("ipc: logs follow streams entries until the client aborts; the handler sees the abort", async () => {
  let handlerSawAbort = false;
  await using f = await fixture({
    idleTimeoutMs: 30,
    handle: async (req, ctx) => {
      if (req.type !== "logs" || !req.follow) throw new UserError("usage", "follow only");
      for (let i = 0; i < 3; i++) {
        await ctx.sendLog({ at: "t", level: "info", source: "daemon", message: `line ${i}` });
      }
      // A wrong id from the handler is corrected: frames always belong to the request.
      await ctx.send({ id: 12345, log: { at: "t", level: "warn", source: "daemon", message: "line 3" } });
      await new Promise<void>((resolve) =>
        ctx.signal.addEventListener("abort", () => resolve(), { once: true })
      );
      handlerSawAbort = true;
      return { entries: [] };
    },
  });
  const client = await connect(f.socketPath);
  const controller = new AbortController();
  const got: string[] = [];
  const streaming = client.stream({ type: "logs", lines: 0, follow: true }, (e: LogEntry) => {
    got.push(e.message);
    // Abort only once a connection opened after the last line was closed for being idle.
    if (got.length === 4) idleTimeoutWitness(f.socketPath).finally(() => controller.abort());
  }, { signal: controller.signal });
  await streaming;
  assert.deepEqual(got, ["line 0", "line 1", "line 2", "line 3"]);
  await waitFor(() => handlerSawAbort, WAIT_MS, { step: 5, what: "handler to see the abort" });
  await client.close();
});

Deno.test("ipc: a stream the daemon ends resolves; an error reply rejects", async () => {
  await using f = await fixture({
    handle: async (req, ctx) => {
      if (req.type !== "logs") throw new UserError("usage", "logs only");
      if (req.profile === "nope") throw new UserError("unknown_profile", "no profile nope");
      await ctx.sendLog({ at: "t", level: "info", source: "stdout", profile: "a", message: "only" });
      return { entries: [] };
    },
  });
  const client = await connect(f.socketPath);
  const got: LogEntry[] = [];
  await client.stream({ type: "logs", lines: 0, follow: true }, (e) => got.push(e));
  assert.equal(got.length, 1);
  assert.equal(got[0].profile, "a");
  await assert.rejects(
    client.stream({ type: "logs", profile: "nope", lines: 0, follow: true }, () => {}),
    (e: unknown) => e instanceof UserError && e.code === "unknown_profile",
  );
  await client.close();
});

Deno.test("ipc: a follow stream ends quietly when the server closes", async (t) => {
  // The handler ends the follow on abort (a final reply), or ignores the abort until the close grace is
  // over and the server hangs up: both end the client's stream without an error.
  for (const ignoresAbort of [false, true]) {
    await t.step(ignoresAbort ? "hung up after the close grace" : "final reply", async () => {
      let handlerSawAbort = false;
      const never = Promise.withResolvers<void>();
      await using f = await fixture({
        closeGraceMs: 20,
        handle: async (_req, ctx) => {
          await ctx.sendLog({ at: "t", level: "info", source: "daemon", message: "hello" });
          await new Promise<void>((resolve) =>
            ctx.signal.addEventListener("abort", () => resolve(), { once: true })
          );
          handlerSawAbort = true;
          if (ignoresAbort) await never.promise;
          return { entries: [] };
        },
      });
      const client = await connect(f.socketPath);
      const got: string[] = [];
      let first: () => void = () => {};
      const gotFirst = new Promise<void>((r) => first = r);
      const streaming = client.stream({ type: "logs", lines: 0, follow: true }, (e) => {
        got.push(e.message);
        first();
      });
      let outcome: "pending" | "resolved" | "rejected" = "pending";
      const settled = streaming.then(() => outcome = "resolved", () => outcome = "rejected");
      await withDeadline(gotFirst, 5000, "the first streamed line");
      assert.equal(outcome, "pending", "a follow stays open while the server runs");
      await f.server.close();
      // Quietly: the stream resolves (nothing for the CLI to print), within a bound, with what was sent.
      assert.equal(await withDeadline(streaming, 5000, "the follow to end"), undefined);
      await settled;
      assert.equal(outcome, "resolved");
      assert.deepEqual(got, ["hello"]);
      assert.ok(handlerSawAbort, "closing the server aborted the follow handler");
      assert.deepEqual(f.errors, [], "nothing reported as a server error");
      await client.close();
      never.resolve();
    });
  }
});

Deno.test("ipc: request timeout rejects and clears its timer; a closed client rejects new requests", async () => {
  await using f = await fixture({
    handle: (_req, ctx) =>
      new Promise((resolve) => ctx.signal.addEventListener("abort", () => resolve(null), { once: true })),
  });
  const client = await connect(f.socketPath, 50);
  await assert.rejects(client.request({ type: "reload" }), /did not answer "reload" within 0.05 s/);
  await client.close();
  await assert.rejects(client.request({ type: "reload" }), /connection closed/);
});

Deno.test("ipc: requests sent while the server closes get a shutdown error or the reply", async () => {
  const started = Promise.withResolvers<void>();
  let repliedAfterClose = false;
  await using f = await fixture({
    closeGraceMs: 2000,
    handle: async (req, ctx) => {
      if (req.type === "shutdown") {
        started.resolve();
        // Answers only once the server is closing (closing aborts the handlers' signal).
        await new Promise<void>((resolve) =>
          ctx.signal.addEventListener("abort", () => resolve(), { once: true })
        );
        repliedAfterClose = true;
        return { stopping: true };
      }
      return defaultHandler(req, ctx);
    },
  });
  const client = await connect(f.socketPath);
  const reply = client.request({ type: "shutdown" });
  await started.promise;
  const closing = f.server.close();
  assert.deepEqual(await reply, { stopping: true }); // the grace period lets the running request reply
  assert.ok(repliedAfterClose);
  await closing;
  await client.close();
});

Deno.test("ipc: close() does not hang on handlers that ignore the abort signal", async () => {
  const never = Promise.withResolvers<void>();
  const started: number[] = [];
  await using f = await fixture({
    closeGraceMs: 20,
    handle: async (req) => {
      started.push(req.type === "enable" ? 1 : 0);
      await never.promise;
      return null;
    },
  });
  const r = await raw(f.socketPath);
  // More requests than may run at once on one connection: the reader is parked waiting for a slot.
  const frames = Array.from(
    { length: 20 },
    (_, i) => JSON.stringify({ id: i + 1, request: { type: "enable", profiles: ["p"] } }),
  );
  await writeAll(r.conn, enc.encode(frames.join("\n") + "\n"));
  await waitFor(() => started.length === 16, WAIT_MS, { step: 5, what: "16 running requests" });
  await f.server.close();
  assert.deepEqual(await r.rest(), []);
  r.close();
  never.resolve();
});

Deno.test("ipc: connections beyond maxConnections are refused with a reason", async () => {
  await using f = await fixture({ maxConnections: 2 });
  const a = await connect(f.socketPath);
  const b = await connect(f.socketPath);
  await assert.rejects(connect(f.socketPath), /too many connections \(limit 2\)/);
  await a.close();
  await waitFor(() => f.server.connections < 2, WAIT_MS, { step: 5, what: "a slot" });
  await statusWorks(f.socketPath);
  await b.close();
});

Deno.test("ipc: an over-long socket path is refused with a clear message", async () => {
  await assert.rejects(
    startIpcServer({
      socketPath: "/tmp/" + "x".repeat(120),
      daemonVersion: "1",
      pid: 1,
      handle: defaultHandler,
    }),
    /too long for a Unix socket/,
  );
});

Deno.test("ipc: parse of requests happens at the boundary (unknown profile list type)", async () => {
  await using f = await fixture();
  const r = await raw(f.socketPath);
  await writeFrame(r.conn, { id: 7, request: { type: "status", profiles: [1, 2] } });
  const frames = await r.rest() as { id: number; error: { code: string } }[];
  r.close();
  assert.equal(frames[0].id, 7);
  assert.equal(frames[0].error.code, "protocol");
});

Deno.test("ipc: events follow streams {id, event} frames; a bad sinceMs is refused at the boundary", async () => {
  const event = {
    at: "t",
    profile: "a",
    from: "running",
    to: "degraded",
    reason: "1 of 1 forwards down",
  } as const;
  await using f = await fixture({
    handle: async (req, ctx) => {
      if (req.type !== "events") throw new UserError("usage", "events only");
      await ctx.send({ id: ctx.requestId, event: { ...event, detail: `since ${req.sinceMs}` } });
      return { events: [] };
    },
  });
  const client = await connect(f.socketPath);
  const got: TransitionEvent[] = [];
  await client.streamEvents({ type: "events", sinceMs: 5, lines: 0, follow: true }, (e) => got.push(e));
  assert.deepEqual(got, [{ ...event, detail: "since 5" }]);
  await client.close();
  const r = await raw(f.socketPath);
  await writeFrame(r.conn, { id: 8, request: { type: "events", sinceMs: "1h", lines: 1 } });
  const frames = await r.rest() as { id: number; error: { code: string; message: string } }[];
  r.close();
  assert.deepEqual([frames[0].id, frames[0].error.code], [8, "protocol"]);
  assert.match(frames[0].error.message, /events\.sinceMs must be a number/);
});
