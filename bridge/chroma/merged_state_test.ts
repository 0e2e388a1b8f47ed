import assert from "node:assert/strict";
import { formatTimestamp, uuidV7 } from "../../shared/ids.ts";
import type { Event } from "../../shared/schema.ts";
import type { AgentState } from "../agent_state.ts";
import { startTestChroma } from "../testing/chroma.ts";
import { makeEvent } from "../testing/fakes.ts";
import { TestStore } from "../testing/store.ts";
import { query } from "../testing/store_fixtures.ts";
import { stateIdOf } from "./merged_state.ts";

const BASE = Date.parse("2026-11-30T10:00:00.000Z");

function at(offsetMs: number, extra: Partial<Event>): Promise<Event> {
  const ms = BASE + offsetMs;
  return makeEvent({ event_id: uuidV7(ms), ts: formatTimestamp(ms), run_id: "r-1", ...extra });
}

Deno.test("agent_state reads filter, order and page the merged records, not the parts", async (t) => {
  await using chroma = await startTestChroma();
  await using a = new TestStore({ url: chroma.url, writerId: "bridge-a" });
  await using b = new TestStore({ url: chroma.url, writerId: "bridge-b" });
  // Session s-1 through bridge a first (working), then through bridge b (a finished turn): the
  // merged record is idle, last at +5 s. Its run's latest session is s-2 (bridge b, +6 s).
  await a.write([await at(0, { session_id: "s-1" }), await at(1_000, { session_id: "s-1" })]);
  await b.write([
    await at(2_000, { session_id: "s-1" }),
    await at(3_000, { session_id: "s-1" }),
    await at(5_000, { session_id: "s-1", event_type: "done", hook_event_name: "Stop" }),
    await at(6_000, { session_id: "s-2" }),
  ]);
  await Promise.all([a.flushAgentState(), b.flushAgentState()]);
  const read = async (search: string) =>
    (await a.query(query(`collection=agent_state&${search}`))).results as AgentState[];

  await t.step("one record per state, counts summed, status of the latest part", async () => {
    const [session, ...more] = await read("scope=session&session_id=s-1");
    assert.deepEqual(more, []);
    assert.equal(session!.counts.events, 5);
    assert.equal(session!.status, "idle");
    assert.equal(session!.last_ts_ms, BASE + 5_000);
  });

  await t.step("status matches the merged record, not any part", async () => {
    assert.deepEqual((await read("scope=session&status=idle")).map((s) => s.session_id), ["s-1"]);
    // Bridge a's part of s-1 is active, but s-1 is not.
    assert.deepEqual((await read("scope=session&status=active")).map((s) => s.session_id), [
      "s-2",
    ]);
  });

  await t.step("since and until bound the merged record's last event", async () => {
    const sinceMs = BASE + 4_000;
    assert.deepEqual(
      (await read(`scope=session&since=${sinceMs}`)).map((s) => s.session_id),
      ["s-1", "s-2"],
    );
    // Bridge a's part of s-1 ends before +1.5 s; the merged record does not.
    assert.deepEqual(await read(`scope=session&until=${BASE + 1_500}`), []);
  });

  await t.step(
    "an id that follows the latest event (the run's session) is the merged one",
    async () => {
      assert.deepEqual(await read("scope=run&session_id=s-1"), []);
      const [run] = await read("scope=run&session_id=s-2");
      assert.equal(run?.counts.events, 6);
    },
  );

  await t.step("text= matches the merged JSON", async () => {
    const found = await read(`scope=session&text=${encodeURIComponent('"events":5')}`);
    assert.deepEqual(found.map((s) => s.session_id), ["s-1"]);
  });

  await t.step("pages of one follow the merged order", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { results: unknown[]; next_cursor: string | null } = await a.query(
        query(`collection=agent_state&limit=1${cursor ? `&cursor=${cursor}` : ""}`),
      );
      seen.push(...(page.results as AgentState[]).map((s) => `${s.scope}:${s.last_ts_ms - BASE}`));
      cursor = page.next_cursor;
    } while (cursor !== null);
    // session s-1 (+5 s), then at +6 s the project, run and s-2 (by id), each once.
    assert.equal(seen.length, 4);
    assert.equal(seen[0], "session:5000");
    assert.deepEqual(seen.slice(1).sort(), ["project:6000", "run:6000", "session:6000"]);
  });
  await t.step("a byte bound cuts the page, and its cursor goes on from there", async () => {
    const seen: string[] = [];
    let reserved = 0;
    let cursor: string | null = null;
    do {
      const page: { results: unknown[]; next_cursor: string | null } = await a.query(
        query(`collection=agent_state&limit=100${cursor ? `&cursor=${cursor}` : ""}`, {
          maxBytes: 1,
          reserve: (bytes) => Promise.resolve(void (reserved += bytes)),
        }),
      );
      assert.equal(page.results.length, 1, "one record at least, and no more past the bound");
      seen.push((page.results[0] as AgentState).id);
      cursor = page.next_cursor;
    } while (cursor !== null);
    assert.equal(new Set(seen).size, 4);
    assert.equal(reserved, 4, "each page took its bound from the budget");
  });
});

Deno.test("stateIdOf() finds the state id before the bridge id, whatever the key holds", () => {
  const id = JSON.stringify(["session", "acme", "a]~b"]);
  assert.equal(stateIdOf(`${id}~bridge-1`), id);
  assert.equal(stateIdOf(`${id}~x]~y`), id);
  assert.equal(stateIdOf(id), id, "a record from before parts");
});
