import assert from "node:assert/strict";
import { EVENT_TYPES } from "./contract.ts";
import { eventHash, uuidV7Time } from "./ids.ts";
import { eventJsonSchema, parseEvent } from "./schema.ts";

const VALID = {
  event_id: "019ab3c4-5d6e-7f80-9a1b-2c3d4e5f6071",
  ts: "2026-11-24T10:00:09.187Z",
  schema_version: "1.0",
  session_id: "00893aaf-19fa-41d2-8238-13269b9b3ca0",
  run_id: "run-1",
  event_type: "tool_invocation",
  level: "info",
} as const;

function errorOf(input: unknown): string {
  const result = parseEvent(input);
  assert.equal(result.ok, false, "expected the envelope to be rejected");
  return result.ok ? "" : result.error;
}

Deno.test("parseEvent() accepts a minimal envelope", () => {
  const result = parseEvent(VALID);
  assert.ok(result.ok);
});

Deno.test("parseEvent() accepts every event type and every optional field", () => {
  for (const event_type of EVENT_TYPES) {
    const result = parseEvent({
      ...VALID,
      event_type,
      level: "warn",
      project_id: "acme",
      hook_event_name: "PostToolUse",
      agent_role: "worker",
      worker_id: "vm-7",
      task_id: "task-1",
      agent_id: "agent-7f3c",
      tool_name: "Bash",
      tool_use_id: "toolu_01",
      msg: "x".repeat(500),
      data: { anything: [1, { nested: true }] },
      artifact_refs: [{ path: "out.txt", type: "file", hash: "a".repeat(64), size_bytes: 0 }],
      source: { host: "host-1", remote: "https://example.com/r.git", cwd: "~", project_dir: "~" },
      indexable_text: "y".repeat(2000),
      hash: "0".repeat(64),
      redaction: { applied: true, rules: ["github_pat"], mode: "strict" },
      parent_event_id: "019ab3c4-5d6e-7f80-9a1b-2c3d4e5f6070",
      error_detail: { type: "rate_limit", message: "429", stack_trace: "at x" },
    });
    assert.ok(result.ok, `event_type ${event_type}: ${result.ok ? "" : result.error}`);
  }
});

Deno.test("parseEvent() keeps unknown fields, at the top and inside data", () => {
  const result = parseEvent({ ...VALID, future_field: { a: 1 }, data: { new_payload_field: "x" } });
  assert.ok(result.ok);
  if (!result.ok) return;
  assert.deepEqual((result.event as Record<string, unknown>).future_field, { a: 1 });
  assert.deepEqual(result.event.data, { new_payload_field: "x" });
});

Deno.test("parseEvent() accepts any 1.x schema version and rejects other majors", () => {
  assert.ok(parseEvent({ ...VALID, schema_version: "1.1" }).ok);
  assert.ok(parseEvent({ ...VALID, schema_version: "1.12" }).ok);
  assert.match(errorOf({ ...VALID, schema_version: "2.0" }), /schema_version must be "1\.<minor>"/);
  assert.match(errorOf({ ...VALID, schema_version: "1" }), /schema_version/);
  assert.match(errorOf({ ...VALID, schema_version: 1.0 }), /schema_version/);
});

