import assert from "node:assert/strict";
import { allocateBaseIp, isUsableBaseIp } from "./ip_alloc.ts";

Deno.test("allocateBaseIp: 127.N.27.1 from N=3, skipping used ranges", () => {
  const table: [string[], string][] = [
    [[], "127.3.27.1"],
    [["127.3.27.1"], "127.4.27.1"],
    [["127.4.27.1"], "127.3.27.1"],
    [["127.3.27.1", "127.4.27.1", "127.6.27.1"], "127.5.27.1"],
    [["127.3.99.7"], "127.4.27.1"], // any address in 127.3/16 blocks it
    [["127.1.27.1", "127.2.27.1", "127.0.0.1"], "127.3.27.1"],
    [["garbage", "10.3.27.1", "127.300.1.1"], "127.3.27.1"],
  ];
  for (const [used, expected] of table) assert.equal(allocateBaseIp(used), expected, JSON.stringify(used));
});

Deno.test("allocateBaseIp: never 127.0/127.1/127.2, distinct for many profiles, throws when full", () => {
  const used: string[] = [];
  for (let i = 0; i < 253; i++) {
    const ip = allocateBaseIp(used);
    assert.ok(!/^127\.[012]\./.test(ip), ip);
    assert.ok(!used.includes(ip));
    used.push(ip);
  }
  assert.equal(used[252], "127.255.27.1");
  assert.throws(() => allocateBaseIp(used), /no free/);
});

Deno.test("isUsableBaseIp", () => {
  assert.equal(isUsableBaseIp(undefined, []), false);
  assert.equal(isUsableBaseIp("127.3.27.1", []), true);
  assert.equal(isUsableBaseIp("127.3.27.1", ["127.4.27.1"]), true);
  assert.equal(isUsableBaseIp("127.3.27.1", ["127.3.27.1"]), false);
  assert.equal(isUsableBaseIp("127.1.27.1", []), false);
  assert.equal(isUsableBaseIp("127.2.27.1", []), false);
  assert.equal(isUsableBaseIp("127.3.28.1", []), false);
  assert.equal(isUsableBaseIp("10.3.27.1", []), false);
});
