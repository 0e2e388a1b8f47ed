import assert from "node:assert/strict";
import { appendDeadLetters } from "./dead_letter.ts";
import { appendQuarantine, QUARANTINE_LINE_CHARS } from "./quarantine.ts";
import { readJsonl } from "../../testing/relay.ts";

Deno.test("appendQuarantine() keeps where a bad line was and cuts long ones", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/relay/quarantine.jsonl`;
    const now = Date.parse("2026-05-01T10:00:00Z");
    await appendQuarantine(path, [
      { segment: "20260501T095900Z.jsonl", offset: 120, reason: "not JSON", line: "{oops" },
      {
        segment: "20260501T095900Z.jsonl",
        offset: 126,
        reason: "not JSON",
        line: "x".repeat(50_000),
      },
    ], now);
    const records = await readJsonl(path);
    assert.deepEqual(records[0], {
      at: "2026-05-01T10:00:00.000Z",
      segment: "20260501T095900Z.jsonl",
      offset: 120,
      reason: "not JSON",
      line: "{oops",
    });
    assert.equal(String(records[1]!.line).length, QUARANTINE_LINE_CHARS);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(`${dir}/relay`)).mode! & 0o777, 0o700);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("appendDeadLetters() appends the event with the bridge's reason", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/dead_letter.jsonl`;
    await appendDeadLetters(path, [{ reason: "ts: invalid", event: { event_id: "e1" } }]);
    await appendDeadLetters(path, [{ reason: "too large", event: { event_id: "e2" } }]);
    await appendDeadLetters(path, []);
    const records = await readJsonl(path);
    assert.deepEqual(records.map((r) => [r.reason, (r.event as { event_id: string }).event_id]), [
      ["ts: invalid", "e1"],
      ["too large", "e2"],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
