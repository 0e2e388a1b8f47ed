import assert from "node:assert/strict";
import type { Event } from "../../shared/schema.ts";
import { fixtureSession, fixtureUsage } from "../testing/dashboard_session.ts";
import {
  addLiveEvents,
  allKeys,
  type Fact,
  responseText,
  sessionFacts,
  sessionQueries,
  subagentSummary,
  toolDuration,
  toolSummary,
} from "./static/session_model.js";
import type { StateRecord } from "./static/state_fold.js";
import { buildTimeline, type TimelineItem, type ToolItem } from "./static/timeline_model.js";
import { formatTime } from "./static/format.js";

const SESSION = "sess-model-1";

async function session(): Promise<Event[]> {
  return await fixtureSession({
    run_id: "run-1",
    project_id: "acme",
    worker_id: "vm-1",
    session_id: SESSION,
  });
}

function fact(facts: readonly Fact[], term: string): Fact {
  const found = facts.find((f) => f.term === term);
  assert.ok(found, `no fact ${term}`);
  return found;
}

function tool(items: readonly TimelineItem[], toolUseId: string): ToolItem {
  for (const item of items) {
    if (item.kind === "tool" && item.tool_use_id === toolUseId) return item;
    if (item.kind === "subagent") {
      const inner = item.children.find((c) => c.kind === "tool" && c.tool_use_id === toolUseId);
      if (inner && inner.kind === "tool") return inner;
    }
  }
  assert.fail(`no tool item ${toolUseId}`);
}

Deno.test("sessionQueries() reads the session's events, its state record and its usage", () => {
  const q = sessionQueries("s 1");
  assert.equal(q.events.toString(), "session_id=s+1");
  assert.equal(q.state.toString(), "collection=agent_state&scope=session&session_id=s+1");
  assert.equal(q.usage.toString(), "session_id=s+1&group_by=model");
});

Deno.test("addLiveEvents() adds each event once, folds it into the state, marks it new", async () => {
  const events = new Map();
  const state = new Map<string, StateRecord>();
  const [first, pre] = (await session()).filter((e) =>
    e.hook_event_name === "SessionStart" || e.hook_event_name === "PreToolUse"
  );
  assert.ok(first && pre);
  const fresh = addLiveEvents(events, state, [first, pre, first]);
  assert.equal(events.size, 2);
  assert.deepEqual(
    [...fresh].sort(),
    [
      `event:${first.event_id}`,
      `event:${pre.event_id}`,
      `tool:${pre.tool_use_id}`,
    ].sort(),
  );
  const record = [...state.values()].find((r) => r.scope === "session");
  assert.equal(record?.session_id, SESSION);
  assert.equal(record?.counts.events, 2);
  assert.equal(addLiveEvents(events, state, [first]).size, 0);
});

Deno.test("sessionFacts() says the session's status, owners, times and counts", async () => {
  const events = await session();
  const timeline = buildTimeline(events);
  const state = new Map<string, StateRecord>();
  addLiveEvents(new Map(), state, events);
  const record = [...state.values()].find((r) => r.scope === "session");
  assert.ok(record);
  const facts = sessionFacts({ sessionId: SESSION, timeline, record, now: Date.now() });
  assert.deepEqual(facts.map((f) => f.term), [
    "Status",
    "Project",
    "Worker",
    "Run",
    "Last event",
    "Started",
    "Span",
    "Events",
    "Errors",
    "Tool calls",
    "Subagents",
  ]);
  assert.equal(fact(facts, "Status").status, "ended");
  assert.equal(fact(facts, "Worker").href, "#/fleet?worker_id=vm-1");
  assert.equal(fact(facts, "Started").text, formatTime(Date.parse(events[0]!.ts)));
  assert.equal(fact(facts, "Span").text, "29.0 s");
  assert.equal(fact(facts, "Events").text, String(events.length));
  assert.equal(fact(facts, "Errors").jump, "error");
  assert.equal(fact(facts, "Tool calls").text, "6 (1 failed, 0 without an answer)");
  assert.equal(fact(facts, "Subagents").text, "1");
});

