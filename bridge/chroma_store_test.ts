import assert from "node:assert/strict";
import { type EventContext, eventFromHookPayload, sealEvent } from "../hooks/pipeline/envelope.ts";
import { type Event } from "../shared/schema.ts";
import type { AgentState } from "./agent_state.ts";
import { ChromaClient } from "chromadb";
import { ChromaStore } from "./chroma_store.ts";
import { offlineProvider } from "./embeddings.ts";
import { StoreUnavailableError } from "./store.ts";
import { startTestChroma } from "./testing/chroma.ts";
import { TestStore } from "./testing/store.ts";
import { BASE, byTs, fixtureEvents, payloads, query, redactor } from "./testing/store_fixtures.ts";

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
    // One bridge: its part of each state, and its marker (`chroma/agent_state_records.ts`).
    assert.equal(counts.agent_state, keys.size + 1);
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

Deno.test("ChromaStore stamps each event record with its writer and a growing write sequence", async () => {
  await using chroma = await startTestChroma();
  await using store = new TestStore({ url: chroma.url, writerId: "bridge-a" });
  const [a, b] = (await fixtureEvents()).slice(0, 2) as [Event, Event];
  assert.equal(store.store.writerId, "bridge-a");
  await store.write([a]);
  await store.write([b]);
  const client = new ChromaClient({ host: "127.0.0.1", port: Number(new URL(chroma.url).port) });
  const events = await client.getCollection({ name: "events" });
  const got = await events.get({ ids: [a.event_id, b.event_id], include: ["metadatas"] });
  const stamps = new Map(got.ids.map((id, i) => [id, got.metadatas[i]!]));
  assert.equal(stamps.get(a.event_id)?.writer, "bridge-a");
  assert.equal(stamps.get(b.event_id)?.writer, "bridge-a");
  assert.ok(Number(stamps.get(a.event_id)?.write_seq) < Number(stamps.get(b.event_id)?.write_seq));
  // The stamp is the store's own: the embeddings view does not show it.
  const view = await store.query(query("collection=embeddings&limit=10"));
  assert.ok(view.results.length > 0);
  for (const record of view.results as Record<string, unknown>[]) {
    assert.equal(record.writer, undefined);
    assert.equal(record.write_seq, undefined);
  }
});
