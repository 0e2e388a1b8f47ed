import assert from "node:assert/strict";
import {
  type AgentState,
  applyEvents,
  RECENT_TOOL_USES as SERVER_RECENT_TOOL_USES,
  statusOf as serverStatusOf,
  TOOL_CALL_HOOKS as SERVER_TOOL_CALL_HOOKS,
} from "../agent_state.ts";
import { buildTimeline } from "./static/timeline_model.js";
import { fixtureSession, fixtureUsage } from "../testing/dashboard_session.ts";
import {
  distinctSessions,
  foldLiveEvent,
  groupFleet,
  RECENT_TOOL_USES,
  recordKeysOf,
  recordTokens,
  type StateRecord,
  statusOf,
  TOOL_CALL_HOOKS,
} from "./static/state_fold.js";
import { EVENT_TYPES } from "./static/vocabulary.js";

async function twoSessions() {
  const start = Date.now() - 120_000;
  const a = await fixtureSession({
    run_id: "run-a",
    project_id: "acme",
    worker_id: "vm-1",
    session_id: "session-a",
    startMs: start,
  });
  const b = await fixtureSession({
    run_id: "run-b",
    project_id: "acme",
    worker_id: "vm-2",
    session_id: "session-b",
    // Not a whole number of steps apart: no two events share a millisecond, which the live
    // fold cannot order against a read record (see foldLiveEvent()).
    startMs: start + 501,
    until: "post_tool_use_failure",
  });
  return [...a, ...b].sort((x, y) => Date.parse(x.ts) - Date.parse(y.ts));
}

Deno.test("statusOf() agrees with the bridge's for every event type", () => {
  for (const event_type of EVENT_TYPES) {
    assert.equal(statusOf({ event_type }), serverStatusOf({ event_type } as never), event_type);
  }
});

Deno.test("foldLiveEvent() builds the records the bridge's agent_state builds", async () => {
  const events = await twoSessions();
  const live = new Map<string, StateRecord>();
  for (const event of events) foldLiveEvent(live, event);
  const server = applyEvents(new Map<string, AgentState>(), events);
  assert.deepEqual([...live.keys()].sort(), [...server.keys()].sort());
  for (const [id, record] of server) assert.deepEqual(live.get(id), record, id);
  for (const event of events) {
    assert.deepEqual(
      recordKeysOf(event).map((k) => k.id),
      [...new Set(recordKeysOf(event).map((k) => k.id))],
    );
  }
});

Deno.test("foldLiveEvent() skips what a record read from the bridge already counts", async () => {
  const events = await twoSessions();
  const half = Math.floor(events.length / 2);
  const read = applyEvents(new Map(), events.slice(0, half));
  const records = new Map<string, StateRecord>(
    [...read].map(([id, state]) => [id, structuredClone(state) as StateRecord]),
  );
  // The stream also delivers events the read already holds: they must not count twice.
  for (const event of events.slice(half - 3)) foldLiveEvent(records, event);
  const whole = applyEvents(new Map(), events);
  for (const [id, record] of whole) assert.deepEqual(records.get(id), record, id);
  assert.deepEqual(foldLiveEvent(records, events[0]!), []);
});

Deno.test("groupFleet() groups by project, newest first", async () => {
  const events = await twoSessions();
  const records = [...applyEvents(new Map(), events).values()] as StateRecord[];
  const other = { ...records.find((r) => r.scope === "session")! };
  other.id = JSON.stringify(["session", null, "lonely"]);
  delete other.project_id;
  other.session_id = "lonely";
  other.last_ts_ms = 0;
  const groups = groupFleet([...records, other]);
  assert.deepEqual(groups.map((g) => g.project_id), ["acme", undefined]);
  const acme = groups[0]!;
  assert.equal(acme.record?.scope, "project");
  assert.deepEqual(acme.workers.map((r) => r.worker_id), ["vm-1", "vm-2"]);
  assert.deepEqual(acme.sessions.map((r) => r.session_id), ["session-a", "session-b"]);
  assert.equal(acme.sessions[0]!.status, "ended");
  assert.equal(acme.sessions[1]!.status, "active");
  assert.equal(acme.runs.length, 2);
});

Deno.test("recordTokens() sums the four token kinds", () => {
  const record = { usage: { input_tokens: 1, output_tokens: 2, cache_read_input_tokens: 4 } };
  assert.equal(recordTokens(record as StateRecord), 7);
  assert.equal(recordTokens({} as StateRecord), undefined);
});

Deno.test("distinctSessions() counts session ids, not SessionStart events", () => {
  const counts = {
    events: 3,
    errors: 0,
    tool_calls: 0,
    tool_failures: 0,
    // Started, resumed twice and compacted once: four SessionStart events, one session.
    sessions_started: 4,
    subagents_started: 0,
  };
  const record = (scope: StateRecord["scope"], extra: Partial<StateRecord>): StateRecord => ({
    id: JSON.stringify([scope, extra]),
    scope,
    status: "active",
    first_ts: "2026-01-01T00:00:00.000Z",
    last_ts: "2026-01-01T00:00:00.000Z",
    last_ts_ms: 0,
    last_event_id: "e",
    last_event_type: "session_start",
    counts,
    ...extra,
  });
  const worker = record("worker", { worker_id: "vm-1" });
  const run = record("run", { run_id: "run-a", worker_id: "vm-1" });
  const sessions = [
    record("session", { session_id: "s-1", run_id: "run-a", worker_id: "vm-1" }),
    record("session", { session_id: "s-2", run_id: "run-b", worker_id: "vm-1" }),
    record("session", { session_id: "s-3", run_id: "run-c", worker_id: "vm-2" }),
  ];
  assert.equal(distinctSessions(sessions, "worker_id", worker), 2);
  assert.equal(distinctSessions(sessions, "run_id", run), 1);
});

Deno.test("foldLiveEvent() counts tool calls as the bridge and the session timeline do", async () => {
  assert.deepEqual([...TOOL_CALL_HOOKS].sort(), [...SERVER_TOOL_CALL_HOOKS].sort());
  assert.equal(RECENT_TOOL_USES, SERVER_RECENT_TOOL_USES);
  // The fixture has answers without their PreToolUse (an Edit, an MCP call, a failure) and a
  // denial alone: each is one call in the fleet's records and in the session's timeline.
  const events = await fixtureSession({ run_id: "run-t", session_id: "session-t" });
  const live = new Map<string, StateRecord>();
  for (const event of events) foldLiveEvent(live, event);
  const session = [...live.values()].find((r) => r.scope === "session");
  const timeline = buildTimeline(events);
  assert.equal(session?.counts.tool_calls, timeline.tools);
  assert.equal(session?.counts.tool_failures, timeline.failedTools);
  assert.equal(timeline.tools, 6);
});

Deno.test("foldLiveEvent() starts a session at its hooks, not its older usage, as the bridge", async () => {
  const startMs = Date.now() - 60_000;
  const context = { run_id: "run-u", project_id: "acme", session_id: "session-u" };
  const usage = await fixtureUsage({ ...context, startMs: startMs - 13 * 86_400_000 });
  const hooks = await fixtureSession({ ...context, startMs });
  // The collector's events arrive first (a resumed conversation's old responses).
  const events = [...usage, ...hooks];
  const live = new Map<string, StateRecord>();
  for (const event of events) foldLiveEvent(live, event);
  const server = applyEvents(new Map<string, AgentState>(), events);
  for (const [id, record] of server) assert.deepEqual(live.get(id), record, id);
  const session = [...live.values()].find((r) => r.scope === "session");
  assert.equal(session?.first_ts, hooks[0]!.ts);
});
