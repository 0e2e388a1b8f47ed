import assert from "node:assert/strict";
import { type EventContext, eventFromHookPayload, sealEvent } from "../hooks/pipeline/envelope.ts";
import { createRedactor, type Redactor } from "../shared/redact.ts";
import { type Event, parseEvent } from "../shared/schema.ts";
import type { AgentState } from "./agent_state.ts";
import { ChromaStore } from "./chroma_store.ts";
import { offlineProvider } from "./embeddings.ts";
import { parseQueryParams } from "./query_params.ts";
import { type QueryParams, type QueryResult, StoreUnavailableError } from "./store.ts";
import { startTestChroma } from "./testing/chroma.ts";
import { TestStore } from "./testing/store.ts";

const PAYLOADS = new URL("../testdata/claude-code/payloads/", import.meta.url);
const BASE = Date.parse("2026-11-24T10:00:00.000Z");

async function payloads(): Promise<[string, Record<string, unknown>][]> {
  const out: [string, Record<string, unknown>][] = [];
  for await (const entry of Deno.readDir(PAYLOADS)) {
    out.push([entry.name, JSON.parse(await Deno.readTextFile(new URL(entry.name, PAYLOADS)))]);
  }
  return out.sort(([a], [b]) => a.localeCompare(b));
}

function redactor(): Promise<Redactor> {
  return createRedactor({ mode: "strict", hostNames: ["dev-vm-7"], salt: "test-salt" });
}

/** Every fixture payload as a sealed envelope, one second apart, over two projects. */
async function fixtureEvents(): Promise<Event[]> {
  const r = await redactor();
  const all = await payloads();
  const events: Event[] = [];
  for (const [i, [, payload]] of all.entries()) {
    const context: EventContext = {
      run_id: i % 3 === 0 ? "run-a" : "run-b",
      project_id: i % 2 === 0 ? "acme-app" : "beta-svc",
      worker_id: i % 4 === 0 ? "vm-1" : "vm-2",
      agent_role: "worker",
    };
    events.push(
      await eventFromHookPayload(payload, context, { redactor: r, now: BASE + i * 1000 }),
    );
  }
  for (const event of events) assert.ok(parseEvent(event).ok);
  return events;
}

function query(search: string, extra: Partial<QueryParams> = {}): QueryParams {
  const parsed = parseQueryParams(new URLSearchParams(search));
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.error);
  return { ...parsed.params, ...extra };
}

/** Every page of a query, following next_cursor. */
async function allPages(store: TestStore, params: QueryParams): Promise<unknown[][]> {
  const pages: unknown[][] = [];
  let cursor: string | undefined;
  do {
    const page: QueryResult = await store.query({ ...params, ...(cursor ? { cursor } : {}) });
    pages.push(page.results);
    cursor = page.next_cursor ?? undefined;
    assert.ok(pages.length < 1_000, "paging does not end");
  } while (cursor !== undefined);
  return pages;
}

function byTs(a: Event, b: Event): number {
  return Date.parse(a.ts) - Date.parse(b.ts) || (a.event_id < b.event_id ? -1 : 1);
}

function ids(results: unknown[]): string[] {
  return results.map((r) => (r as Event).event_id);
}

