// Tests of the event size cap: what gets cut, how it is marked, and that the result fits.
import assert from "node:assert/strict";
import { LIMITS } from "../../shared/contract.ts";
import { sha256Hex } from "../../shared/ids.ts";
import { jsonBytes, limitEventSize, prefixWithinBytes, truncationMarker } from "./size_cap.ts";

const DEFAULT_CAP = LIMITS.defaultMaxEventBytes;
const SMALL_CAP = LIMITS.minMaxEventBytes;
const MARKER_AT_END = /…\[TRUNCATED:(\d+) bytes,sha256=([0-9a-f]{64})\]$/;
const LONE_HIGH = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])/;
const LONE_LOW = /(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const utf8 = new TextEncoder();

/** An envelope around `data`, shaped like what a hook writes. */
function envelope(
  data: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    event_id: "01935e8b-6b7b-7abc-8def-0123456789ab",
    ts: "2024-11-24T10:00:00.123Z",
    schema_version: "1.0",
    session_id: "sess-1",
    run_id: "run-1",
    event_type: "tool_invocation",
    level: "info",
    hook_event_name: "PostToolUse",
    tool_name: "Bash",
    msg: "Bash done: cat big.log",
    indexable_text: "tool_name: Bash\ncommand: cat big.log",
    data,
    ...extra,
  };
}

/** About `bytes` of ASCII text in which no two 8-character words are the same. */
function asciiText(bytes: number): string {
  return Array.from({ length: Math.ceil(bytes / 8) }, (_, i) => i.toString(36).padStart(7, "0"))
    .join(" ").slice(0, bytes);
}

/** Every string in a value, keys excluded. */
function stringsOf(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (value === null || typeof value !== "object") return [];
  return Object.values(value).flatMap(stringsOf);
}

/** Checks a cut string against its original; returns the kept prefix. */
async function assertCutFrom(cut: unknown, original: string): Promise<string> {
  assert.equal(typeof cut, "string");
  const text = cut as string;
  const found = MARKER_AT_END.exec(text);
  assert.ok(found, `no truncation marker at the end of ${text.slice(-150)}`);
  assert.equal(Number(found[1]), utf8.encode(original).length);
  assert.equal(found[2], await sha256Hex(original));
  assert.equal(found[0], truncationMarker(utf8.encode(original).length, found[2]!));
  const kept = text.slice(0, found.index);
  assert.ok(kept.length > 0 && kept.length < original.length, `kept ${kept.length} characters`);
  assert.ok(original.startsWith(kept), "the kept part is not a prefix of the original");
  return kept;
}

Deno.test("limitEventSize() returns an event under the cap as it is", async () => {
  const event = envelope({ tool_input: { command: "ls" }, tool_response: asciiText(10_000) });
  for (const cap of [DEFAULT_CAP, jsonBytes(event)]) {
    const result = await limitEventSize(event, cap);
    assert.equal(result.truncated, false);
    assert.equal(result.event, event);
  }
});

Deno.test("limitEventSize() cuts a 400 KB string to fit the cap", async (t) => {
  const big = asciiText(400 * 1024);
  const event = envelope({ tool_input: { command: "cat big.log" }, tool_response: big });
  for (const cap of [DEFAULT_CAP, SMALL_CAP]) {
    await t.step(`cap ${cap}`, async () => {
      const { event: limited, truncated } = await limitEventSize(event, cap);
      assert.equal(truncated, true);
      assert.ok(jsonBytes(limited) <= cap, `${jsonBytes(limited)} bytes > ${cap}`);
      const data = limited.data as Record<string, unknown>;
      const kept = await assertCutFrom(data.tool_response, big);
      // The cut should use the room it has, not throw nearly everything away.
      assert.ok(jsonBytes(limited) > cap - 1024, `only ${jsonBytes(limited)} bytes used`);
      assert.ok(kept.length >= 256);
      assert.deepEqual(data.tool_input, { command: "cat big.log" });
      for (const field of ["event_id", "ts", "session_id", "msg", "indexable_text"]) {
        assert.equal(limited[field], event[field]);
      }
    });
  }
});

