import assert from "node:assert/strict";
import { type AddRecord, chunksByBytes, recordBytes } from "./request_bytes.ts";

Deno.test("recordBytes() is at least what the record takes in an add's JSON body", () => {
  const record: AddRecord = {
    id: crypto.randomUUID(),
    // Quotes, a newline and non-ASCII: each JSON escape or UTF-8 byte counts.
    document: JSON.stringify({ msg: 'say "hi"\nto ünïcödé ✓', data: { n: 1 } }),
    metadata: { project_id: "acme", ts_ms: Date.now(), tool_name: "Bash" },
    embedding: Array.from({ length: 384 }, () => Math.random() - 0.5),
  };
  const body = new TextEncoder().encode(JSON.stringify({
    ids: [record.id],
    documents: [record.document],
    metadatas: [record.metadata],
    embeddings: [record.embedding],
  })).byteLength;
  const wrapper = '{"ids":[],"documents":[],"metadatas":[],"embeddings":[]}'.length;
  assert.ok(recordBytes(record) >= body - wrapper, `${recordBytes(record)} < ${body - wrapper}`);
});

Deno.test("chunksByBytes() bounds each part by bytes and by count, in order", async (t) => {
  const sizeOf = (n: number) => n;
  await t.step("by bytes", () => {
    assert.deepEqual(
      chunksByBytes([4, 4, 4, 1, 9, 2], { sizeOf, maxBytes: 9, maxRecords: 10 }),
      [[4, 4], [4, 1], [9], [2]],
    );
  });
  await t.step("by count", () => {
    assert.deepEqual(
      chunksByBytes([1, 1, 1, 1, 1], { sizeOf, maxBytes: 100, maxRecords: 2 }),
      [[1, 1], [1, 1], [1]],
    );
  });
  await t.step("an item over the bound is a part of its own", () => {
    assert.deepEqual(chunksByBytes([1, 50, 1], { sizeOf, maxBytes: 10, maxRecords: 10 }), [
      [1],
      [50],
      [1],
    ]);
  });
  await t.step("nothing in, nothing out", () => {
    assert.deepEqual(chunksByBytes([], { sizeOf, maxBytes: 10, maxRecords: 10 }), []);
  });
});
