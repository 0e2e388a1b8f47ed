import assert from "node:assert/strict";
import { illFormedStringPath, repairStrings } from "./well_formed.ts";

Deno.test("illFormedStringPath() finds a lone surrogate in a value or key, or nothing", () => {
  assert.equal(illFormedStringPath({ a: ["ok", "\ud83d\ude00"], n: 1, z: null }), undefined);
  assert.deepEqual(illFormedStringPath({ a: [1, { b: "x\ud800" }] }), ["a", 1, "b"]);
  assert.deepEqual(illFormedStringPath({ a: { "k\udfff": 1 } }), ["a", "k\udfff"]);
  assert.deepEqual(illFormedStringPath("\udc00"), []);
});

Deno.test("repairStrings() replaces lone surrogates with U+FFFD and copies only when needed", () => {
  const clean = { a: ["ok"], b: { c: 1 } };
  assert.equal(repairStrings(clean), clean);
  const repaired = repairStrings({
    tool_name: "a\ud800b",
    data: { "k\udc00": ["\ud83d\ude00x\ud83d"] },
  });
  assert.deepEqual(repaired, {
    tool_name: "a\ufffdb",
    data: { "k\ufffd": ["\ud83d\ude00x\ufffd"] },
  });
  assert.equal(illFormedStringPath(repaired), undefined);
});
