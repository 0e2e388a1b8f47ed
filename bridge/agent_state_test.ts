import assert from "node:assert/strict";
import type { Event } from "../shared/schema.ts";
import {
  type AgentState,
  applyEvents,
  parseState,
  RECENT_TOOL_USES,
  stateKeysOf,
  stateMetadata,
  statusOf,
} from "./agent_state.ts";

let n = 0;
function event(fields: Partial<Event> & { ts: string }): Event {
  n++;
  return {
    event_id: `0190a000-0000-7000-8000-${String(n).padStart(12, "0")}`,
    schema_version: "1.0",
    session_id: "s1",
    run_id: "r1",
    project_id: "p1",
    worker_id: "w1",
    event_type: "progress",
    level: "info",
    ...fields,
  };
}

Deno.test("statusOf() derives the status from the event type", () => {
  assert.equal(statusOf({ event_type: "session_end" }), "ended");
  assert.equal(statusOf({ event_type: "done" }), "idle");
  assert.equal(statusOf({ event_type: "worker_heartbeat" }), "idle");
  assert.equal(statusOf({ event_type: "error" }), "error");
  for (const type of ["session_start", "tool_invocation", "prompt", "other"] as const) {
    assert.equal(statusOf({ event_type: type }), "active", type);
  }
});

Deno.test("stateKeysOf() names the project, worker, run and session records", () => {
  const keys = stateKeysOf(event({ ts: "2026-01-01T00:00:00.000Z" }));
  assert.deepEqual(keys.map((k) => k.id), [
    '["project","p1","p1"]',
    '["worker","p1","w1"]',
    '["run","p1","r1"]',
    '["session","p1","s1"]',
  ]);
  const bare = stateKeysOf(
    event({ ts: "2026-01-01T00:00:00.000Z", project_id: undefined, worker_id: undefined }),
  );
  assert.deepEqual(bare.map((k) => k.id), ['["run",null,"r1"]', '["session",null,"s1"]']);
  // Ids cannot collide however the parts are spelled.
  const a = stateKeysOf(
    event({ ts: "2026-01-01T00:00:00.000Z", project_id: "a:b", session_id: "c" }),
  );
  const b = stateKeysOf(
    event({ ts: "2026-01-01T00:00:00.000Z", project_id: "a", session_id: "b:c" }),
  );
  assert.notEqual(a.at(-1)!.id, b.at(-1)!.id);
});

Deno.test("applyEvents() folds events into counts and the latest state", async (t) => {
  const start = event({
    ts: "2026-01-01T00:00:01.000Z",
    event_type: "session_start",
    hook_event_name: "SessionStart",
  });
  const pre = event({
    ts: "2026-01-01T00:00:02.000Z",
    event_type: "tool_invocation",
    hook_event_name: "PreToolUse",
    tool_name: "Bash",
    msg: "Bash: npm test",
  });
  const failed = event({
    ts: "2026-01-01T00:00:03.000Z",
    event_type: "tool_invocation",
    hook_event_name: "PostToolUseFailure",
    level: "error",
  });
  const stop = event({
    ts: "2026-01-01T00:00:04.000Z",
    event_type: "done",
    hook_event_name: "Stop",
  });

  let states = new Map<string, AgentState>();
  await t.step("a first batch creates every record", () => {
    states = applyEvents(new Map(), [start, pre, failed]);
    assert.equal(states.size, 4);
    const session = states.get('["session","p1","s1"]')!;
    assert.equal(session.status, "active");
    assert.equal(session.first_ts, start.ts);
    assert.equal(session.last_event_id, failed.event_id);
    assert.equal(session.last_hook_event_name, "PostToolUseFailure");
    assert.equal(session.last_tool_name, undefined);
    assert.deepEqual(session.counts, {
      events: 3,
      errors: 1,
      tool_calls: 1,
      tool_failures: 1,
      sessions_started: 1,
      subagents_started: 0,
    });
    assert.equal(session.worker_id, "w1");
    assert.equal(session.run_id, "r1");
    const project = states.get('["project","p1","p1"]')!;
    assert.equal(project.worker_id, undefined);
    assert.equal(project.session_id, undefined);
  });

  await t.step("a later batch adds to the stored records", () => {
    const next = applyEvents(states, [stop]);
    assert.equal(next.get('["session","p1","s1"]')!.status, "idle");
    assert.equal(next.get('["session","p1","s1"]')!.counts.events, 4);
    // The input records are not changed in place.
    assert.equal(states.get('["session","p1","s1"]')!.counts.events, 3);
  });

  await t.step("order of arrival does not matter", () => {
    const forward = applyEvents(new Map(), [start, pre, failed, stop]);
    const backward = applyEvents(applyEvents(new Map(), [stop, failed]), [pre, start]);
    assert.deepEqual(backward, forward);
  });
});

