// Tests of event identity: UUID v7 ids, timestamps, canonical JSON and the envelope hash.
import assert from "node:assert/strict";
import { HASHED_FIELDS } from "./contract.ts";
import {
  canonicalJson,
  eventHash,
  formatTimestamp,
  identityOf,
  sha256Hex,
  uuidV7,
  uuidV7Time,
} from "./ids.ts";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** 2024-11-24T10:00:00.123Z */
const SOME_MS = 1_732_442_400_123;

function sampleEvent(): Record<string, unknown> {
  return {
    event_id: uuidV7(SOME_MS),
    ts: formatTimestamp(SOME_MS),
    schema_version: "1.0",
    session_id: "sess-1",
    run_id: "run-1",
    event_type: "tool_invocation",
    level: "info",
    hook_event_name: "PreToolUse",
    tool_name: "Bash",
    tool_use_id: "toolu_01",
    msg: "Bash: ls -la",
    indexable_text: "tool_name: Bash\ncommand: ls -la",
    data: {
      tool_name: "Bash",
      tool_input: { command: "ls -la", description: "List files", timeout: 5 },
      nested: { list: [1, "two", { z: null, a: true }] },
    },
    source: { host: "host-0123456789ab", cwd: "~/project" },
    redaction: { applied: true, rules: [], mode: "strict" },
  };
}

/** A deep copy whose object keys are in the reverse order, at every depth. */
function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).reverse()) {
    out[key] = reversedKeys((value as Record<string, unknown>)[key]);
  }
  return out;
}

Deno.test("uuidV7() writes a version 7, RFC 9562 variant UUID", () => {
  for (let i = 0; i < 200; i++) {
    const id = uuidV7();
    assert.match(id, UUID_V7);
    assert.equal(id[14], "7");
    assert.ok("89ab".includes(id[19]!), `variant nibble of ${id}`);
  }
});

Deno.test("uuidV7() embeds the given time", async (t) => {
  for (const ms of [0, 1, 255, 256, 65_535, SOME_MS, 2 ** 32, 2 ** 48 - 1]) {
    await t.step(`at ${ms} ms`, () => {
      const id = uuidV7(ms);
      assert.match(id, UUID_V7);
      assert.equal(uuidV7Time(id), ms);
    });
  }
  await t.step("now by default", () => {
    const before = Date.now();
    const time = uuidV7Time(uuidV7());
    const after = Date.now();
    assert.ok(time !== undefined && time >= before && time <= after, `${time} not in now`);
  });
});

Deno.test("uuidV7() ids minted in increasing milliseconds sort lexicographically", () => {
  // Byte-boundary crossings, where a sort by anything but the whole 48-bit time would fail.
  const times = [
    0,
    1,
    2,
    255,
    256,
    257,
    65_535,
    65_536,
    2 ** 40,
    SOME_MS,
    SOME_MS + 1,
    2 ** 48 - 1,
  ];
  times.forEach((ms, i) => assert.ok(i === 0 || ms > times[i - 1]!));
  for (let round = 0; round < 20; round++) {
    const ids = times.map((ms) => uuidV7(ms));
    assert.deepEqual([...ids].sort(), ids);
  }
});

Deno.test("uuidV7() rejects a time that is not a 48-bit millisecond count", async (t) => {
  for (const bad of [-1, 1.5, NaN, Infinity, -Infinity, 2 ** 48, Number.MAX_SAFE_INTEGER + 1]) {
    await t.step(String(bad), () => {
      assert.throws(() => uuidV7(bad), RangeError);
    });
  }
});

Deno.test("uuidV7Time() gives undefined for anything but a UUID v7", () => {
  assert.equal(uuidV7Time(crypto.randomUUID()), undefined);
  assert.equal(uuidV7Time("6ba7b810-9dad-11d1-80b4-00c04fd430c8"), undefined); // v1
  assert.equal(uuidV7Time("0191b2c3-d4e5-7f00-0000-000000000000"), undefined); // bad variant
  assert.equal(uuidV7Time("not a uuid"), undefined);
  assert.equal(uuidV7Time(""), undefined);
});

