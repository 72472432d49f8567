/** Faults of the control paths: the config deleted or made invalid while reloading, hostile frames, many connections. */
import assert from "node:assert/strict";
import { writeAll } from "../../lib/ipc/framing.ts";
import { MAX_FRAME_BYTES, PROTOCOL_VERSION } from "../../lib/ipc/protocol.ts";
import { waitFor } from "../integration/harness.ts";
import { BYSTANDER, type ChaosEnv, TARGET } from "./chaos_env.ts";
import { fault } from "./suite.ts";

async function pids(env: ChaosEnv): Promise<[number | null, number | null]> {
  const s = await env.status();
  const of = (n: string) => s.profiles.find((p) => p.name === n)?.pid ?? null;
  return [of(TARGET), of(BYSTANDER)];
}

fault("config deleted and made invalid during reloads", async ({ env, run, note }) => {
  const valid = env.configText();
  const refused = async (label: string, breakIt: () => Promise<void>) => {
    await run(label, async () => {
      const before = await pids(env);
      await breakIt();
      const r = await env.cli("reload");
      assert.equal(r.code, 4, r.stdout + r.stderr);
      env.t.daemon!.kill("SIGHUP");
      env.t.daemon!.kill("SIGHUP");
      // Both reloads (the CLI's and the SIGHUPs') are over once another reload answers.
      assert.equal((await env.cli("reload")).code, 4);
      assert.deepEqual(await pids(env), before, "nothing was stopped or restarted");
      await Deno.remove(env.t.configPath, { recursive: true }).catch(() => {});
      await env.t.writeConfig(valid);
      const ok = await env.cli("reload");
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.deepEqual(await pids(env), before, "a reload of the same config changes nothing");
    });
  };
  await refused("config deleted", () => Deno.remove(env.t.configPath));
  await refused("invalid YAML", () => env.t.writeConfig("profiles: [\n  oops"));
  await refused(
    "invalid values",
    () => env.t.writeConfig(valid.replace("initial_delay: 100ms", "initial_delay: soon")),
  );
  await refused("replaced by a directory", async () => {
    await Deno.remove(env.t.configPath);
    await Deno.mkdir(env.t.configPath);
  });
  await run("40 rewrites (valid, invalid, missing) under 20 reloads and 20 SIGHUPs", async () => {
    const changed = env.configText("    allow_empty: true\n");
    const versions = [changed, "profiles: [", "", valid, changed];
    const writer = (async () => {
      for (let i = 0; i < 40; i++) {
        const text = versions[i % versions.length];
        if (text === "") await Deno.remove(env.t.configPath).catch(() => {});
        else await env.t.writeConfig(text);
        if (i % 2 === 0) env.t.daemon!.kill("SIGHUP");
        await new Promise((r) => setTimeout(r, 10)); // pacing the writer against the reloads, not a wait for a result
      }
    })();
    const reloads = await Promise.all([writer, ...Array.from({ length: 20 }, () => env.cli("reload"))]);
    const codes = reloads.slice(1).map((r) => (r as { code: number }).code);
    assert.ok(codes.every((c) => c === 0 || c === 4), `reload exit codes ${codes}`);
    note(
      `storm: ${codes.filter((c) => c === 0).length} reloads applied, ${
        codes.filter((c) => c === 4).length
      } refused`,
    );
    await env.t.writeConfig(changed);
    assert.equal((await env.cli("reload")).code, 0);
    const last = await env.cli("--json", "reload");
    assert.equal(last.code, 0);
    assert.deepEqual(JSON.parse(last.stdout).changed, [], "the final config is in effect");
    await env.waitHealthy(TARGET);
    await env.waitHealthy(BYSTANDER);
  });
});

const enc = new TextEncoder();

/** The malformed frames, cycled through; none of them is a valid request. */
function malformedFrames(): [string, Uint8Array][] {
  const hello = JSON.stringify({ type: "hello", protocolVersion: PROTOCOL_VERSION, clientVersion: "chaos" }) +
    "\n";
  const text = (s: string) => enc.encode(s);
  return [
    ["not JSON", text("not json\n")],
    ["invalid UTF-8", new Uint8Array([0xff, 0xfe, 0xc3, 0x28, 0x0a])],
    ["NUL bytes", new Uint8Array([0, 0, 0, 0x7b, 0, 0x0a])],
    ["truncated", text('{"type":"hel\n')],
    ["array", text("[1,2,3]\n")],
    ["number", text("1e999\n")],
    ["hello with a string version", text('{"type":"hello","protocolVersion":"1","clientVersion":"x"}\n')],
    ["hello with version 1e309", text('{"type":"hello","protocolVersion":1e309,"clientVersion":"x"}\n')],
    ["prototype keys", text('{"__proto__":{"type":"hello"},"constructor":{"prototype":{"ok":true}}}\n')],
    ["deep nesting", text("[".repeat(50_000) + "]".repeat(50_000) + "\n")],
    ["request before hello", text('{"id":1,"request":{"type":"status","profiles":[]}}\n')],
    ["hello, then unknown verb", text(hello + '{"id":1,"request":{"type":"format-disk"}}\n')],
    ["hello, then fractional id", text(hello + '{"id":1.5,"request":{"type":"status","profiles":[]}}\n')],
    [
      "hello, then profiles not a list",
      text(hello + '{"id":2,"request":{"type":"stop","profiles":"alpha"}}\n'),
    ],
    ["hello, then a huge id", text(hello + '{"id":1e400,"request":{"type":"stop","profiles":[]}}\n')],
    ["CRs only", text("\r\r\r\r\n")],
  ];
}