Deno.test("stateMetadata() keeps scalars only, with ts_ms for ordering", () => {
  const states = applyEvents(new Map(), [event({ ts: "2026-01-01T00:00:01.000Z" })]);
  const session = states.get('["session","p1","s1"]')!;
  const metadata = stateMetadata(session);
  assert.equal(metadata.ts_ms, Date.parse("2026-01-01T00:00:01.000Z"));
  assert.equal(metadata.scope, "session");
  assert.equal(metadata.status, "active");
  assert.ok(Object.values(metadata).every((v) => typeof v === "string" || typeof v === "number"));
  assert.deepEqual(parseState(JSON.stringify(session)), session);
  assert.equal(parseState("not json"), undefined);
  assert.equal(parseState('{"id":1}'), undefined);
  assert.equal(parseState(null), undefined);
});

Deno.test("applyEvents() counts each tool call once, whichever of its events arrive", async (t) => {
  const call = (hook: string, id: string, second: number, fields: Partial<Event> = {}) =>
    event({
      ts: `2026-01-01T00:00:${String(second).padStart(2, "0")}.000Z`,
      event_type: hook.startsWith("Permission") ? "permission" : "tool_invocation",
      hook_event_name: hook,
      tool_name: "Bash",
      tool_use_id: id,
      ...fields,
    });
  const events = [
    call("PreToolUse", "toolu_a", 1),
    call("PermissionRequest", "toolu_a", 2),
    call("PostToolUse", "toolu_a", 3),
    // No PreToolUse: an answer alone, a failure alone, a denial alone.
    call("PostToolUse", "toolu_b", 4),
    call("PostToolUseFailure", "toolu_c", 5, { level: "error" }),
    call("PermissionDenied", "toolu_d", 6),
    // A call still running.
    call("PreToolUse", "toolu_e", 7),
  ];
  const counts = (states: Map<string, AgentState>, scope: string) =>
    [...states.values()].find((s) => s.scope === scope)!.counts;

  await t.step("five calls, one failed, in every record", () => {
    const states = applyEvents(new Map(), events);
    for (const scope of ["project", "worker", "run", "session"]) {
      assert.equal(counts(states, scope).tool_calls, 5, scope);
      assert.equal(counts(states, scope).tool_failures, 1, scope);
    }
  });

  await t.step("the answer before its call, in another batch: still one call", () => {
    const [pre, request, post, ...rest] = events;
    const first = applyEvents(new Map(), [post!, ...rest]);
    const states = applyEvents(first, [request!, pre!]);
    assert.equal(counts(states, "session").tool_calls, 5);
    assert.equal(counts(states, "project").tool_calls, 5);
  });

  await t.step("a session record remembers a bounded number of ids", () => {
    const many = Array.from(
      { length: RECENT_TOOL_USES + 10 },
      (_, i) => call("PreToolUse", `toolu_${i}`, 1),
    );
    const session = [...applyEvents(new Map(), many).values()].find((s) => s.scope === "session")!;
    assert.equal(session.counts.tool_calls, many.length);
    assert.equal(session.tool_use_ids?.length, RECENT_TOOL_USES);
    assert.equal(session.tool_use_ids?.at(-1), `toolu_${many.length - 1}`);
    const project = [...applyEvents(new Map(), many).values()].find((s) => s.scope === "project")!;
    assert.equal(project.tool_use_ids, undefined, "only session records keep ids");
  });
});

Deno.test("applyEvents(): Claude Code's telemetry exported after the session ended leaves it ended", () => {
  const end = event({ ts: "2026-01-01T00:00:10.000Z", event_type: "session_end" });
  const late = event({
    ts: "2026-01-01T00:00:12.000Z",
    event_type: "telemetry",
    msg: "claude_code.cost.usage +0.01 USD",
  });
  const states = applyEvents(new Map(), [end, late]);
  const session = [...states.values()].find((s) => s.scope === "session")!;
  assert.equal(session.status, "ended");
  assert.equal(session.last_event_id, end.event_id);
  assert.equal(session.counts.events, 2, "counted all the same");
});

Deno.test("applyEvents() starts a record at its first hook event, not at older usage", async (t) => {
  const usage = (ts: string) => event({ ts, event_type: "usage" });
  const hook = (ts: string) =>
    event({ ts, event_type: "session_start", hook_event_name: "SessionStart" });
  const session = (states: Map<string, AgentState>) =>
    [...states.values()].find((s) => s.scope === "session")!;
  // A resumed conversation: its transcript's responses are 13 days older than its hooks.
  const old = usage("2026-01-01T00:00:00.000Z");
  const start = hook("2026-01-14T00:00:00.000Z");
  await t.step("usage first, then the hooks", () => {
    const state = session(applyEvents(applyEvents(new Map(), [old]), [start]));
    assert.equal(state.first_ts, start.ts);
    assert.equal(state.first_ts_of_usage, undefined);
  });
  await t.step("the hooks first, then older usage", () => {
    const state = session(applyEvents(new Map(), [start, old]));
    assert.equal(state.first_ts, start.ts);
  });
  await t.step("usage alone: its earliest", () => {
    const state = session(applyEvents(new Map(), [usage("2026-01-02T00:00:00.000Z"), old]));
    assert.equal(state.first_ts, old.ts);
    assert.equal(state.first_ts_of_usage, true);
  });
  await t.step("an earlier hook event still moves it", () => {
    const earlier = hook("2026-01-13T00:00:00.000Z");
    assert.equal(session(applyEvents(new Map(), [old, start, earlier])).first_ts, earlier.ts);
  });
});