Deno.test("parseEvent() explains each problem with the field it concerns", async (t) => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["missing session_id", { ...VALID, session_id: undefined }, /session_id must be a string/],
    ["empty run_id", { ...VALID, run_id: "" }, /run_id must not be empty/],
    ["id too long", { ...VALID, worker_id: "w".repeat(257) }, /worker_id must be at most 256/],
    ["ts without ms", { ...VALID, ts: "2026-11-24T10:00:09Z" }, /ts must be RFC 3339 in UTC/],
    ["ts with offset", { ...VALID, ts: "2026-11-24T10:00:09.187+01:00" }, /ts must be RFC 3339/],
    ["ts not a date", { ...VALID, ts: "2026-02-30T10:00:09.187Z" }, /ts must be RFC 3339/],
    ["event_id not a uuid", { ...VALID, event_id: "42" }, /event_id must be a UUID/],
    ["unknown event_type", { ...VALID, event_type: "sesion_start" }, /"sesion_start" is not known/],
    ["bad level", { ...VALID, level: "fatal" }, /level must be one of: debug, info, warn, error/],
    ["bad role", { ...VALID, agent_role: "boss" }, /agent_role must be one of/],
    ["msg too long", { ...VALID, msg: "x".repeat(501) }, /msg must be at most 500/],
    ["text too long", { ...VALID, indexable_text: "x".repeat(2001) }, /at most 2000/],
    ["hash not sha256", { ...VALID, hash: "ABC" }, /hash must be a SHA-256 digest/],
    ["data not an object", { ...VALID, data: "text" }, /data must be a JSON object/],
    [
      "artifact without hash",
      { ...VALID, artifact_refs: [{ path: "a", type: "file", size_bytes: 1 }] },
      /artifact_refs/,
    ],
    [
      "negative size",
      {
        ...VALID,
        artifact_refs: [{ path: "a", type: "file", hash: "a".repeat(64), size_bytes: -1 }],
      },
      /size_bytes/,
    ],
    [
      "bad redaction mode",
      { ...VALID, redaction: { applied: true, rules: [], mode: "x" } },
      /mode/,
    ],
  ];
  for (const [name, input, expected] of cases) {
    await t.step(name, () => assert.match(errorOf(input), expected));
  }
});

Deno.test("parseEvent() reports every problem at once, with structured issues", () => {
  const result = parseEvent({ ...VALID, level: "fatal", ts: "yesterday" });
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.deepEqual(result.issues.map((issue) => issue.path.join(".")).sort(), ["level", "ts"]);
  assert.match(result.error, /→ at level/);
  assert.match(result.error, /→ at ts/);
});

Deno.test("parseEvent() rejects what is not an object", () => {
  for (const input of [null, "event", 42, [VALID]]) assert.equal(parseEvent(input).ok, false);
});

Deno.test("eventJsonSchema() requires the seven required fields and documents every field", () => {
  const schema = eventJsonSchema() as {
    required: string[];
    properties: Record<string, { description?: string; properties?: object }>;
  };
  assert.deepEqual(schema.required.sort(), [
    "event_id",
    "event_type",
    "level",
    "run_id",
    "schema_version",
    "session_id",
    "ts",
  ]);
  for (const [name, property] of Object.entries(schema.properties)) {
    assert.ok(property.description, `field ${name} has no description`);
  }
});

Deno.test("docs/schema.md's example envelope is valid and its hash is its own", async () => {
  const doc = await Deno.readTextFile(new URL("../docs/schema.md", import.meta.url));
  const block = doc.split("## An example")[1]?.split("```json")[1]?.split("```")[0];
  assert.ok(block, "no json example under ## An example");
  const result = parseEvent(JSON.parse(block));
  assert.ok(result.ok, result.ok ? "" : result.error);
  if (!result.ok) return;
  assert.equal(result.event.hash, await eventHash(result.event));
  assert.equal(uuidV7Time(result.event.event_id), Date.parse(result.event.ts));
});

Deno.test("parseEvent() refuses a string that is not well-formed Unicode, at any depth", async (t) => {
  for (
    const [name, input, field] of [
      ["a named field", { ...VALID, tool_name: "a\ud800b" }, "tool_name"],
      ["deep in data", { ...VALID, data: { x: [{ y: "\udc00" }] } }, "data.x[0].y"],
      ["a key", { ...VALID, data: { "k\ud800": 1 } }, "data"],
    ] as const
  ) {
    await t.step(name, () => {
      const error = errorOf(input);
      assert.match(error, /Strings must be well-formed Unicode/);
      assert.ok(error.includes(field), error);
    });
  }
  await t.step("a surrogate pair (an emoji) is well formed", () => {
    assert.ok(parseEvent({ ...VALID, msg: "ok \ud83d\ude00", data: { "\ud83d\ude00": 1 } }).ok);
  });
});