fault("10,000 malformed frames", async ({ env, run, note }) => {
  await run("10,000 frames over 10,000 connections, 200 at a time", async () => {
    const kinds = malformedFrames();
    const counts = { sent: 0, answered: 0, closed: 0, unanswered: 0, accepted: 0 };
    const stuck = new Map<string, number>();
    const one = async (i: number) => {
      const [kind, bytes] = i % 1000 === 999
        ? ["oversized", enc.encode("x".repeat(MAX_FRAME_BYTES + 16) + "\n")]
        : kinds[i % kinds.length];
      const conn = await Deno.connect({ transport: "unix", path: env.t.socketPath });
      const exchange = (async () => {
        await writeAll(conn, bytes).catch(() => {}); // a write may be partial: the whole frame goes out
        let text = "";
        const buf = new Uint8Array(8192);
        for (;;) {
          const n = await conn.read(buf).catch(() => null);
          if (n === null) return text;
          text += new TextDecoder().decode(buf.subarray(0, n));
        }
      })();
      counts.sent++;
      // One deadline for the whole exchange (the daemon's own handshake timeout is 5 s).
      let timer: ReturnType<typeof setTimeout> | undefined;
      const text = await Promise.race([
        exchange,
        new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), 7000)),
      ]);
      clearTimeout(timer);
      try {
        conn.close();
      } catch { /* closed */ }
      if (text === undefined) {
        counts.unanswered++;
        stuck.set(kind, (stuck.get(kind) ?? 0) + 1);
      } else if (/"ok":true,"result"/.test(text)) counts.accepted++;
      else if (text.includes('"ok":false')) counts.answered++;
      else counts.closed++;
    };
    // 200 connections at a time, each taking the next frame when done: a frame that is no complete hello
    // (blank, cut off) waits for the daemon's 5 s handshake timeout without holding the others up.
    let next = 0;
    await Promise.all(Array.from({ length: 200 }, async () => {
      while (next < 10_000) await one(next++);
    }));
    note(
      `${counts.sent} sent: ${counts.answered} answered with an error, ${counts.closed} closed, ${counts.unanswered} unanswered after 7 s`,
    );
    assert.equal(counts.sent, 10_000);
    assert.equal(counts.accepted, 0, "no malformed frame was obeyed");
    assert.equal(
      counts.unanswered,
      0,
      `every connection got an error or was closed; stuck: ${JSON.stringify([...stuck])}`,
    );
    const rss = Number(
      /VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${env.daemonPid}/status`))?.[1] ?? 0,
    );
    note(`daemon RSS after: ${(rss / 1024).toFixed(0)} MB`);
  });
});

interface Held {
  conn: Deno.Conn;
  read: () => Promise<string>;
}

async function openHello(path: string): Promise<Held> {
  const conn = await Deno.connect({ transport: "unix", path });
  let buffered = "";
  const dec = new TextDecoder();
  const read = async () => {
    const buf = new Uint8Array(65536);
    while (!buffered.includes("\n")) {
      const n = await conn.read(buf);
      if (n === null) throw new Error(`closed; got ${buffered}`);
      buffered += dec.decode(buf.subarray(0, n), { stream: true });
    }
    const at = buffered.indexOf("\n");
    const line = buffered.slice(0, at);
    buffered = buffered.slice(at + 1);
    return line;
  };
  await conn.write(
    enc.encode(
      JSON.stringify({ type: "hello", protocolVersion: PROTOCOL_VERSION, clientVersion: "chaos" }) + "\n",
    ),
  );
  const hello = JSON.parse(await read());
  if (!hello.ok) throw new Error(`hello refused: ${JSON.stringify(hello)}`);
  return { conn, read };
}

fault("1,000 connections", async ({ env, run, note }) => {
  await run("1,000 connections held: all served, the 1,001st refused clearly", async () => {
    const held: Held[] = [];
    try {
      for (let i = 0; i < 1000; i += 100) {
        held.push(...await Promise.all(Array.from({ length: 100 }, () => openHello(env.t.socketPath))));
      }
      const extra = await env.cli("status");
      assert.notEqual(extra.code, 0, "beyond the cap");
      assert.match(extra.stderr, /too many connections/);
      const t0 = Date.now();
      const replies = await Promise.all(held.map(async (h, i) => {
        await h.conn.write(
          enc.encode(JSON.stringify({ id: i + 1, request: { type: "status", profiles: [] } }) + "\n"),
        );
        return JSON.parse(await h.read());
      }));
      assert.ok(replies.every((r) => r.ok === true), "every held connection answered");
      note(`1,000 status requests on held connections in ${Date.now() - t0} ms`);
    } finally {
      for (const h of held) {
        try {
          h.conn.close();
        } catch { /* closed */ }
      }
    }
    await waitFor(async () => (await env.cli("status")).code === 0, "the CLI served again", 15_000);
  });
  await run("1,000 silent connections are dropped at the handshake timeout", async () => {
    const silent = await Promise.all(
      Array.from({ length: 1000 }, () => Deno.connect({ transport: "unix", path: env.t.socketPath })),
    );
    try {
      const ends = await Promise.all(silent.map(async (c) => {
        const buf = new Uint8Array(4096);
        const timer = setTimeout(() => c.close(), 15_000);
        let n: number | null = 0;
        while (n !== null) n = await c.read(buf).catch(() => null);
        clearTimeout(timer);
        return true;
      }));
      assert.equal(ends.length, 1000);
    } finally {
      for (const c of silent) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    }
    await waitFor(async () => (await env.cli("status")).code === 0, "the CLI served again", 15_000);
  });
});
