import assert from "node:assert/strict";
import { uuidV7 } from "../shared/ids.ts";
import type { Event } from "../shared/schema.ts";
import { type AgentState, applyEvents } from "./agent_state.ts";
import {
  createAgentStateUpdater,
  mergeState,
  type StateRecords,
  type StoredState,
} from "./agent_state_updater.ts";

const BASE = Date.parse("2026-11-24T10:00:00.000Z");

/** A minimal event of session `session` at `BASE + offsetMs`. */
function event(session: string, offsetMs: number, extra: Partial<Event> = {}): Event {
  const ms = BASE + offsetMs;
  return {
    schema_version: "1.0",
    event_id: uuidV7(ms),
    ts: new Date(ms).toISOString(),
    run_id: "run-1",
    session_id: session,
    project_id: "acme",
    event_type: "tool_invocation",
    hook_event_name: "PreToolUse",
    level: "info",
    ...extra,
  } as Event;
}

/** In-memory records that can be made to fail, and that log every write. */
function fakeRecords() {
  const stored = new Map<string, StoredState>();
  const writes: number[] = [];
  let failReads = 0;
  let loseAnswers = 0;
  const records: StateRecords = {
    read(ids) {
      if (failReads > 0) {
        failReads--;
        return Promise.reject(new Error("Chroma is down"));
      }
      const out = new Map<string, StoredState>();
      for (const id of ids) {
        const found = stored.get(id);
        if (found) out.set(id, structuredClone(found));
      }
      return Promise.resolve(out);
    },
    write(states, updateId) {
      for (const state of states) stored.set(state.id, { state: structuredClone(state), updateId });
      writes.push(states.length);
      if (loseAnswers > 0) {
        loseAnswers--;
        return Promise.reject(new Error("no answer within 30000 ms"));
      }
      return Promise.resolve();
    },
  };
  return {
    records,
    stored,
    writes,
    failNextReads: (n: number) => failReads = n,
    loseNextAnswers: (n: number) => loseAnswers = n,
    session: (id: string) =>
      [...stored.values()].find((s) => s.state.scope === "session" && s.state.session_id === id)
        ?.state,
  };
}

Deno.test("mergeState() adds counts and keeps the latest event's fields", () => {
  const early = [event("s", 0, { hook_event_name: "SessionStart" }), event("s", 1_000)];
  const late = [event("s", 5_000, { event_type: "done", hook_event_name: "Stop" })];
  const sequential = applyEvents(applyEvents(new Map(), early), late);
  const id = [...sequential.keys()].find((k) => k.startsWith('["session"'))!;
  const merged = mergeState(
    applyEvents(new Map(), early).get(id)!,
    applyEvents(new Map(), late).get(id)!,
  );
  assert.deepEqual(merged, sequential.get(id));
  // Folding in the other order gives the same record.
  const reversed = mergeState(
    applyEvents(new Map(), late).get(id)!,
    applyEvents(new Map(), early).get(id)!,
  );
  assert.deepEqual(reversed, sequential.get(id));
  assert.equal(merged.status, "idle");
  assert.equal(merged.counts.events, 3);
});

Deno.test("mergeState() keeps a hook event's first_ts over an earlier usage-only one, either way", () => {
  // A usage event's ts is its response's (days old for a resumed conversation): two bridges'
  // parts, one with only usage, merge to the first hook event's time, as one bridge's fold does.
  const usage = [event("s", -86_400_000, { event_type: "usage", hook_event_name: undefined })];
  const hooks = [event("s", 0, { hook_event_name: "SessionStart" })];
  const id = [...applyEvents(new Map(), hooks).keys()].find((k) => k.startsWith('["session"'))!;
  const sequential = applyEvents(applyEvents(new Map(), usage), hooks).get(id)!;
  const a = applyEvents(new Map(), usage).get(id)!;
  const b = applyEvents(new Map(), hooks).get(id)!;
  for (const merged of [mergeState(a, b), mergeState(b, a)]) {
    assert.equal(merged.first_ts, hooks[0]!.ts);
    assert.equal(merged.first_ts_of_usage, undefined);
    assert.equal(merged.first_ts, sequential.first_ts);
  }
});

