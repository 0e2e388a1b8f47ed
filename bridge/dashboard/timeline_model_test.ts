import assert from "node:assert/strict";
import type { Event } from "../../shared/schema.ts";
import { FIXTURE_AGENT_ID, fixtureSession, fixtureUsage } from "../testing/dashboard_session.ts";
import {
  buildTimeline,
  eventsOf,
  filterTimeline,
  readTimes,
  type TimelineItem,
  type ToolItem,
} from "./static/timeline_model.js";

function flatten(items: readonly TimelineItem[]): TimelineItem[] {
  return items.flatMap((item) =>
    item.kind === "subagent" ? [item, ...flatten(item.children)] : [item]
  );
}

function tool(items: readonly TimelineItem[], toolUseId: string): ToolItem {
  const found = flatten(items).find((item) =>
    item.kind === "tool" && item.tool_use_id === toolUseId
  );
  assert.ok(found && found.kind === "tool", `no tool item ${toolUseId}`);
  return found;
}

async function session(): Promise<Event[]> {
  return await fixtureSession({ run_id: "run-1", project_id: "acme", worker_id: "vm-1" });
}

Deno.test("buildTimeline() shows every event exactly once, in order", async () => {
  const events = await session();
  // Shuffled and with a duplicate: the model orders and dedupes.
  const input = [...events].reverse().concat([events[3]!]);
  const model = buildTimeline(input);
  const shown = model.items.flatMap(eventsOf).map((e) => e.event_id);
  assert.deepEqual([...shown].sort(), events.map((e) => e.event_id).sort());
  assert.equal(new Set(shown).size, shown.length);
  assert.equal(model.events, events.length);
  const top = model.items.map((item) => item.tsMs);
  assert.deepEqual(top, [...top].sort((a, b) => a - b));
  assert.equal(model.firstTsMs, Date.parse(events[0]!.ts));
  assert.equal(model.lastTsMs, Date.parse(events.at(-1)!.ts));
});

Deno.test("buildTimeline() takes a session's span from its hook events, not usage", async () => {
  const startMs = Date.now() - 60_000;
  const hooks = await fixtureSession({ run_id: "run-1", session_id: "s-old", startMs });
  // A resumed session's transcript carries responses from 13 days before this session began.
  const usage = await fixtureUsage({
    run_id: "run-1",
    session_id: "s-old",
    startMs: startMs - 13 * 86_400_000,
  });
  assert.ok(usage.length > 0);
  const model = buildTimeline([...usage, ...hooks]);
  assert.equal(model.firstTsMs, Date.parse(hooks[0]!.ts));
  assert.equal(model.lastTsMs, Date.parse(hooks.at(-1)!.ts));
  assert.equal(model.events, usage.length + hooks.length);
  // With nothing but usage, the span is the usage events'.
  assert.equal(buildTimeline(usage).firstTsMs, Date.parse(usage[0]!.ts));
});

Deno.test("buildTimeline() puts usage events where they were read, with their response time", async (t) => {
  const startMs = Date.now() - 60_000;
  const hooks = await fixtureSession({ run_id: "run-1", session_id: "s-old", startMs });
  const reader = (name: string) => hooks.find((e) => e.hook_event_name === name)!;
  await t.step(
    "13-day-old responses: read at the first Stop-like hook of this session",
    async () => {
      const usage = await fixtureUsage({
        run_id: "run-1",
        session_id: "s-old",
        startMs: startMs - 13 * 86_400_000,
      });
      const model = buildTimeline([...usage, ...hooks]);
      const items = model.items.filter((i) => i.kind === "event" && i.event.event_type === "usage");
      assert.equal(items.length, usage.length);
      // The SubagentStop (12 s in) is the first hook after which the collector reads.
      const readMs = Date.parse(reader("SubagentStop").ts);
      for (const item of items) {
        assert.ok(item.kind === "event");
        assert.equal(item.tsMs, readMs);
        assert.equal(item.ts, new Date(readMs).toISOString());
        assert.equal(item.responseTs, item.event.ts);
        assert.equal(item.responseTsMs, Date.parse(item.event.ts));
      }
      // In order at the top level, and every offset inside the session's span.
      const top = model.items.map((item) => item.tsMs);
      assert.deepEqual(top, [...top].sort((a, b) => a - b));
      assert.ok(model.items.every((item) => item.tsMs >= model.firstTsMs!));
    },
  );
  await t.step("a response read at the next reader after it, not an earlier one", () => {
    const stop = reader("Stop");
    const late = {
      ...hooks.find((e) => e.hook_event_name === "Notification")!,
      event_id: "u-late",
      event_type: "usage" as const,
      hook_event_name: undefined,
    };
    const times = readTimes([...hooks, late].sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts)));
    // The Notification (15 s) comes after the SubagentStop (12 s): the PreCompact (24 s) reads it.
    assert.equal(times.get("u-late"), Date.parse(reader("PreCompact").ts));
    assert.ok(Date.parse(reader("PreCompact").ts) < Date.parse(stop.ts));
  });
  await t.step("no reader yet: not before the session's first hook event", () => {
    const first = hooks[0]!;
    const old = {
      ...first,
      event_id: "u-old",
      event_type: "usage" as const,
      ts: new Date(startMs - 86_400_000).toISOString(),
    };
    const times = readTimes([old, first]);
    assert.equal(times.get("u-old"), Date.parse(first.ts));
    // Only usage: at its own time.
    assert.equal(readTimes([old]).get("u-old"), Date.parse(old.ts));
  });
});

