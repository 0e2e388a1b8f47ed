// Tests of how a hook payload becomes an envelope's msg, indexable_text and error_detail.
import assert from "node:assert/strict";
import { LIMITS } from "../../shared/contract.ts";
import { clip, describe, render, summarize, textOf } from "./message_templates.ts";
import { HOOK_EVENTS, type HookEventSpec, UNKNOWN_HOOK_EVENT } from "../../shared/hook_events.ts";

const LONE_HIGH = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])/;
const LONE_LOW = /(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const COMMON = {
  session_id: "sess-common-1",
  transcript_path: "/home/u/.claude/projects/p/sess-common-1.jsonl",
  cwd: "/home/u/work/project-common",
  permission_mode: "bypassPermissions",
};

function spec(fields: Partial<HookEventSpec>): HookEventSpec {
  return { when: "test", type: "other", level: "info", msg: "", text: [], ...fields };
}

Deno.test("clip() leaves a short text as it is", () => {
  assert.equal(clip("", 5), "");
  assert.equal(clip("abc", 5), "abc");
  assert.equal(clip("abcde", 5), "abcde");
  assert.equal(clip("😀", 2), "😀");
});

Deno.test("clip() cuts a long text to exactly max characters ending with …", () => {
  const text = "The quick brown fox jumps over the lazy dog";
  for (const max of [1, 2, 10, 42]) {
    const clipped = clip(text, max);
    assert.equal(clipped.length, max);
    assert.ok(clipped.endsWith("…"));
    assert.ok(text.startsWith(clipped.slice(0, -1)));
  }
});

Deno.test("clip() never leaves a lone surrogate", () => {
  const text = "a😀b🎉🎉c" + "😀".repeat(20);
  for (let max = 1; max < text.length; max++) {
    const clipped = clip(text, max);
    assert.ok(clipped.length <= max, `max ${max}: ${clipped.length} characters`);
    assert.ok(clipped.endsWith("…"));
    assert.doesNotMatch(clipped, LONE_HIGH, `max ${max}`);
    assert.doesNotMatch(clipped, LONE_LOW, `max ${max}`);
    assert.ok(text.startsWith(clipped.slice(0, -1)));
  }
});

Deno.test("summarize() collapses a string to one clipped line", () => {
  assert.equal(summarize("  line one\n\n  line\ttwo \r\n"), "line one line two");
  const long = summarize("word ".repeat(1_000));
  assert.equal(long.length, LIMITS.msgChars);
  assert.ok(long.endsWith("…"));
  assert.equal(summarize("x".repeat(100), 10), "xxxxxxxxx…");
});

Deno.test("summarize() picks the field that says what an object is about", async (t) => {
  await t.step("command before description", () => {
    assert.equal(summarize({ description: "List files", command: "ls -la" }), "ls -la");
  });
  await t.step("file_path", () => {
    assert.equal(summarize({ file_path: "/src/main.ts", content: "..." }), "/src/main.ts");
  });
  await t.step("an empty command falls through to the next field", () => {
    assert.equal(summarize({ command: "", url: "https://example.com" }), "https://example.com");
  });
  await t.step("the chosen field is collapsed to one line", () => {
    assert.equal(summarize({ command: "git status\n&& git diff" }), "git status && git diff");
  });
});

Deno.test("summarize() joins an array with commas", () => {
  assert.equal(summarize(["a", { command: "b" }, 3, null, ""]), "a, b, 3");
  assert.equal(summarize([]), "");
  assert.ok(summarize(Array.from({ length: 500 }, () => "item"), 50).length <= 50);
});

Deno.test("summarize() falls back to compact JSON", () => {
  assert.equal(summarize({ a: 1, b: { c: "x" } }), '{"a":1,"b":{"c":"x"}}');
  assert.equal(summarize({ note: "two\nlines" }), '{"note":"two\\nlines"}');
  assert.equal(summarize(null), "");
  assert.equal(summarize(undefined), "");
  assert.equal(summarize(42), "42");
  assert.equal(summarize(false), "false");
});

Deno.test("textOf() writes one key: value line per leaf, skipping booleans", () => {
  const text = textOf({ a: "x", b: 2, c: true, d: { e: "y" }, f: ["p", "q"], g: null, h: "" });
  assert.equal(text, "a: x\nb: 2\ne: y\np\nq");
  assert.equal(textOf("plain"), "plain");
  assert.equal(textOf(false), "");
});

Deno.test("textOf() stays within its budget", () => {
  const many = Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`key_${i}`, "value"]));
  for (const budget of [1, 10, 50, 333]) {
    const text = textOf(many, budget);
    assert.ok(text.length <= budget, `${text.length} > ${budget}`);
    assert.ok(text.startsWith("key_0: value".slice(0, budget - 1)));
  }
  assert.ok(textOf(many).length <= LIMITS.indexableTextChars);
  assert.ok(textOf({ big: "x".repeat(10_000) }).length <= LIMITS.indexableTextChars);
});

Deno.test("render() fills fields and drops optional parts without them", async (t) => {
  const template = "Session started[ ({source})][ with {model}]";
  await t.step("{field} is filled with a one-line summary", () => {
    assert.equal(
      render("{tool_name}: {tool_input}", { tool_name: "Bash", tool_input: { command: "ls" } }),
      "Bash: ls",
    );
  });
  await t.step("[...] kept when its field is present", () => {
    assert.equal(render(template, { source: "startup" }), "Session started (startup)");
    assert.equal(
      render(template, { source: "resume", model: "claude-sonnet-4-5" }),
      "Session started (resume) with claude-sonnet-4-5",
    );
  });
  await t.step("[...] dropped when its field is missing", () => {
    assert.equal(render(template, {}), "Session started");
    assert.equal(render(template, { model: "opus" }), "Session started with opus");
  });
  await t.step("[...] dropped when its field is empty", () => {
    assert.equal(render(template, { source: "", model: null }), "Session started");
    assert.equal(render("[{title}: ]{message}", { title: "  ", message: "Hi" }), "Hi");
  });
  await t.step("a required field that is missing leaves no placeholder", () => {
    assert.equal(render("Prompt: {prompt}", {}), "Prompt:");
  });
});