Deno.test("ChromaStore stores every fixture envelope and reads each back as it was", async (t) => {
  await using chroma = await startTestChroma();
  await using store = new TestStore({ url: chroma.url });
  const events = await fixtureEvents();

  await t.step("write() stores every fixture", async () => {
    const result = await store.write(events);
    assert.deepEqual(result.stored, events.map((e) => e.event_id));
    assert.deepEqual(result.duplicates, []);
  });

  await t.step("query() gives back the very envelopes, in ts order", async () => {
    const page = await store.query(query("limit=1000"));
    assert.deepEqual(page.results, [...events].sort(byTs));
    assert.equal(page.next_cursor, null);
  });

  await t.step("counts() counts events, artifacts and agent_state records", async () => {
    await store.flushAgentState();
    const counts = await store.counts();
    assert.deepEqual(Object.keys(counts).sort(), ["agent_state", "artifacts", "events"]);
    assert.equal(counts.events, events.length);
    assert.equal(counts.artifacts, 0);
    // 2 projects, workers per project, 2 runs per project, sessions per project.
    const keys = new Set(events.flatMap((e) => [
      `p${e.project_id}`,
      `w${e.project_id}/${e.worker_id}`,
      `r${e.project_id}/${e.run_id}`,
      `s${e.project_id}/${e.session_id}`,
    ]));
    assert.equal(counts.agent_state, keys.size);
  });

  await t.step("redelivery of the whole batch stores nothing new", async () => {
    const before = await store.counts();
    const states = await store.query(query("collection=agent_state&limit=1000"));
    const result = await store.write(events);
    assert.deepEqual(result.stored, []);
    assert.deepEqual(result.duplicates, events.map((e) => e.event_id));
    await store.flushAgentState();
    assert.deepEqual(await store.counts(), before);
    assert.deepEqual(await store.query(query("collection=agent_state&limit=1000")), states);
  });

  await t.step("each event is one record carrying the vector of its text", async () => {
    const names = (await chroma.client.listCollections()).map((c) => c.name);
    assert.ok(!names.includes("embeddings"), names.join(", "));
    const collection = await chroma.client.getCollection({ name: "events" });
    const texted = events.find((e) => e.indexable_text)!;
    const bare = events.find((e) => !e.indexable_text);
    const got = await collection.get({
      ids: [texted.event_id, ...(bare ? [bare.event_id] : [])],
      include: ["embeddings", "metadatas"],
    });
    const [offline] = await offlineProvider().embed([texted.indexable_text!]);
    const at = got.ids.indexOf(texted.event_id);
    assert.deepEqual(
      [...got.embeddings[at]!].map((x) => Math.round(x * 1e5)),
      offline!.map((x) => Math.round(x * 1e5)),
    );
    assert.equal(got.metadatas[at]!.indexed, 1);
    if (bare) assert.equal(got.metadatas[got.ids.indexOf(bare.event_id)]!.indexed, undefined);
  });

  await t.step("the events collection is stamped with metadata Chroma can filter", async () => {
    const collection = await chroma.client.getCollection({ name: "events" });
    const got = await collection.get({ ids: [events[0]!.event_id], include: ["metadatas"] });
    const metadata = got.metadatas[0]!;
    assert.equal(
      metadata.session_event_type,
      JSON.stringify([events[0]!.session_id, events[0]!.event_type]),
    );
    assert.equal(metadata.event_id, undefined);
    assert.equal(metadata.ts_ms, Date.parse(events[0]!.ts));
    assert.equal(metadata.hash, events[0]!.hash);
    assert.equal(metadata.project_id, events[0]!.project_id);
    for (const value of Object.values(metadata)) {
      assert.ok(typeof value === "string" || typeof value === "number");
    }
  });
});

Deno.test("ChromaStore.write() keeps one event per event_id and per hash", async (t) => {
  await using chroma = await startTestChroma();
  await using store = new TestStore({ url: chroma.url });
  const [a, b, c] = (await fixtureEvents()).slice(0, 3) as [Event, Event, Event];

  await t.step("duplicates within one batch count once", async () => {
    const sameHash = { ...b, event_id: crypto.randomUUID() };
    const result = await store.write([a, a, b, sameHash]);
    assert.deepEqual(result.stored, [a.event_id, b.event_id]);
    assert.deepEqual(result.duplicates, [a.event_id, sameHash.event_id]);
  });

  await t.step("a stored hash under a new event_id is a duplicate", async () => {
    const replayed = { ...a, event_id: crypto.randomUUID() };
    const result = await store.write([replayed, c]);
    assert.deepEqual(result.stored, [c.event_id]);
    assert.deepEqual(result.duplicates, [replayed.event_id]);
    assert.equal((await store.counts()).events, 3);
  });

  await t.step("events without a hash are kept once by event_id", async () => {
    const { hash: _, ...noHash } = { ...a, event_id: crypto.randomUUID() };
    assert.deepEqual((await store.write([noHash as Event])).stored, [noHash.event_id]);
    assert.deepEqual((await store.write([noHash as Event])).duplicates, [noHash.event_id]);
  });

  await t.step("concurrent writes of the same events store each once", async () => {
    const r = await redactor();
    const fresh = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        sealEvent({
          run_id: "run-c",
          session_id: "s-c",
          event_type: "progress",
          level: "info",
          msg: `m${i}`,
          data: { i },
        }, {
          redactor: r,
          now: BASE + 100_000 + i,
        })
      ),
    );
    // Through a group committer, as the app writes: it holds writes of the same events apart.
    const results = await Promise.all([
      store.submit(fresh),
      store.submit(fresh),
      store.submit(fresh),
    ]);
    const stored = results.flatMap((outcomes) =>
      fresh.filter((_, i) => outcomes[i] === "stored").map((e) => e.event_id)
    ).sort();
    assert.deepEqual(stored, fresh.map((e) => e.event_id).sort());
    await store.flushAgentState();
    const records = (await store.query(query("collection=agent_state&session_id=s-c")))
      .results as AgentState[];
    const session = records.filter((s) => s.scope === "session");
    assert.equal(session.length, 1);
    assert.equal(session[0]!.counts.events, 4);
  });
});

