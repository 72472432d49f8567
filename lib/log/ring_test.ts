import assert from "node:assert/strict";
import { RingBuffer } from "./ring.ts";

Deno.test("ring: fills, then overwrites the oldest", () => {
  const ring = new RingBuffer<number>(3);
  assert.deepEqual(ring.toArray(), []);
  ring.push(1);
  ring.push(2);
  assert.deepEqual(ring.toArray(), [1, 2]);
  assert.equal(ring.size, 2);
  for (let i = 3; i <= 7; i++) ring.push(i);
  assert.deepEqual(ring.toArray(), [5, 6, 7]);
  assert.equal(ring.size, 3);
});

Deno.test("ring: last(n) returns the newest n, oldest first, across the wrap point", () => {
  const ring = new RingBuffer<string>(4);
  for (const s of ["a", "b", "c", "d", "e", "f"]) ring.push(s);
  assert.deepEqual(ring.last(2), ["e", "f"]);
  assert.deepEqual(ring.last(3), ["d", "e", "f"]);
  assert.deepEqual(ring.last(100), ["c", "d", "e", "f"]);
  assert.deepEqual(ring.last(0), []);
  assert.deepEqual(ring.last(-5), []);
});

Deno.test("ring: clear empties; capacity 1 keeps the newest", () => {
  const ring = new RingBuffer<number>(1);
  ring.push(1);
  ring.push(2);
  assert.deepEqual(ring.toArray(), [2]);
  ring.clear();
  assert.deepEqual(ring.toArray(), []);
  ring.push(3);
  assert.deepEqual(ring.toArray(), [3]);
});

Deno.test("ring: rejects a non-positive capacity", () => {
  assert.throws(() => new RingBuffer(0), RangeError);
  assert.throws(() => new RingBuffer(1.5), RangeError);
});

Deno.test("ring: matches a naive model over many random operations", () => {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (const capacity of [1, 2, 5, 17]) {
    const ring = new RingBuffer<number>(capacity);
    let model: number[] = [];
    for (let i = 0; i < 500; i++) {
      if (random() < 0.02) {
        ring.clear();
        model = [];
      } else {
        ring.push(i);
        model.push(i);
        if (model.length > capacity) model.shift();
      }
      const n = Math.floor(random() * (capacity + 2));
      assert.deepEqual(ring.last(n), model.slice(Math.max(0, model.length - n)));
    }
  }
});