Deno.test("sessionFacts() adds tokens and cost when the bridge reports usage", async () => {
  const timeline = buildTimeline([
    ...await session(),
    ...await fixtureUsage({ run_id: "run-1", session_id: SESSION }),
  ]);
  const totals = {
    messages: 2,
    input_tokens: 1_500,
    output_tokens: 405,
    cache_creation_input_tokens: 5_000,
    cache_read_input_tokens: 6_200,
    total_tokens: 13_105,
    cost_usd: 0.05,
    cost_complete: false,
  };
  const facts = sessionFacts({
    sessionId: SESSION,
    timeline,
    now: Date.now(),
    usage: { totals, groups: [], truncated: false, unknown_models: [], prices: {} },
  });
  assert.equal(
    fact(facts, "Tokens").text,
    "13,105 (in 1,500, out 405, cache 5,000 + 6,200)",
  );
  assert.match(fact(facts, "Cost").text, /\(incomplete\)$/);
  assert.equal(fact(facts, "Cost").href, `#/usage?session_id=${SESSION}&group_by=model`);
  assert.equal(facts.some((f) => f.term === "Status"), false, "no record, no status");
});

Deno.test("allKeys() lists every item, a subagent's children too", async () => {
  const timeline = buildTimeline(await session());
  const keys = allKeys(timeline.items);
  assert.ok(keys.includes("tool:toolu_sub_01"));
  assert.equal(new Set(keys).size, keys.length);
});

Deno.test("a tool call's row shows one duration and says which", async (t) => {
  const events = await session();
  const timeline = buildTimeline(events);
  const bash = tool(timeline.items, "toolu_01ABC123");
  await t.step("Claude Code's duration_ms, once: not again in the message", () => {
    assert.deepEqual(toolDuration(bash), {
      ms: 4_187,
      text: "ran 4.19 s",
      title: "How long the tool ran, as Claude Code measured it (duration_ms)",
    });
    assert.equal(bash.post?.msg, "Bash done in 4187 ms: npm test");
    assert.equal(toolSummary(bash), "Bash done: npm test");
    const failed = tool(timeline.items, "toolu_01JKL012");
    assert.equal(toolDuration(failed)?.text, "ran 1.29 s");
    assert.match(toolSummary(failed), /^Bash failed: remote: Permission to/);
  });
  await t.step("without duration_ms, the hooks' gap, and the message as it is", () => {
    const bare = events.map((e) =>
      e.tool_use_id === "toolu_01ABC123" && e.data
        ? { ...e, data: { ...e.data, duration_ms: undefined }, msg: "Bash done: npm test" }
        : e
    );
    const gap = tool(buildTimeline(bare).items, "toolu_01ABC123");
    assert.equal(toolDuration(gap)?.text, "1.50 s between hooks");
    assert.equal(toolSummary(gap), "Bash done: npm test");
  });
  await t.step("a denial alone: no duration, its own message", () => {
    const denied = tool(timeline.items, "toolu_01MNO345");
    assert.equal(toolDuration(denied), undefined);
    assert.equal(toolSummary(denied), denied.events[0]?.msg);
  });
});

Deno.test("subagentSummary() counts its events and says how long it ran", async () => {
  const timeline = buildTimeline(await session());
  const group = timeline.items.find((item) => item.kind === "subagent");
  assert.ok(group && group.kind === "subagent");
  assert.equal(subagentSummary(group), "4 events · 3.00 s");
  assert.equal(
    subagentSummary({ ...group, durationMs: undefined, stop: undefined }),
    "4 events · running",
  );
});

Deno.test("responseText() names a usage event's response time, nothing for other events", async () => {
  const events = await session();
  const usage = await fixtureUsage({ run_id: "run-1", session_id: SESSION, startMs: 0 });
  const timeline = buildTimeline([...events, ...usage]);
  const rows = timeline.items.filter((item) => item.kind === "event");
  const usageRow = rows.find((item) => item.kind === "event" && item.event.event_type === "usage");
  assert.ok(usageRow && usageRow.kind === "event");
  assert.equal(responseText(usageRow), `response at ${formatTime(Date.parse(usageRow.event.ts))}`);
  const hookRow = rows.find((item) => item.kind === "event" && item.event.event_type !== "usage");
  assert.ok(hookRow && hookRow.kind === "event");
  assert.equal(responseText(hookRow), undefined);
});