Deno.test("limitEventSize() cuts the largest string first", async (t) => {
  const big = asciiText(400 * 1024);
  const medium = asciiText(1_000);
  const event = envelope(
    // The smaller strings come first, so only size can make the big one go first.
    { medium, small: "keep me", list: ["short", medium], tool_response: big },
    { error_detail: { type: "tool_failure", message: medium } },
  );
  for (const cap of [DEFAULT_CAP, SMALL_CAP]) {
    await t.step(`cap ${cap}`, async () => {
      const { event: limited } = await limitEventSize(event, cap);
      assert.ok(jsonBytes(limited) <= cap);
      const data = limited.data as Record<string, unknown>;
      await assertCutFrom(data.tool_response, big);
      assert.equal(data.medium, medium);
      assert.equal(data.small, "keep me");
      assert.deepEqual(data.list, ["short", medium]);
      assert.deepEqual(limited.error_detail, { type: "tool_failure", message: medium });
    });
  }
});

Deno.test("limitEventSize() cuts a string inside an array", async () => {
  const big = asciiText(300 * 1024);
  const { event: limited } = await limitEventSize(envelope({ lines: ["first", big] }), DEFAULT_CAP);
  assert.ok(jsonBytes(limited) <= DEFAULT_CAP);
  const lines = (limited.data as { lines: unknown[] }).lines;
  assert.equal(lines[0], "first");
  await assertCutFrom(lines[1], big);
});

Deno.test("limitEventSize() never splits a surrogate pair", async (t) => {
  const texts: Record<string, string> = {
    "emoji only": "😀".repeat(100_000),
    "mixed widths": "é😀a漢🎉".repeat(40_000),
    "emoji after one ASCII character": "a" + "🎉".repeat(100_000),
  };
  for (const [name, original] of Object.entries(texts)) {
    await t.step(name, async () => {
      for (const cap of [SMALL_CAP, SMALL_CAP + 1, SMALL_CAP + 3, 10_007, 65_537, DEFAULT_CAP]) {
        const { event: limited } = await limitEventSize(envelope({ text: original }), cap);
        assert.ok(jsonBytes(limited) <= cap, `${name}, cap ${cap}: ${jsonBytes(limited)} bytes`);
        await assertCutFrom((limited.data as { text: unknown }).text, original);
        for (const text of stringsOf(limited)) {
          assert.doesNotMatch(text, LONE_HIGH);
          assert.doesNotMatch(text, LONE_LOW);
        }
      }
    });
  }
});

Deno.test("limitEventSize() leaves its input untouched", async () => {
  const event = envelope(
    { tool_response: asciiText(400 * 1024), numbers: [1, 2, 3] },
    { error_detail: { type: "x", message: asciiText(300 * 1024) } },
  );
  const before = structuredClone(event);
  const { event: limited, truncated } = await limitEventSize(event, SMALL_CAP);
  assert.equal(truncated, true);
  assert.notEqual(limited, event);
  assert.deepEqual(event, before);
});