Deno.test("buildTimeline() pairs tool calls by tool_use_id and times them", async (t) => {
  const model = buildTimeline(await session());
  await t.step("PreToolUse with its PostToolUse: ok, Claude Code's duration_ms", () => {
    const bash = tool(model.items, "toolu_01ABC123");
    assert.equal(bash.tool_name, "Bash");
    assert.equal(bash.outcome, "ok");
    // The answer says 4187 ms; its hook came 1.5 s after the PreToolUse's: one duration.
    assert.equal(bash.durationMs, 4_187);
    assert.equal(bash.durationFrom, "claude_code");
    assert.deepEqual(bash.events.map((e) => e.hook_event_name), ["PreToolUse", "PostToolUse"]);
    assert.equal(bash.error, false);
  });
  await t.step("a PostToolUseFailure alone: failed, an error, its duration_ms", () => {
    const failed = tool(model.items, "toolu_01JKL012");
    assert.equal(failed.outcome, "failed");
    assert.equal(failed.error, true);
    assert.equal(failed.durationMs, 1_290);
    assert.equal(failed.durationFrom, "claude_code");
  });
  await t.step("an answer without duration_ms: the time between the two hooks", async () => {
    const events = (await session()).map((e) =>
      e.tool_use_id === "toolu_01ABC123" && e.data
        ? { ...e, data: { ...e.data, duration_ms: undefined } }
        : e
    );
    const bash = tool(buildTimeline(events).items, "toolu_01ABC123");
    assert.equal(bash.durationMs, 1_500);
    assert.equal(bash.durationFrom, "hooks");
  });
  await t.step("a denial alone: no duration", () => {
    assert.equal(tool(model.items, "toolu_01MNO345").durationMs, undefined);
  });
  await t.step("a PermissionDenied: denied", () => {
    assert.equal(tool(model.items, "toolu_01MNO345").outcome, "denied");
  });
  await t.step("totals", () => {
    assert.equal(model.failedTools, 1);
    // The Edit, MCP and subagent calls have their answers; the denied one never ran.
    assert.equal(model.tools, 6);
    assert.equal(model.runningTools, 0);
  });
  await t.step("a PreToolUse without an answer is running", async () => {
    const events = await fixtureSession({ run_id: "r", until: "permission_request" });
    assert.equal(tool(buildTimeline(events).items, "toolu_01ABC123").outcome, "running");
  });
});

Deno.test("buildTimeline() nests a subagent's events under its start", async (t) => {
  const events = await session();
  const model = buildTimeline(events);
  const group = model.items.find((item) => item.kind === "subagent");
  assert.ok(group && group.kind === "subagent");
  await t.step("the group has the start, the stop, the agent type and a duration", () => {
    assert.equal(group.agent_id, FIXTURE_AGENT_ID);
    assert.equal(group.agent_type, "Explore");
    assert.equal(group.start?.hook_event_name, "SubagentStart");
    assert.equal(group.stop?.hook_event_name, "SubagentStop");
    assert.equal(group.durationMs, 3_000);
    assert.equal(model.subagents, 1);
  });
  await t.step("its tool call and its stop are inside, not at the top", () => {
    assert.deepEqual(group.children.map((c) => c.kind), ["tool", "event"]);
    const inner = tool(group.children, "toolu_sub_01");
    assert.equal(inner.durationMs, 4_187);
    assert.equal(
      flatten(model.items.filter((i) => i.kind !== "subagent")).some((i) =>
        i.kind === "tool" && i.tool_use_id === "toolu_sub_01"
      ),
      false,
    );
    assert.equal(group.events, 4);
  });
  await t.step("events with an agent_id but no start seen form a group of their own", () => {
    const orphans = events.filter((e) =>
      e.agent_id === FIXTURE_AGENT_ID && e.hook_event_name !== "SubagentStart"
    );
    const alone = buildTimeline(orphans.map(({ parent_event_id: _, ...e }) => e));
    assert.equal(alone.items.length, 1);
    const only = alone.items[0]!;
    assert.equal(only.kind, "subagent");
    if (only.kind === "subagent") {
      assert.equal(only.start, undefined);
      assert.equal(only.events, orphans.length);
    }
  });
  await t.step("a subagent started inside another nests under it", () => {
    const start = events.find((e) => e.hook_event_name === "SubagentStart")!;
    const nested: Event = {
      ...start,
      event_id: crypto.randomUUID(),
      agent_id: "agent-inner",
      parent_event_id: start.event_id,
      ts: new Date(Date.parse(start.ts) + 100).toISOString(),
    };
    const outer = buildTimeline([...events, nested]).items.find((i) => i.kind === "subagent");
    assert.ok(outer && outer.kind === "subagent");
    assert.ok(outer.children.some((c) => c.kind === "subagent" && c.agent_id === "agent-inner"));
  });
});