Deno.test("ChromaStore keeps artifacts once per project and file hash", async () => {
  await using chroma = await startTestChroma();
  await using store = new TestStore({ url: chroma.url });
  const r = await redactor();
  const ref = (n: number) => ({
    path: `out/report-${n}.md`,
    type: "report",
    hash: String(n).repeat(64).slice(0, 64),
    size_bytes: 100 * n,
  });
  const draft = (project: string, refs: ReturnType<typeof ref>[], i: number) =>
    sealEvent({
      run_id: "run-1",
      session_id: "s-1",
      project_id: project,
      event_type: "artifact",
      level: "info",
      artifact_refs: refs,
    }, { redactor: r, now: BASE + i });
  const events = [
    await draft("acme-app", [ref(1), ref(2)], 0),
    await draft("acme-app", [ref(1)], 1),
    await draft("beta-svc", [ref(1)], 2),
  ];
  await store.write(events);
  assert.equal((await store.counts()).artifacts, 3);
  const acme = (await store.query(query("collection=artifacts&project_id=acme-app"))).results as {
    hash: string;
    event_id: string;
    path: string;
  }[];
  assert.deepEqual(acme.map((a) => a.hash).sort(), [ref(1).hash, ref(2).hash].sort());
  assert.ok(acme.every((a) => a.event_id === events[0]!.event_id));
  const bound = await store.query(query("collection=artifacts", { project_ids: ["beta-svc"] }));
  assert.deepEqual(bound.results.map((a) => (a as { path: string }).path), [ref(1).path]);
});