Deno.test("describe() uses msg as indexable_text when the listed fields are empty", async (t) => {
  await t.step("a spec without text fields", () => {
    const d = describe(HOOK_EVENTS.SessionEnd, { ...COMMON, reason: "logout" });
    assert.equal(d.msg, "Session ended (logout)");
    assert.equal(d.indexable_text, d.msg);
    assert.equal(d.error_detail, undefined);
  });
  await t.step("listed fields that are missing or empty", () => {
    const d = describe(spec({ msg: "Stopped[: {reason}]", text: ["note", "extra"] }), {
      reason: "done",
      note: "",
    });
    assert.equal(d.msg, "Stopped: done");
    assert.equal(d.indexable_text, "Stopped: done");
  });
  await t.step("listed fields with text", () => {
    const d = describe(HOOK_EVENTS.UserPromptSubmit, { ...COMMON, prompt: "Fix the\nbuild" });
    assert.equal(d.msg, "Prompt: Fix the build");
    assert.equal(d.indexable_text, "Fix the\nbuild");
  });
});

Deno.test("describe() keeps msg and indexable_text within the envelope's limits", () => {
  const d = describe(HOOK_EVENTS.UserPromptSubmit, { prompt: "long prompt ".repeat(2_000) });
  assert.equal(d.msg.length, LIMITS.msgChars);
  assert.ok(d.indexable_text.length <= LIMITS.indexableTextChars);
});

Deno.test("describe() derives error_detail for a spec with error", async (t) => {
  await t.step("PostToolUseFailure", () => {
    const d = describe(HOOK_EVENTS.PostToolUseFailure, {
      ...COMMON,
      tool_name: "Bash",
      tool_input: { command: "make" },
      error: "exit code 2",
      duration_ms: 120,
    });
    assert.equal(d.msg, "Bash failed after 120 ms: exit code 2");
    assert.deepEqual(d.error_detail, { type: "tool_failure", message: "exit code 2" });
  });
  await t.step("StopFailure with details", () => {
    const d = describe(HOOK_EVENTS.StopFailure, {
      ...COMMON,
      error: "rate_limit",
      error_details: "429 Too Many Requests",
    });
    assert.deepEqual(d.error_detail, { type: "rate_limit", message: "429 Too Many Requests" });
  });
  await t.step("StopFailure without details falls back to msg", () => {
    const d = describe(HOOK_EVENTS.StopFailure, { ...COMMON, error: "overloaded" });
    assert.equal(d.msg, "Turn failed: overloaded");
    assert.deepEqual(d.error_detail, { type: "overloaded", message: d.msg });
  });
  await t.step("an empty type becomes error", () => {
    const d = describe(HOOK_EVENTS.StopFailure, { ...COMMON });
    assert.equal(d.error_detail?.type, "error");
    assert.ok((d.error_detail?.message ?? "").length > 0);
  });
});

Deno.test("describe() with a * spec takes every field but the common ones", () => {
  const payload = {
    ...COMMON,
    hook_event_name: "BrandNewEvent",
    widget: "sprocket-42",
    details: { color: "teal", size: 3 },
  };
  const d = describe(UNKNOWN_HOOK_EVENT, payload);
  assert.equal(d.msg, "Hook event BrandNewEvent");
  assert.match(d.indexable_text, /sprocket-42/);
  // Nothing else says what an unknown event's fields are, so their names stay with them.
  assert.match(d.indexable_text, /^widget: sprocket-42$/m);
  assert.match(d.indexable_text, /color: teal/);
  assert.match(d.indexable_text, /size: 3/);
  for (const common of [...Object.values(COMMON), "BrandNewEvent"]) {
    assert.ok(!d.indexable_text.includes(common), `${common} is in ${d.indexable_text}`);
  }
});

Deno.test("render() treats braces inside payload values as text", () => {
  assert.equal(render("[{a_b}]", { a_b: "{c}", c: "X" }), "{c}");
  assert.equal(render("{a}", { a: "[{b}]", b: "Y" }), "[{b}]");
  const spec = HOOK_EVENTS.PermissionDenied;
  const msg = describe(spec, {
    tool_name: "Bash",
    reason: "see {transcript_path}",
    transcript_path: "/secret/path.jsonl",
  }).msg;
  assert.equal(msg, "Permission denied for Bash: see {transcript_path}");
});

Deno.test("clip() never returns more than max characters, even for tiny max", () => {
  assert.equal(clip("abc", 0), "");
  assert.equal(clip("abc", -2), "");
  assert.equal(clip("abc", 1), "…");
  assert.equal(clip("abc", 2), "a…");
});

Deno.test("describe() with a * spec leaves out the newer common fields too", () => {
  const text = describe(UNKNOWN_HOOK_EVENT, {
    session_id: "s",
    hook_event_name: "X",
    prompt_id: "p-123",
    scratchpad_dir: "/tmp/scratch",
    payload_field: "kept",
  }).indexable_text;
  assert.equal(text, "payload_field: kept");
});
