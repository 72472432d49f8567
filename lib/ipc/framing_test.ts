import assert from "node:assert/strict";
import {
  type ByteSink,
  type ByteSource,
  encodeFrame,
  FrameError,
  FrameReader,
  writeFrame,
} from "./framing.ts";

const enc = new TextEncoder();

/** A source that yields exactly the given chunks, one per read (chunks larger than the buffer are split). */
function chunks(...parts: (string | Uint8Array)[]): ByteSource {
  const queue = parts.map((p) => typeof p === "string" ? enc.encode(p) : p);
  return {
    read(buffer: Uint8Array): Promise<number | null> {
      const head = queue.shift();
      if (head === undefined) return Promise.resolve(null);
      const n = Math.min(head.length, buffer.length);
      buffer.set(head.subarray(0, n));
      if (n < head.length) queue.unshift(head.subarray(n));
      return Promise.resolve(n);
    },
  };
}

async function readAll(reader: FrameReader): Promise<unknown[]> {
  const out: unknown[] = [];
  for (;;) {
    const frame = await reader.next();
    if (frame === undefined) return out;
    out.push(frame);
  }
}

async function expectFrameError(promise: Promise<unknown>, kind: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => err instanceof FrameError && err.kind === kind);
}

Deno.test("framing: one frame per chunk", async () => {
  const r = new FrameReader(chunks('{"a":1}\n', '{"b":2}\n'));
  assert.deepEqual(await readAll(r), [{ a: 1 }, { b: 2 }]);
});

Deno.test("framing: several frames in one chunk, and a frame split over chunks", async () => {
  const r = new FrameReader(chunks('{"a":1}\n{"b"', ':2}\n{"c":3}\n[4', ",5", "]\n"));
  assert.deepEqual(await readAll(r), [{ a: 1 }, { b: 2 }, { c: 3 }, [4, 5]]);
});

Deno.test("framing: byte-at-a-time delivery", async () => {
  const text = '{"x":"hello"}\n{"y":[1,2,3]}\n';
  const r = new FrameReader(chunks(...text.split("")));
  assert.deepEqual(await readAll(r), [{ x: "hello" }, { y: [1, 2, 3] }]);
});

Deno.test("framing: multi-byte UTF-8 split across chunk boundary", async () => {
  const bytes = enc.encode('{"s":"ünï😀kode"}\n');
  const emoji = bytes.indexOf(0xf0);
  const r = new FrameReader(chunks(bytes.subarray(0, emoji + 2), bytes.subarray(emoji + 2)));
  assert.deepEqual(await readAll(r), [{ s: "ünï😀kode" }]);
});

Deno.test("framing: blank lines and CRLF are tolerated", async () => {
  const r = new FrameReader(chunks('\n\r\n{"a":1}\r\n\n'));
  assert.deepEqual(await readAll(r), [{ a: 1 }]);
});

Deno.test("framing: invalid JSON throws and the next frame still decodes", async () => {
  const r = new FrameReader(chunks('{"a":\n{"b":1}\n'));
  await expectFrameError(r.next(), "invalid_json");
  assert.deepEqual(await r.next(), { b: 1 });
  assert.equal(await r.next(), undefined);
});

Deno.test("framing: invalid UTF-8 throws", async () => {
  const r = new FrameReader(chunks(new Uint8Array([0x22, 0xff, 0xfe, 0x22, 0x0a]), '"ok"\n'));
  await expectFrameError(r.next(), "invalid_utf8");
  assert.equal(await r.next(), "ok");
});

Deno.test("framing: oversized frame within one chunk", async () => {
  const r = new FrameReader(chunks(`"${"x".repeat(20)}"\n{"ok":true}\n`), { maxBytes: 12 });
  await expectFrameError(r.next(), "oversized");
  assert.deepEqual(await r.next(), { ok: true });
});

Deno.test("framing: oversized frame spanning chunks is reported early and skipped to its newline", async () => {
  const r = new FrameReader(
    chunks('"aaaaaa', "aaaaaa", "aaaaaaaaaa", "aaaaaa", 'aa"\n{"ok":1}\n'),
    { maxBytes: 10 },
  );
  await expectFrameError(r.next(), "oversized");
  assert.deepEqual(await r.next(), { ok: 1 });
  assert.equal(await r.next(), undefined);
});

Deno.test("framing: frame of exactly maxBytes is accepted, one more byte is not", async () => {
  const exact = `"${"y".repeat(8)}"`; // 10 bytes
  assert.deepEqual(await readAll(new FrameReader(chunks(exact + "\n"), { maxBytes: 10 })), ["y".repeat(8)]);
  const r = new FrameReader(chunks(`"${"y".repeat(9)}"\n`), { maxBytes: 10 });
  await expectFrameError(r.next(), "oversized");
});

Deno.test("framing: oversized frame cut by EOF ends cleanly", async () => {
  const r = new FrameReader(chunks('"aaaaaaaaaaaaaaaaaaaaaaaaaaaa', "aaaa"), { maxBytes: 10 });
  await expectFrameError(r.next(), "oversized");
  assert.equal(await r.next(), undefined);
});

Deno.test("framing: a partial frame at EOF is truncated", async () => {
  const r = new FrameReader(chunks('{"a":1}\n{"b":'));
  assert.deepEqual(await r.next(), { a: 1 });
  await expectFrameError(r.next(), "truncated");
  assert.equal(await r.next(), undefined);
});

Deno.test("framing: a 1 MiB frame in 64 KiB reads decodes (default limit)", async () => {
  const big = "z".repeat(1024 * 1024 - 2);
  const r = new FrameReader(chunks(`"${big}"\n`));
  const frame = await r.next();
  assert.equal((frame as string).length, big.length);
  await expectFrameError(new FrameReader(chunks(`"${big}z"\n`)).next(), "oversized");
});

Deno.test("framing: a small read buffer still assembles large frames", async () => {
  const value = { s: "é".repeat(5000), n: [1, 2, 3] };
  const r = new FrameReader(chunks(JSON.stringify(value) + "\n" + JSON.stringify(value) + "\n"), {
    bufferBytes: 7,
  });
  assert.deepEqual(await readAll(r), [value, value]);
});

Deno.test("framing: connection reset reads as EOF", async () => {
  const r = new FrameReader({ read: () => Promise.reject(new Deno.errors.ConnectionReset("reset")) });
  assert.equal(await r.next(), undefined);
  const other = new FrameReader({ read: () => Promise.reject(new Error("boom")) });
  await assert.rejects(other.next(), /boom/);
});

Deno.test("framing: writeFrame loops over partial writes", async () => {
  const written: number[] = [];
  const sink: ByteSink = {
    write(data: Uint8Array): Promise<number> {
      const n = Math.min(3, data.length);
      written.push(...data.subarray(0, n));
      return Promise.resolve(n);
    },
  };
  await writeFrame(sink, { msg: "héllo" });
  assert.equal(new TextDecoder().decode(new Uint8Array(written)), '{"msg":"héllo"}\n');
});

Deno.test("framing: encodeFrame refuses frames over the limit and non-JSON values", () => {
  assert.throws(() => encodeFrame("x".repeat(20), 10), (e: unknown) => e instanceof FrameError);
  assert.throws(() => encodeFrame(undefined), TypeError);
  assert.equal(encodeFrame({ a: 1 }).at(-1), 0x0a);
});