Deno.test("ChromaStore keeps the latest agent state per project, worker, run and session", async (t) => {
  await using chroma = await startTestChroma();
  await using store = new TestStore({ url: chroma.url });
  const r = await redactor();
  const all = new Map(await payloads());
  const context: EventContext = { run_id: "run-s", project_id: "acme-app", worker_id: "vm-9" };
  let clock = BASE;
  const make = (name: string, session = "sess-1") =>
    eventFromHookPayload({ ...all.get(name)!, session_id: session }, context, {
      redactor: r,
      now: clock += 1000,
    });
  const state = async (scope: string, key: string) => {
    await store.flushAgentState();
    const filter = scope === "project" ? "" : `&${scope}_id=${key}`;
    const records = (await store.query(
      query(`collection=agent_state&project_id=acme-app${filter}&limit=1000`),
    )).results as AgentState[];
    const found = records.find((s) => s.scope === scope);
    assert.ok(found, `no ${scope} record for ${key}`);
    return found;
  };

  await t.step("a working session is active and counts its tool calls", async () => {
    await store.write([
      await make("session_start.json"),
      await make("pre_tool_use.json"),
      await make("post_tool_use_failure.json"),
    ]);
    const s = await state("session", "sess-1");
    assert.equal(s.status, "active");
    assert.equal(s.last_hook_event_name, "PostToolUseFailure");
    assert.deepEqual(s.counts, {
      events: 3,
      errors: 1,
      // The failure answers a call of its own (toolu_01JKL012, no PreToolUse): two calls.
      tool_calls: 2,
      tool_failures: 1,
      sessions_started: 1,
      subagents_started: 0,
    });
    assert.equal(s.worker_id, "vm-9");
    assert.equal(s.run_id, "run-s");
  });

  await t.step("Stop makes it idle; the counts add up across writes", async () => {
    await store.write([await make("stop.json")]);
    const s = await state("session", "sess-1");
    assert.equal(s.status, "idle");
    assert.equal(s.counts.events, 4);
  });

  await t.step("StopFailure marks it failed, SessionEnd ends it", async () => {
    await store.write([await make("stop_failure.json")]);
    assert.equal((await state("session", "sess-1")).status, "error");
    await store.write([await make("session_end.json")]);
    assert.equal((await state("session", "sess-1")).status, "ended");
  });

  await t.step("a late, older event counts but does not change the latest fields", async () => {
    const late = await eventFromHookPayload(
      { ...all.get("pre_tool_use.json")!, session_id: "sess-1" },
      context,
      { redactor: r, now: BASE + 10 },
    );
    await store.write([late]);
    const s = await state("session", "sess-1");
    assert.equal(s.status, "ended");
    assert.equal(s.last_event_type, "session_end");
    assert.equal(s.counts.events, 7);
    assert.equal(s.first_ts, late.ts);
  });

  await t.step("project, worker and run records sum over their sessions", async () => {
    await store.write([await make("session_start.json", "sess-2")]);
    for (const [scope, key] of [["project", "acme-app"], ["worker", "vm-9"], ["run", "run-s"]]) {
      const s = await state(scope!, key!);
      assert.equal(s.counts.events, 8, scope);
      assert.equal(s.counts.sessions_started, 2, scope);
      assert.equal(s.status, "active", scope);
    }
    assert.equal((await state("worker", "vm-9")).session_id, "sess-2");
  });
});

