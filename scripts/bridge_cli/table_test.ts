import assert from "node:assert/strict";
import { makeEvent } from "../../bridge/testing/fakes.ts";
import { localTime, shortId, tableLines } from "./table.ts";

Deno.test("tableLines() writes one padded line per record, the message cut to fit", async () => {
  const event = await makeEvent({
    session_id: "00893aaf-19fa-41d2-8238-13269b9b3ca0",
    worker_id: "vm-1",
    tool_name: "Bash",
    hook_event_name: "PostToolUse",
    msg: `Bash done: npm test\nsecond line ${"x".repeat(300)}`,
  });
  const lines = tableLines("events", [event], { columns: 160 });
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^TIME\s+EVENT\s+TOOL\s+LEVEL\s+SESSION\s+WORKER\s+MESSAGE$/);
  assert.match(
    lines[1]!,
    /PostToolUse\s+Bash\s+info\s+00893aaf-19fa-41d2-8238-13269b9b3ca0\s+vm-1\s+Bash done: npm test/,
  );
  assert.ok(lines[1]!.length <= 160, `${lines[1]!.length} characters`);
  assert.ok(lines[1]!.endsWith("…"));
  assert.equal(tableLines("events", [event], { columns: 120, header: false }).length, 1);
});

Deno.test("tableLines() knows agent_state records", () => {
  const lines = tableLines("agent_state", [{
    scope: "session",
    session_id: "s-1",
    project_id: "acme",
    status: "error",
    last_ts: "2026-11-24T10:00:00.000Z",
    last_hook_event_name: "StopFailure",
    last_msg: "Turn failed: rate_limit",
    counts: { events: 33, errors: 2 },
  }], { columns: 160 });
  assert.match(
    lines[1]!,
    /^session\s+s-1\s+acme\s+error\s+\S+ \S+\s+33\s+2\s+StopFailure · Turn failed/,
  );
});

Deno.test("localTime() and shortId()", () => {
  assert.match(localTime("2026-11-24T10:00:05.123Z"), /^\d{4}-\d\d-\d\d \d\d:\d\d:05\.123$/);
  assert.equal(localTime("nope"), "");
  assert.equal(shortId("abc"), "abc");
  assert.equal(shortId("0123456789abcdefXYZ"), "01234567…fXYZ");
});
