import assert from "node:assert/strict";
import { formatSse } from "../live.ts";
import { createSseParser, type SseMessage } from "./static/sse.js";

function parseAll(chunks: string[]): SseMessage[] {
  const messages: SseMessage[] = [];
  const parser = createSseParser((message) => messages.push(message));
  for (const chunk of chunks) parser.push(chunk);
  return messages;
}

Deno.test("createSseParser() reads what the bridge's live hub writes, in any chunking", () => {
  const text = formatSse({ event: "ready", data: "{}" }) + ": heartbeat\n\n" +
    formatSse({ id: "e1", event: "envelope", data: '{"a":1}' }) +
    formatSse({ id: "e2", event: "envelope", data: "two\nlines" });
  const expected = [
    { event: "ready", data: "{}" },
    { event: "envelope", data: '{"a":1}', id: "e1" },
    { event: "envelope", data: "two\nlines", id: "e2" },
  ];
  assert.deepEqual(parseAll([text]), expected);
  // Every split point, including inside a line break.
  for (let i = 1; i < text.length; i++) {
    assert.deepEqual(parseAll([text.slice(0, i), text.slice(i)]), expected, `split at ${i}`);
  }
  assert.deepEqual(parseAll([...text]), expected);
});

Deno.test("createSseParser() follows the format's rules", async (t) => {
  await t.step("CRLF and CR line ends, split between \\r and \\n", () => {
    assert.deepEqual(parseAll(["data: a\r", "\n\r\ndata: b\r\r\n"]), [
      { event: "message", data: "a" },
      { event: "message", data: "b" },
    ]);
  });
  await t.step("no space after the colon, a field without value, comments", () => {
    assert.deepEqual(parseAll([":c\ndata:x\ndata\n\n"]), [{ event: "message", data: "x\n" }]);
  });
  await t.step("a message without data is not dispatched; the id carries over", () => {
    assert.deepEqual(parseAll(["id: 5\n\nevent: x\n\ndata: y\n\n"]), [
      { event: "message", data: "y", id: "5" },
    ]);
  });
  await t.step("an incomplete message waits for its blank line", () => {
    assert.deepEqual(parseAll(["data: half"]), []);
  });
});