Deno.test("ChromaStore.query() filters, searches text and restricts projects", async (t) => {
  await using chroma = await startTestChroma();
  await using store = new TestStore({ url: chroma.url });
  const events = (await fixtureEvents()).sort(byTs);
  await store.write(events);
  const expect = (predicate: (e: Event) => boolean) =>
    events.filter(predicate).map((e) => e.event_id);

  for (
    const field of [
      "project_id",
      "run_id",
      "session_id",
      "worker_id",
      "event_type",
      "hook_event_name",
      "tool_name",
      "level",
    ] as const
  ) {
    await t.step(`${field}= keeps matching events only`, async () => {
      const values = new Set(events.map((e) => e[field]).filter((v) => v !== undefined));
      assert.ok(values.size > 0);
      for (const value of values) {
        const page = await store.query(query(`${field}=${encodeURIComponent(value!)}&limit=1000`));
        assert.deepEqual(ids(page.results), expect((e) => e[field] === value), `${field}=${value}`);
      }
    });
  }

  await t.step("filters combine with AND", async () => {
    const page = await store.query(query("project_id=acme-app&run_id=run-a&limit=1000"));
    const want = expect((e) => e.project_id === "acme-app" && e.run_id === "run-a");
    assert.ok(want.length > 0);
    assert.deepEqual(ids(page.results), want);
  });

  await t.step("a session with its event type, its tool or both (composite keys)", async () => {
    const combos = new Set(
      events.map((e) => JSON.stringify([e.session_id, e.event_type, e.tool_name])),
    );
    let checked = 0;
    for (const combo of combos) {
      const [session, type, tool] = JSON.parse(combo) as [string, string, string | null];
      const s = encodeURIComponent(session);
      const cases: [string, (e: Event) => boolean][] = [
        [
          `session_id=${s}&event_type=${type}`,
          (e) => e.session_id === session && e.event_type === type,
        ],
      ];
      if (tool !== null) {
        cases.push(
          [
            `session_id=${s}&tool_name=${encodeURIComponent(tool)}`,
            (e) => e.session_id === session && e.tool_name === tool,
          ],
          [
            `session_id=${s}&event_type=${type}&tool_name=${encodeURIComponent(tool)}`,
            (e) => e.session_id === session && e.event_type === type && e.tool_name === tool,
          ],
        );
      }
      for (const [search, predicate] of cases) {
        const page = await store.query(query(`${search}&limit=1000`));
        assert.deepEqual(ids(page.results), expect(predicate), search);
        assert.ok(page.results.length > 0, search);
        checked++;
      }
    }
    assert.ok(checked >= 4, `only ${checked} combinations`);
    // A bound key and a time window still apply on top of a composite key.
    const first = events[0]!;
    const narrowed = await store.query(query(
      `session_id=${encodeURIComponent(first.session_id)}&event_type=${first.event_type}` +
        `&until=${Date.parse(first.ts)}`,
      { project_ids: [first.project_id!] },
    ));
    assert.deepEqual(ids(narrowed.results), [first.event_id]);
    const hidden = await store.query(query(
      `session_id=${encodeURIComponent(first.session_id)}&event_type=${first.event_type}`,
      { project_ids: ["no-such-project"] },
    ));
    assert.deepEqual(hidden.results, []);
  });

  await t.step("since and until bound ts, inclusive, as RFC 3339 or ms", async () => {
    const since = events[5]!.ts;
    const until = Date.parse(events[9]!.ts);
    const page = await store.query(query(`since=${since}&until=${until}`));
    assert.deepEqual(ids(page.results), events.slice(5, 10).map((e) => e.event_id));
  });

  await t.step("text= finds envelopes containing the text, quotes included", async () => {
    const page = await store.query(query(`text=${encodeURIComponent("npm test")}&limit=1000`));
    const want = expect((e) => JSON.stringify(e).includes("npm test"));
    assert.ok(want.length > 0);
    assert.deepEqual(ids(page.results), want);
    const quoted = await store.query(query(`text=${encodeURIComponent('"command":"npm test"')}`));
    assert.ok(quoted.results.length > 0);
    assert.deepEqual(
      ids(quoted.results),
      expect((e) => JSON.stringify(e).includes('"command":"npm test"')),
    );
    const none = await store.query(query("text=no-such-text-anywhere"));
    assert.deepEqual(none.results, []);
  });

  await t.step("project_ids restricts what a bound key sees", async () => {
    const bound = await store.query(query("limit=1000", { project_ids: ["beta-svc"] }));
    assert.deepEqual(ids(bound.results), expect((e) => e.project_id === "beta-svc"));
    const other = await store.query(query("project_id=acme-app", { project_ids: ["beta-svc"] }));
    assert.deepEqual(other.results, []);
    const nothing = await store.query(query("limit=1000", { project_ids: [] }));
    assert.deepEqual(nothing.results, []);
  });

  await t.step("operator-looking values are plain values that match nothing", async () => {
    for (const value of ['{"$ne":"x"}', "$ne", '{"$in":["acme-app","beta-svc"]}', "acme-app*"]) {
      const page = await store.query(query(`project_id=${encodeURIComponent(value)}`));
      assert.deepEqual(page.results, [], value);
      const text = await store.query(query(`session_id=${encodeURIComponent(value)}`));
      assert.deepEqual(text.results, [], value);
    }
    for (const search of ["project_id[$ne]=x", "project_id=a&project_id=b", "where={}"]) {
      assert.equal(parseQueryParams(new URLSearchParams(search)).ok, false, search);
    }
  });

  await t.step("q= ranks events by similarity of their indexable_text", async () => {
    const target = events.find((e) => e.hook_event_name === "PostToolUse")!;
    const page = await store.query(
      query(`q=${encodeURIComponent(target.indexable_text!)}&limit=3`),
    );
    assert.equal(page.results.length, 3);
    assert.equal((page.results[0] as Event).event_id, target.event_id);
    assert.deepEqual(page.results[0], target);
    const pages = await allPages(store, query("q=Bash%20tool%20npm&limit=2"));
    const seen = pages.flat().map((e) => (e as Event).event_id);
    assert.equal(new Set(seen).size, seen.length);
    // Everything sharing a word with q; a hash collision may add one or two more.
    const words = (e: Event) => new Set(e.indexable_text?.toLowerCase().match(/[\p{L}\p{N}]+/gu));
    const want = events.filter((e) => ["bash", "tool", "npm"].some((w) => words(e).has(w)));
    assert.ok(want.length > 4);
    for (const event of want) assert.ok(seen.includes(event.event_id), event.indexable_text);
    assert.ok(seen.length <= want.length + 3, `${seen.length} found for ${want.length}`);
  });

  await t.step("q= with a filter searches within it", async () => {
    const page = await store.query(query("q=session%20test&project_id=beta-svc&limit=1000"));
    assert.ok(page.results.length > 0);
    assert.ok(page.results.every((e) => (e as Event).project_id === "beta-svc"));
  });

  await t.step("collection=embeddings lists the indexed texts", async () => {
    const page = await store.query(
      query("collection=embeddings&session_id=" + events[0]!.session_id),
    );
    const first = page.results[0] as { event_id: string; indexable_text: string };
    assert.equal(first.event_id, events[0]!.event_id);
    assert.equal(first.indexable_text, events[0]!.indexable_text);
  });
});