Deno.test("limitEventSize() replaces a field that has no big string with a marker", async (t) => {
  await t.step("data made of a huge array of numbers", async () => {
    const data = { values: Array.from({ length: 100_000 }, (_, i) => i * 7) };
    const event = envelope(data);
    for (const cap of [DEFAULT_CAP, SMALL_CAP]) {
      const { event: limited, truncated } = await limitEventSize(event, cap);
      assert.equal(truncated, true);
      assert.ok(jsonBytes(limited) <= cap);
      const text = JSON.stringify(data);
      assert.deepEqual(limited.data, {
        _truncated: truncationMarker(utf8.encode(text).length, await sha256Hex(text)),
      });
      assert.match((limited.data as { _truncated: string })._truncated, /^…\[TRUNCATED:/);
      assert.equal(limited.session_id, event.session_id);
    }
  });
  await t.step("error_detail keeps string type and message", async () => {
    const errorDetail = {
      type: "tool_failure",
      message: "boom",
      frames: Array.from({ length: 50_000 }, (_, i) => i),
    };
    const event = envelope({ tool_input: { command: "make" } }, { error_detail: errorDetail });
    const { event: limited } = await limitEventSize(event, SMALL_CAP);
    assert.ok(jsonBytes(limited) <= SMALL_CAP);
    const detail = limited.error_detail as Record<string, unknown>;
    assert.equal(typeof detail.type, "string");
    assert.ok((detail.type as string).length > 0);
    assert.equal(typeof detail.message, "string");
    assert.match(detail.message as string, /^…\[TRUNCATED:\d+ bytes,sha256=[0-9a-f]{64}\]$/);
    assert.deepEqual(limited.data, { tool_input: { command: "make" } });
  });
});

Deno.test("limitEventSize() changes nothing on its own result", async (t) => {
  const events: Record<string, Record<string, unknown>> = {
    "a cut string": envelope({ tool_response: asciiText(400 * 1024) }),
    "a replaced field": envelope({ values: Array.from({ length: 100_000 }, (_, i) => i) }),
    "cut emoji": envelope({ text: "é😀a漢🎉".repeat(40_000) }),
  };
  for (const [name, event] of Object.entries(events)) {
    await t.step(name, async () => {
      for (const cap of [DEFAULT_CAP, SMALL_CAP]) {
        const first = await limitEventSize(event, cap);
        assert.equal(first.truncated, true);
        const snapshot = structuredClone(first.event);
        const second = await limitEventSize(first.event, cap);
        assert.equal(second.truncated, false);
        assert.equal(second.event, first.event);
        assert.deepEqual(second.event, snapshot);
      }
    });
  }
});

Deno.test("prefixWithinBytes() counts bytes exactly as JSON and UTF-8 do", async (t) => {
  const texts = ['plain ascii "quoted" \\ back', "tabs\tand\nnewlines\u0001", "é ü 日本 😀 mixed"];
  for (const text of texts) {
    await t.step(JSON.stringify(text), () => {
      for (let budget = 0; budget <= jsonBytes(text); budget++) {
        const units = prefixWithinBytes(text, budget);
        const prefix = text.slice(0, units);
        assert.ok(jsonBytes(prefix) - 2 <= budget, `prefix over budget ${budget}`);
        if (units < text.length) {
          const longer = text.slice(0, units + (text.codePointAt(units)! > 0xffff ? 2 : 1));
          assert.ok(jsonBytes(longer) - 2 > budget, `a longer prefix fits budget ${budget}`);
        }
      }
    });
  }
});

Deno.test("limitEventSize() cuts one string with wide characters instead of the whole field", async () => {
  const event = { session_id: "s", data: { s: "😀".repeat(50_000) + "a".repeat(200_000), n: 1 } };
  const { event: out } = await limitEventSize(event, 262_144);
  assert.ok(jsonBytes(out) <= 262_144);
  assert.equal(out.data.n, 1, "the rest of data is kept");
  assert.match(out.data.s, /^(?:😀){50000}a+…\[TRUNCATED:400000 bytes,sha256=[0-9a-f]{64}\]$/);
});

Deno.test("limitEventSize() also cuts unknown top-level fields", async () => {
  const event = { session_id: "s", run_id: "r", extra: "x".repeat(300_000) };
  const { event: out } = await limitEventSize(event, 4096);
  assert.ok(jsonBytes(out) <= 4096, `event is ${jsonBytes(out)} bytes`);
  assert.equal(out.session_id, "s");
  assert.match(out.extra, /^x{256,}…\[TRUNCATED:300000 bytes,sha256=/);
});
