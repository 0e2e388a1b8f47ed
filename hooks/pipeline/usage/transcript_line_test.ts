import assert from "node:assert/strict";
import { foldUsage, type MessageUsage, usageOfLine } from "./transcript_line.ts";

const line = (fields: Record<string, unknown>, usage: Record<string, unknown> = {}) =>
  JSON.stringify({
    type: "assistant",
    sessionId: "s-1",
    requestId: "req_1",
    timestamp: "2026-11-20T10:00:05.000Z",
    message: {
      id: "msg_1",
      model: "claude-sonnet-4-5",
      content: [{ type: "text", text: "secret words" }],
      usage: { input_tokens: 10, output_tokens: 2, ...usage },
    },
    ...fields,
  });

Deno.test("usageOfLine() keeps ids, model, time and the four counts, nothing else", () => {
  const usage = usageOfLine(line({}, { cache_read_input_tokens: 7 }));
  assert.deepEqual(usage, {
    message_id: "msg_1",
    model: "claude-sonnet-4-5",
    input_tokens: 10,
    output_tokens: 2,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 7,
    ts_ms: Date.parse("2026-11-20T10:00:05.000Z"),
    request_id: "req_1",
    session_id: "s-1",
  });
  assert.ok(!JSON.stringify(usage).includes("secret words"));
});

Deno.test("usageOfLine() reports nothing for lines that bill nothing", async (t) => {
  await t.step("the <synthetic> model", () => {
    const synthetic = JSON.parse(line({}));
    synthetic.message.model = "<synthetic>";
    assert.equal(usageOfLine(JSON.stringify(synthetic)), undefined);
  });
  await t.step("a user line, even one quoting an assistant line", () => {
    assert.equal(usageOfLine(line({ type: "user" })), undefined);
    const quoted = JSON.stringify({ type: "user", message: { content: line({}) } });
    assert.equal(usageOfLine(quoted), undefined);
  });
  await t.step("no message id, no usage, not JSON", () => {
    const noId = JSON.parse(line({}));
    delete noId.message.id;
    assert.equal(usageOfLine(JSON.stringify(noId)), undefined);
    const noUsage = JSON.parse(line({}));
    delete noUsage.message.usage;
    assert.equal(usageOfLine(JSON.stringify(noUsage)), undefined);
    assert.equal(usageOfLine(line({}).slice(0, 80)), undefined);
  });
  await t.step("bad counts count as 0", () => {
    const usage = usageOfLine(line({}, { input_tokens: -5, output_tokens: "9" }));
    assert.equal(usage?.input_tokens, 0);
    assert.equal(usage?.output_tokens, 0);
  });
});

Deno.test("foldUsage() takes the maximum of each field and the earliest time per message", () => {
  const messages = new Map<string, MessageUsage>();
  const first = usageOfLine(
    line({ timestamp: "2026-11-20T10:00:12.000Z" }, { output_tokens: 1, input_tokens: 300 }),
  )!;
  const second = usageOfLine(
    line({ timestamp: "2026-11-20T10:00:13.000Z" }, { output_tokens: 95, input_tokens: 200 }),
  )!;
  foldUsage(messages, second);
  foldUsage(messages, first);
  assert.equal(messages.size, 1);
  const folded = messages.get("msg_1")!;
  assert.equal(folded.output_tokens, 95);
  assert.equal(folded.input_tokens, 300);
  assert.equal(folded.ts_ms, Date.parse("2026-11-20T10:00:12.000Z"));
});