Deno.test("ChromaStore.query() pages cover every event once, in ts order", async (t) => {
  await using chroma = await startTestChroma();
  // A small probe makes the window narrowing run on a few hundred events.
  await using store = new TestStore({ url: chroma.url, queryProbe: 16 });
  const r = await redactor();
  const events: Event[] = [];
  for (let i = 0; i < 300; i++) {
    // Runs of equal timestamps, stored in shuffled order.
    const now = BASE + Math.floor(i / 7) * 1000 + (i % 3 === 0 ? 0 : i % 5);
    events.push(
      await sealEvent({
        run_id: "run-p",
        session_id: i % 2 === 0 ? "even" : "odd",
        event_type: "progress",
        level: "info",
        msg: `step ${i}`,
        data: { i },
      }, { redactor: r, now }),
    );
  }
  // Thirty events in the very same millisecond: a window that cannot narrow is read whole.
  for (let i = 0; i < 30; i++) {
    events.push(
      await sealEvent({
        run_id: "run-p",
        session_id: "even",
        event_type: "progress",
        level: "info",
        msg: `burst ${i}`,
        data: { burst: i },
      }, { redactor: r, now: BASE + 5_000 }),
    );
  }
  const shuffled = [...events].sort(() => Math.random() - 0.5);
  for (let i = 0; i < shuffled.length; i += 50) await store.write(shuffled.slice(i, i + 50));
  const sorted = [...events].sort(byTs);

  for (const limit of [3, 100, 1000]) {
    await t.step(`limit=${limit}`, async () => {
      const pages = await allPages(store, query(`limit=${limit}`));
      assert.ok(pages.every((p) => p.length <= limit));
      assert.deepEqual(ids(pages.flat()), sorted.map((e) => e.event_id));
    });
  }

  await t.step("with a filter and a time range", async () => {
    const since = BASE + 3_000;
    const pages = await allPages(store, query(`session_id=even&since=${since}&limit=9`));
    const want = sorted.filter((e) => e.session_id === "even" && Date.parse(e.ts) >= since);
    assert.deepEqual(ids(pages.flat()), want.map((e) => e.event_id));
  });

  await t.step("a page of a different kind of query refuses the cursor", async () => {
    const first = await store.query(query("limit=5"));
    const parsed = parseQueryParams(new URLSearchParams({ q: "step", cursor: first.next_cursor! }));
    assert.equal(parsed.ok, false);
  });
});

