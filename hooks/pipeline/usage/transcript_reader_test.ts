import assert from "node:assert/strict";
import { HEAD_BYTES, readTranscriptUsage } from "./transcript_reader.ts";
import { addTokens, type TokenCounts, zeroTokens } from "../../../shared/usage/tokens.ts";
import type { MessageUsage } from "./transcript_line.ts";

const FIXTURE = new URL("../../../testdata/claude-code/transcript.jsonl", import.meta.url).pathname;

function totals(messages: readonly MessageUsage[]): TokenCounts {
  return messages.reduce((sum, m) => addTokens(sum, m), zeroTokens());
}

const assistant = (id: string, output: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    type: "assistant",
    timestamp: "2026-11-21T09:00:00.000Z",
    message: {
      id,
      model: "claude-opus-4-5",
      usage: { input_tokens: 100, output_tokens: output, cache_read_input_tokens: 10 },
    },
    ...extra,
  }) + "\n";

async function withFile(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(`${dir}/session.jsonl`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("readTranscriptUsage() gives the fixture's expected totals", async () => {
  const read = await readTranscriptUsage(FIXTURE);
  assert.equal(read.messages.length, 2);
  assert.deepEqual(read.messages.map((m) => m.model), ["claude-sonnet-4-5", "claude-sonnet-4-5"]);
  assert.deepEqual(totals(read.messages), {
    input_tokens: 1500,
    output_tokens: 405,
    cache_creation_input_tokens: 5000,
    cache_read_input_tokens: 6200,
  });
  assert.equal(read.cursor.offset, (await Deno.stat(FIXTURE)).size);
  // Every line of the fixture, read one small chunk at a time, gives the same.
  const chunked = await readTranscriptUsage(FIXTURE, undefined, { chunkBytes: 64 });
  assert.deepEqual(chunked.messages, read.messages);
  // From the end, nothing more.
  const again = await readTranscriptUsage(FIXTURE, read.cursor);
  assert.equal(again.messages.length, 0);
  assert.deepEqual(again.cursor, read.cursor);
});

Deno.test("readTranscriptUsage() leaves a partial last line for the next reading", async () => {
  await withFile(async (path) => {
    const whole = assistant("msg_a", 5);
    const next = assistant("msg_b", 7);
    await Deno.writeTextFile(path, whole + next.slice(0, 30));
    const first = await readTranscriptUsage(path);
    assert.deepEqual(first.messages.map((m) => m.message_id), ["msg_a"]);
    assert.equal(first.cursor.offset, new TextEncoder().encode(whole).length);
    await Deno.writeTextFile(path, next.slice(30), { append: true });
    const second = await readTranscriptUsage(path, first.cursor);
    assert.deepEqual(second.messages.map((m) => [m.message_id, m.output_tokens]), [["msg_b", 7]]);
    assert.equal(second.restarted, undefined);
  });
});

Deno.test("readTranscriptUsage() reads from the start a truncated or rotated file", async (t) => {
  await withFile(async (path) => {
    await Deno.writeTextFile(path, assistant("msg_a", 5) + assistant("msg_b", 6));
    const first = await readTranscriptUsage(path);
    await t.step("truncated: shorter than the saved position", async () => {
      await Deno.writeTextFile(path, assistant("msg_c", 1));
      const read = await readTranscriptUsage(path, first.cursor);
      assert.equal(read.restarted, "truncated");
      assert.deepEqual(read.messages.map((m) => m.message_id), ["msg_c"]);
    });
    await t.step("rotated: as long or longer, but other first bytes", async () => {
      await Deno.writeTextFile(path, assistant("msg_x", 5) + assistant("msg_y", 6) + "\n\n");
      const read = await readTranscriptUsage(path, first.cursor);
      assert.equal(read.restarted, "rotated");
      assert.deepEqual(read.messages.map((m) => m.message_id), ["msg_x", "msg_y"]);
    });
  });
});

Deno.test("readTranscriptUsage() keeps the head hash past HEAD_BYTES and folds duplicates", async () => {
  await withFile(async (path) => {
    const filler = JSON.stringify({ type: "user", message: { content: "x".repeat(HEAD_BYTES) } });
    // One response streamed over lines far apart, partial output first.
    await Deno.writeTextFile(
      path,
      assistant("msg_a", 1) + filler + "\n" + assistant("msg_a", 90) + assistant("msg_a", 40),
    );
    const first = await readTranscriptUsage(path, undefined, { chunkBytes: 100 });
    assert.equal(first.messages.length, 1);
    assert.equal(first.messages[0]!.output_tokens, 90);
    await Deno.writeTextFile(path, assistant("msg_b", 2), { append: true });
    const second = await readTranscriptUsage(path, first.cursor);
    assert.equal(second.cursor.head, first.cursor.head);
    assert.deepEqual(second.messages.map((m) => m.message_id), ["msg_b"]);
  });
});
