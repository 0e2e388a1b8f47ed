import assert from "node:assert/strict";
import { sealEvent } from "../hooks/pipeline/envelope.ts";
import type { Event } from "../shared/schema.ts";
import { parseQueryParams } from "./query_params.ts";
import { startTestChroma } from "./testing/chroma.ts";
import { TestStore } from "./testing/store.ts";
import {
  allPages,
  BASE,
  byTs,
  fixtureEvents,
  ids,
  query,
  redactor,
} from "./testing/store_fixtures.ts";

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