Deno.test("ChromaStore reports Chroma down as StoreUnavailableError and recovers", async (t) => {
  await using chroma = await startTestChroma({ restartDelayMs: 1_500 });
  await using store = new TestStore({ url: chroma.url, timeoutMs: 2_000 });
  const events = await fixtureEvents();
  await store.write(events.slice(0, 5));

  await t.step("killed: write, query and counts reject, nothing is claimed stored", async () => {
    chroma.server.kill();
    for (let i = 0; i < 100 && (await fetchOk(`${chroma.url}/api/v2/heartbeat`)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await assert.rejects(store.write(events.slice(5, 10)), StoreUnavailableError);
    await assert.rejects(store.query(query("")), StoreUnavailableError);
    await assert.rejects(store.counts(), StoreUnavailableError);
  });

  await t.step("restarted: the same store works again and lost nothing", async () => {
    await chroma.server.ready(20_000);
    assert.equal(chroma.server.restarts, 1);
    const result = await store.write(events.slice(5, 10));
    assert.equal(result.stored.length, 5);
    assert.equal((await store.counts()).events, 10);
  });

  await t.step("a hung Chroma is reported after the timeout", async () => {
    chroma.server.kill("SIGSTOP");
    try {
      const started = Date.now();
      await assert.rejects(store.counts(), StoreUnavailableError);
      assert.ok(Date.now() - started < 5_000);
    } finally {
      chroma.server.kill("SIGCONT");
    }
    // Let the calls that were waiting on the stopped server finish.
    assert.equal((await store.counts()).events, 10);
  });
});

async function fetchOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url);
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

Deno.test("ChromaStore refuses an events collection made by another provider", async () => {
  await using chroma = await startTestChroma();
  await new ChromaStore({ url: chroma.url }).init();
  const other = new ChromaStore({
    url: chroma.url,
    embeddings: {
      name: "ollama",
      model: "nomic-embed-text",
      dimension: 768,
      embed: () => Promise.reject(new Error("not called")),
    },
  });
  await assert.rejects(
    other.init(),
    /holds vectors of offline \(feature-hash-v1, 256 dimensions\)/,
  );
});

Deno.test("ChromaStore refuses an events collection an older bridge laid out", async () => {
  await using chroma = await startTestChroma();
  // Layout 1: a one-dimension placeholder vector per event, no stamp.
  const old = await chroma.client.createCollection({ name: "events", embeddingFunction: null });
  await old.add({ ids: ["a"], documents: ["{}"], embeddings: [[1]] });
  await assert.rejects(
    new ChromaStore({ url: chroma.url }).init(),
    /an older bridge laid it out \(layout 1, this bridge writes 2/,
  );
});

Deno.test("ChromaStore.query() orders by ts also when event ids do not carry it", async () => {
  await using chroma = await startTestChroma();
  await using store = new TestStore({ url: chroma.url, queryProbe: 8 });
  const r = await redactor();
  const regular: Event[] = [];
  for (let i = 0; i < 40; i++) {
    regular.push(
      await sealEvent({
        run_id: "run-i",
        session_id: "s-i",
        event_type: "progress",
        level: "info",
        data: { i },
      }, { redactor: r, now: BASE + i * 1000 }),
    );
  }
  await store.write(regular);
  const events = await chroma.client.getCollection({ name: "events" });
  assert.equal(events.metadata?.irregular_ids, undefined);
  const before = await allPages(store, query("session_id=s-i&limit=6"));
  assert.deepEqual(ids(before.flat()), regular.map((e) => e.event_id));

  // A foreign producer: v4 ids, and v7 ids whose time is not the event's ts.
  const foreign = regular.slice(0, 20).map((e, i) => ({
    ...e,
    event_id: i % 2 ? crypto.randomUUID() : regular[39 - i]!.event_id.replace(/^.{8}/, "00000000"),
    ts: new Date(BASE + i * 1000 + 500).toISOString(),
    hash: undefined,
    data: { foreign: i },
  }));
  const stored = await store.write(foreign);
  assert.equal(stored.stored.length, 20);
  assert.equal(
    (await chroma.client.getCollection({ name: "events" })).metadata?.irregular_ids,
    true,
  );
  // A second store (another bridge) learns it from Chroma.
  await using other = new TestStore({ url: chroma.url, queryProbe: 8 });
  const all = [...regular, ...foreign].sort(byTs);
  for (const reader of [store, other]) {
    const pages = await allPages(reader, query("session_id=s-i&limit=6"));
    assert.deepEqual(ids(pages.flat()), all.map((e) => e.event_id));
  }
});
