import assert from "node:assert/strict";
import { uuidV7Time } from "../../../shared/ids.ts";
import { createRedactor } from "../../../shared/redact.ts";
import { parseEvent } from "../../../shared/schema.ts";
import { usageDataOf } from "../../../shared/usage/usage_event.ts";
import type { MessageUsage } from "./transcript_line.ts";
import { deterministicUuidV7, usageEvent } from "./usage_event_builder.ts";

const MESSAGE: MessageUsage = {
  message_id: "msg_01ABC",
  model: "claude-sonnet-4-5",
  input_tokens: 1200,
  output_tokens: 310,
  cache_creation_input_tokens: 5000,
  cache_read_input_tokens: 0,
  ts_ms: Date.parse("2026-11-20T10:00:05.000Z"),
  request_id: "req_1",
  session_id: "s-1",
};
const CONTEXT = { session_id: "s-1", run_id: "r-1", worker_id: "vm-1", project_id: "acme" };

Deno.test("usageEvent() is a valid usage envelope holding counts and ids only", async () => {
  const redactor = await createRedactor({ mode: "strict", salt: "s" });
  const event = await usageEvent(MESSAGE, CONTEXT, { redactor, transcript: "main" });
  const parsed = parseEvent(event);
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.error);
  assert.equal(event.event_type, "usage");
  assert.equal(event.ts, "2026-11-20T10:00:05.000Z");
  assert.equal(uuidV7Time(event.event_id), Date.parse(event.ts));
  assert.deepEqual(event.data, {
    model: "claude-sonnet-4-5",
    message_id: "msg_01ABC",
    request_id: "req_1",
    input_tokens: 1200,
    output_tokens: 310,
    cache_creation_input_tokens: 5000,
    cache_read_input_tokens: 0,
    transcript: "main",
  });
  assert.equal(event.indexable_text, undefined);
  assert.deepEqual(usageDataOf(event), event.data);
});

Deno.test("usageEvent() gives the same event_id and hash to the same reading", async () => {
  const redactor = await createRedactor({ mode: "standard" });
  const options = { redactor, transcript: "main" as const };
  const a = await usageEvent(MESSAGE, CONTEXT, { ...options, now: 1 });
  const b = await usageEvent(MESSAGE, CONTEXT, { ...options, now: 2 });
  assert.equal(a.event_id, b.event_id);
  assert.equal(a.hash, b.hash);
  const more = await usageEvent({ ...MESSAGE, output_tokens: 311 }, CONTEXT, options);
  assert.notEqual(more.event_id, a.event_id);
  const other = await usageEvent(MESSAGE, { ...CONTEXT, session_id: "s-2" }, options);
  assert.notEqual(other.event_id, a.event_id);
});

Deno.test("deterministicUuidV7() makes a v7 UUID carrying the time", () => {
  const id = deterministicUuidV7(1_700_000_000_123, "f".repeat(64));
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(uuidV7Time(id), 1_700_000_000_123);
  assert.throws(() => deterministicUuidV7(-1, "f".repeat(64)), RangeError);
});
