import assert from "node:assert/strict";
import { randomWriterId, WriteSequence } from "./writer_stamp.ts";

Deno.test("WriteSequence hands out growing numbers even when the clock steps back", () => {
  const clock = [1_000, 1_000, 999, 5_000];
  const seq = new WriteSequence("bridge-a", { now: () => clock.shift()! });
  const seen = [seq.next().seq, seq.next().seq, seq.next().seq, seq.next().seq];
  assert.deepEqual(seen, [1_000_000, 1_000_001, 1_000_002, 5_000_000]);
});

Deno.test("WriteSequence numbers are near the wall clock, in microseconds", () => {
  const before = Date.now();
  const { seq, writer } = new WriteSequence("bridge-a").next();
  assert.equal(writer, "bridge-a");
  assert.ok(seq >= WriteSequence.seqAt(before) && seq <= WriteSequence.seqAt(Date.now()) + 1);
  assert.ok(Number.isSafeInteger(seq));
});

Deno.test("WriteSequence refuses an empty, overlong or malformed writer id", () => {
  assert.throws(() => new WriteSequence(""), /1-128 characters/);
  assert.throws(() => new WriteSequence("x".repeat(129)), RangeError);
  assert.throws(() => new WriteSequence("a\ud800"), RangeError);
});

Deno.test("randomWriterId() differs between bridges", () => {
  assert.notEqual(randomWriterId(), randomWriterId());
});