Deno.test("formatTimestamp() writes RFC 3339 in UTC with milliseconds", () => {
  assert.equal(formatTimestamp(0), "1970-01-01T00:00:00.000Z");
  assert.equal(formatTimestamp(SOME_MS), "2024-11-24T10:00:00.123Z");
  assert.equal(formatTimestamp(SOME_MS - 123), "2024-11-24T10:00:00.000Z");
  assert.match(formatTimestamp(Date.now()), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
});

Deno.test("canonicalJson() sorts keys whatever order they were built in", async (t) => {
  await t.step("top level and nested objects", () => {
    const a = { b: 1, a: { d: 2, c: { f: 3, e: 4 } } };
    const b = { a: { c: { e: 4, f: 3 }, d: 2 }, b: 1 };
    assert.equal(canonicalJson(a), '{"a":{"c":{"e":4,"f":3},"d":2},"b":1}');
    assert.equal(canonicalJson(b), canonicalJson(a));
  });
  await t.step("objects inside arrays", () => {
    assert.equal(canonicalJson([{ y: 1, x: 2 }]), '[{"x":2,"y":1}]');
  });
  await t.step("integer-like keys as strings, not as numbers", () => {
    assert.equal(canonicalJson({ 9: "n", 10: "t", a: "a" }), '{"10":"t","9":"n","a":"a"}');
  });
});

Deno.test("canonicalJson() keeps array order", () => {
  assert.equal(canonicalJson([3, 1, 2]), "[3,1,2]");
  assert.equal(canonicalJson(["b", "a", ["d", "c"]]), '["b","a",["d","c"]]');
  assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
});

Deno.test("canonicalJson() leaves out undefined properties", () => {
  assert.equal(canonicalJson({ a: undefined, b: 1, c: { d: undefined } }), '{"b":1,"c":{}}');
  assert.equal(canonicalJson({ a: undefined, b: 1 }), canonicalJson({ b: 1 }));
  assert.equal(canonicalJson([undefined, 1]), "[null,1]");
});

Deno.test("canonicalJson() writes primitives as JSON does, without white space", () => {
  assert.equal(canonicalJson(null), "null");
  assert.equal(canonicalJson(true), "true");
  assert.equal(canonicalJson(-0.5), "-0.5");
  assert.equal(canonicalJson('a "q"\n'), '"a \\"q\\"\\n"');
  assert.equal(canonicalJson({ a: [1, { b: null }] }), '{"a":[1,{"b":null}]}');
});

Deno.test("canonicalJson() sorts unicode keys by UTF-16 code units", () => {
  const keys = ["\uFFFF", "😀", "é", "z", "a", "B", "Z"];
  const record: Record<string, number> = {};
  for (const key of keys) record[key] = 1;
  const text = canonicalJson(record);
  // By code units "😀" (0xD83D 0xDE00) comes before U+FFFF, though its code point is larger.
  assert.deepEqual(Object.keys(JSON.parse(text)), ["B", "Z", "a", "z", "é", "😀", "\uFFFF"]);
  assert.equal(text, '{"B":1,"Z":1,"a":1,"z":1,"é":1,"😀":1,"\uFFFF":1}');
});

Deno.test("canonicalJson() throws a TypeError for values JSON cannot hold", async (t) => {
  const cases: [string, unknown][] = [
    ["NaN", NaN],
    ["Infinity", Infinity],
    ["-Infinity", -Infinity],
    ["a bigint", 10n],
    ["NaN nested in an object", { a: { b: NaN } }],
    ["Infinity nested in an array", [1, Infinity]],
    ["a bigint nested", { n: [1n] }],
  ];
  for (const [name, value] of cases) {
    await t.step(name, () => {
      assert.throws(() => canonicalJson(value), TypeError);
    });
  }
});

Deno.test("sha256Hex() matches the known test vectors", async () => {
  const abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  assert.equal(await sha256Hex("abc"), abc);
  assert.equal(await sha256Hex(new TextEncoder().encode("abc")), abc);
  assert.equal(
    await sha256Hex(""),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
});

Deno.test("identityOf() keeps only the hashed fields", () => {
  const event: Record<string, unknown> = { ...sampleEvent(), project_id: undefined };
  const identity = identityOf(event);
  assert.ok(Object.keys(identity).length > 0);
  for (const key of Object.keys(identity)) {
    assert.ok((HASHED_FIELDS as readonly string[]).includes(key), `${key} is not hashed`);
  }
  for (const left of ["event_id", "msg", "level", "indexable_text", "source", "redaction"]) {
    assert.equal(left in identity, false, `${left} is in the identity`);
  }
  assert.equal("project_id" in identity, false);
  assert.deepEqual(identity.data, event.data);
  assert.equal(identity.ts, event.ts);
});

Deno.test("eventHash() is stable across serialisation", async (t) => {
  const event = sampleEvent();
  const hash = await eventHash(event);
  assert.match(hash, /^[0-9a-f]{64}$/);
  await t.step("after a JSON.stringify → JSON.parse round trip", async () => {
    assert.equal(await eventHash(JSON.parse(JSON.stringify(event))), hash);
  });
  await t.step("after reordering keys at every depth", async () => {
    const reordered = reversedKeys(event) as Record<string, unknown>;
    assert.notEqual(JSON.stringify(reordered), JSON.stringify(event));
    assert.equal(await eventHash(reordered), hash);
  });
  await t.step("with an undefined optional field added", async () => {
    assert.equal(await eventHash({ ...event, project_id: undefined }), hash);
  });
});

Deno.test("eventHash() ignores fields a delivery or re-derivation can change", async (t) => {
  const event = sampleEvent();
  const hash = await eventHash(event);
  const changes: Record<string, unknown> = {
    event_id: uuidV7(SOME_MS),
    msg: "something else",
    level: "error",
    indexable_text: "other text",
    source: { host: "host-ffffffffffff" },
    redaction: { applied: false, rules: [], mode: "off" },
    schema_version: "1.7",
  };
  for (const [field, value] of Object.entries(changes)) {
    await t.step(field, async () => {
      assert.notDeepEqual(event[field], value);
      assert.equal(await eventHash({ ...event, [field]: value }), hash);
    });
  }
});

Deno.test("eventHash() changes with the fields that identify the occurrence", async (t) => {
  const event = sampleEvent();
  const hash = await eventHash(event);
  const data = event.data as Record<string, unknown>;
  const changes: Record<string, unknown> = {
    ts: formatTimestamp(SOME_MS + 1),
    session_id: "sess-2",
    data: { ...data, tool_input: { command: "ls -l", description: "List files", timeout: 5 } },
    tool_use_id: "toolu_02",
  };
  for (const [field, value] of Object.entries(changes)) {
    await t.step(field, async () => {
      assert.notEqual(await eventHash({ ...event, [field]: value }), hash);
    });
  }
  await t.step("data changed deep inside an array", async () => {
    const changed = structuredClone(event);
    (changed.data as { nested: { list: unknown[] } }).nested.list[0] = 2;
    assert.notEqual(await eventHash(changed), hash);
  });
});
