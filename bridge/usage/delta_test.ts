import assert from "node:assert/strict";
import { usageDeltas } from "./delta.ts";
import type { UsageRecord } from "./records.ts";

function reading(id: string, eventId: string, counts: Partial<UsageRecord> = {}): UsageRecord {
  return {
    id,
    message_key: '["acme","msg-1"]',
    message_id: "msg-1",
    model: "claude-sonnet-4-5",
    project_id: "acme",
    run_id: "r",
    session_id: "s",
    ts_ms: 0,
    stored_ms: 0,
    event_id: eventId,
    input_tokens: 0,
    output_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    ...counts,
  };
}

Deno.test("usageDeltas() counts a new response once, with its counts", () => {
  const first = reading("a", "e1", { input_tokens: 10, output_tokens: 3 });
  const { added, raised } = usageDeltas([first], { stored: [], freshIds: new Set(["e1"]) });
  assert.deepEqual(added, [first]);
  assert.deepEqual(raised.get("e1"), {
    messages: 1,
    input_tokens: 10,
    output_tokens: 3,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  });
});

Deno.test("usageDeltas() adds only what a later reading raises the maximum by", () => {
  const stored = [reading("a", "e1", { input_tokens: 10, output_tokens: 3 })];
  const later = reading("b", "e2", { input_tokens: 10, output_tokens: 8 });
  const { added, raised } = usageDeltas([later], { stored, freshIds: new Set(["e2"]) });
  assert.deepEqual(added.map((r) => r.id), ["b"]);
  assert.equal(raised.get("e2")?.messages, 0);
  assert.equal(raised.get("e2")?.output_tokens, 5);
  assert.equal(raised.get("e2")?.input_tokens, 0);
});

Deno.test("usageDeltas() gives nothing for a redelivery or a reading that raises nothing", () => {
  const stored = [reading("a", "e1", { input_tokens: 10 })];
  const again = reading("a", "e1", { input_tokens: 10 });
  const lower = reading("c", "e3", { input_tokens: 4 });
  const { added, raised } = usageDeltas([again, lower], {
    stored,
    freshIds: new Set(["e3"]),
  });
  assert.deepEqual(added.map((r) => r.id), ["c"]);
  assert.equal(raised.size, 0);
});

Deno.test("usageDeltas() counts two readings of one response in one batch once", () => {
  const partial = reading("a", "e1", { output_tokens: 2 });
  const final = reading("b", "e2", { output_tokens: 9 });
  const { raised } = usageDeltas([partial, final], {
    stored: [],
    freshIds: new Set(["e1", "e2"]),
  });
  assert.equal(raised.get("e1")?.messages, 1);
  assert.equal(raised.get("e2")?.messages, 0);
  assert.equal((raised.get("e1")?.output_tokens ?? 0) + (raised.get("e2")?.output_tokens ?? 0), 9);
});

Deno.test("usageDeltas() stores Claude Code's own report of a request but counts nothing for it", () => {
  const reported = reading("c", "e3", {
    message_key: '["acme","claude_code:req_1"]',
    input_tokens: 10,
    source: "claude_code",
    reported_cost_usd: 0.01,
  });
  const { added, raised } = usageDeltas([reported, reported], {
    stored: [],
    freshIds: new Set(["e3"]),
  });
  assert.deepEqual(added, [reported], "stored once");
  assert.equal(raised.size, 0);
});