Deno.test("buildTimeline() makes errors stand out", async () => {
  const model = buildTimeline(await session());
  // StopFailure and PostToolUseFailure are at level error.
  assert.equal(model.errors, 2);
  const flagged = flatten(model.items).filter((item) => item.error);
  assert.ok(flagged.some((i) => i.kind === "event" && i.event.hook_event_name === "StopFailure"));
  assert.ok(flagged.some((i) => i.kind === "tool" && i.outcome === "failed"));
});

Deno.test("filterTimeline() keeps the items with a matching event", async (t) => {
  const model = buildTimeline(await session());
  await t.step("an empty filter keeps everything", () => {
    assert.equal(filterTimeline(model.items, {}).length, model.items.length);
  });
  await t.step("errors only", () => {
    const kept = filterTimeline(model.items, { errorsOnly: true });
    assert.deepEqual(
      kept.map((i) => i.kind === "event" ? i.event.hook_event_name : i.kind),
      ["tool", "StopFailure"],
    );
  });
  await t.step("by tool: the subagent stays with only its matching children", () => {
    const kept = filterTimeline(model.items, { tool_name: "Bash" });
    const group = kept.find((i) => i.kind === "subagent");
    assert.ok(group && group.kind === "subagent");
    assert.deepEqual(group.children.map((c) => c.kind), ["tool"]);
    assert.ok(kept.every((i) => eventsOf(i).some((e) => e.tool_name === "Bash")));
  });
  await t.step("by event type and level", () => {
    const kept = filterTimeline(model.items, { event_type: "session_start" });
    assert.equal(kept.length, 1);
    assert.equal(
      filterTimeline(model.items, { level: "debug" }).every((i) =>
        eventsOf(i).some((e) => e.level === "debug")
      ),
      true,
    );
  });
});

Deno.test("buildTimeline() keeps a SubagentStop with no SubagentStart (after /compact), and the tree", async () => {
  const events = await session();
  const real = JSON.parse(
    await Deno.readTextFile(
      new URL("../../testdata/claude-code/real-2.1.328/SubagentStop.json", import.meta.url),
    ),
  );
  const last = events.at(-1)!;
  // A /compact fires a SubagentStop of an agent that never started in this session.
  const orphan = {
    ...last,
    event_id: "0196f0a0-0000-7000-8000-00000000c0de",
    ts: new Date(Date.parse(last.ts) + 1000).toISOString(),
    event_type: "subagent",
    hook_event_name: "SubagentStop",
    agent_id: real.agent_id,
    parent_event_id: undefined,
    data: real,
  } as Event;
  const before = buildTimeline(events);
  const model = buildTimeline([...events, orphan]);
  assert.equal(model.events, events.length + 1);
  const shown = model.items.flatMap(eventsOf).map((e) => e.event_id);
  assert.ok(shown.includes(orphan.event_id));
  assert.equal(new Set(shown).size, shown.length);
  // The subagent that did start keeps its children.
  const started = (items: readonly TimelineItem[]) =>
    flatten(items).filter((item) => item.kind === "subagent" && item.start);
  assert.deepEqual(
    started(model.items).map((item) => item.kind === "subagent" && item.children.length),
    started(before.items).map((item) => item.kind === "subagent" && item.children.length),
  );
  const lone = flatten(model.items).find((item) =>
    item.kind === "subagent" && item.agent_id === real.agent_id
  );
  assert.ok(lone && lone.kind === "subagent" && lone.stop?.event_id === orphan.event_id);
  assert.ok(Number.isFinite(lone.tsMs), "placed in time, not at the end of the world");
});