Deno.test("AgentStateUpdater folds many writes into few flushes", async () => {
  const fake = fakeRecords();
  const updater = createAgentStateUpdater(fake.records, { delayMs: 5 });
  for (let i = 0; i < 50; i++) updater.add([event("s-1", i), event("s-2", i)]);
  assert.ok(updater.pending > 0);
  await updater.flush();
  assert.equal(updater.pending, 0);
  assert.equal(fake.session("s-1")?.counts.events, 50);
  assert.equal(fake.session("s-2")?.counts.events, 50);
  // project, run, and the two sessions: one write of 4 records, not 50 writes.
  assert.deepEqual(fake.writes, [4]);
  assert.equal(await updater.close(), true);
});

Deno.test("AgentStateUpdater retries a failed flush without counting twice", async (t) => {
  await t.step("a failed read keeps the deltas and retries", async () => {
    const fake = fakeRecords();
    const errors: unknown[] = [];
    const updater = createAgentStateUpdater(fake.records, {
      delayMs: 0,
      retryMinMs: 1,
      onError: (error) => errors.push(error),
    });
    fake.failNextReads(3);
    updater.add([event("s", 0), event("s", 1)]);
    await updater.flush();
    assert.equal(errors.length, 3);
    assert.equal(fake.session("s")?.counts.events, 2);
    await updater.close();
  });

  await t.step("a write that landed but lost its answer is not applied again", async () => {
    const fake = fakeRecords();
    const updater = createAgentStateUpdater(fake.records, { delayMs: 0, retryMinMs: 1 });
    updater.add([event("s", 0)]);
    await updater.flush();
    fake.loseNextAnswers(2);
    updater.add([event("s", 10), event("s", 11)]);
    await updater.flush();
    assert.equal(fake.session("s")?.counts.events, 3);
    updater.add([event("s", 20)]);
    await updater.flush();
    assert.equal(fake.session("s")?.counts.events, 4);
    assert.equal(fake.session("s")?.last_ts, new Date(BASE + 20).toISOString());
    await updater.close();
  });
});

Deno.test("AgentStateUpdater.close() gives up after its deadline and then takes nothing", async () => {
  const fake = fakeRecords();
  const updater = createAgentStateUpdater(fake.records, { delayMs: 0, retryMinMs: 5 });
  fake.failNextReads(1_000_000);
  updater.add([event("s", 0)]);
  assert.equal(await updater.close({ timeoutMs: 50 }), false);
  updater.add([event("s", 1)]);
  await updater.flush();
  assert.equal(fake.stored.size, 0);
});

Deno.test("AgentStateUpdater bounds the records waiting", async () => {
  const fake = fakeRecords();
  const errors: unknown[] = [];
  const updater = createAgentStateUpdater(fake.records, {
    delayMs: 1_000,
    maxKeys: 5,
    onError: (error) => errors.push(error),
  });
  // Each session adds its own record to the shared project and run records.
  for (let i = 0; i < 10; i++) updater.add([event(`s-${i}`, i)]);
  assert.equal(updater.pending, 5);
  assert.ok(errors.length > 0);
  assert.match(String(errors[0]), /Cannot update 1 agent_state records: 5 are waiting already/);
  await updater.flush();
  const project = [...fake.stored.values()].find((s) => s.state.scope === "project")?.state;
  assert.equal(project?.counts.events, 10);
  await updater.close();
});

/** The state type is what the store persists: a record must survive a JSON round trip. */
Deno.test("mergeState() results survive the JSON round trip the store makes", () => {
  const [state] = [...applyEvents(new Map(), [event("s", 0)]).values()] as [AgentState];
  const merged = mergeState(state, state);
  assert.deepEqual(JSON.parse(JSON.stringify(merged)), merged);
});
