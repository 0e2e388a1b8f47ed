/**
 * Query pages bounded by bytes, on a real Chroma: a page stops before the record that would take
 * it past `maxBytes` (one record at least), its cursor continues exactly there, and the store
 * reads (reserves) no more documents than the page holds.
 *
 * @module
 */
import assert from "node:assert/strict";
import { uuidV7 } from "../shared/ids.ts";
import type { Event } from "../shared/schema.ts";
import { utf8Bytes } from "./_util.ts";
import { eventRecordMetadata } from "./chroma/event_records.ts";
import { ASSUMED_RECORD_BYTES } from "./chroma/page_records.ts";
import type { QueryParams } from "./store.ts";
import { startTestChroma } from "./testing/chroma.ts";
import { makeEvent } from "./testing/fakes.ts";
import { TestStore } from "./testing/store.ts";
import { byTs, ids, query } from "./testing/store_fixtures.ts";

const KB = 1024;
const BOUND = 600 * KB;
const START = Date.parse("2026-12-01T10:00:00.000Z");

/** Events of the given payload sizes, one second apart, in session `session`. */
async function sizedEvents(sizes: number[], session: string): Promise<Event[]> {
  const events: Event[] = [];
  for (const [i, size] of sizes.entries()) {
    const ts = new Date(START + i * 1000).toISOString();
    events.push(
      await makeEvent({
        ts,
        event_id: uuidV7(START + i * 1000),
        session_id: session,
        indexable_text: `needle number ${i}`,
        data: { i, pad: "x".repeat(size) },
      }),
    );
  }
  return events;
}

/** Every page of `params`, with the bytes each page reserved before reading its records. */
async function pagesOf(
  store: TestStore,
  params: QueryParams,
): Promise<{ results: Event[]; reserved: number; largestRead: number }[]> {
  const pages: { results: Event[]; reserved: number; largestRead: number }[] = [];
  let cursor: string | undefined;
  do {
    let reserved = 0;
    let largestRead = 0;
    const page = await store.query({
      ...params,
      ...(cursor ? { cursor } : {}),
      reserve: (bytes) => {
        reserved += bytes;
        largestRead = Math.max(largestRead, bytes);
        return Promise.resolve();
      },
    });
    pages.push({ results: page.results as Event[], reserved, largestRead });
    cursor = page.next_cursor ?? undefined;
    assert.ok(pages.length < 200, "paging does not end");
  } while (cursor !== undefined);
  return pages;
}

function pageBytes(results: unknown[]): number {
  return results.reduce<number>((sum, r) => sum + utf8Bytes(JSON.stringify(r)), 0);
}

Deno.test("query pages are bounded by bytes and their cursors lose or repeat nothing", async (t) => {
  await using chroma = await startTestChroma();
  await using store = new TestStore({ url: chroma.url });
  // Big, small and middling events mixed, so pages end at different counts.
  const sizes = Array.from({ length: 24 }, (_, i) => [250 * KB, 2 * KB, 120 * KB, 40][i % 4]!);
  const events = (await sizedEvents(sizes, "s-big")).sort(byTs);
  await store.write(events);
  const want = events.map((e) => e.event_id);

  for (const search of ["session_id=s-big&limit=1000", "session_id=s-big&limit=7"]) {
    await t.step(`ordered pages (${search}) hold at most the bound, every event once`, async () => {
      const pages = await pagesOf(store, query(search, { maxBytes: BOUND }));
      assert.ok(pages.length > 2, `${pages.length} pages`);
      for (const page of pages) {
        assert.ok(page.results.length >= 1);
        assert.ok(pageBytes(page.results) <= BOUND, `${pageBytes(page.results)} bytes`);
        // Only the page's own documents were read: sizes came from metadata first.
        assert.equal(page.reserved, pageBytes(page.results));
      }
      assert.deepEqual(ids(pages.flatMap((p) => p.results)), want);
    });
  }

  await t.step("a page ends at the record that would pass the bound", async () => {
    const [first] = await pagesOf(store, query("session_id=s-big&limit=1000", { maxBytes: BOUND }));
    const taken = first!.results.length;
    const next = events[taken]!;
    assert.ok(pageBytes(first!.results) + utf8Bytes(JSON.stringify(next)) > BOUND);
  });

  await t.step("a record larger than the bound is a page of its own", async () => {
    const pages = await pagesOf(store, query("session_id=s-big&limit=1000", { maxBytes: 100 }));
    assert.deepEqual(pages.map((p) => p.results.length), want.map(() => 1));
    assert.deepEqual(ids(pages.flatMap((p) => p.results)), want);
  });

  await t.step("q= pages are bounded the same way", async () => {
    const pages = await pagesOf(store, query("q=needle&limit=1000", { maxBytes: BOUND }));
    assert.ok(pages.length > 2);
    for (const page of pages) {
      assert.ok(page.results.length === 1 || pageBytes(page.results) <= BOUND);
    }
    assert.deepEqual(ids(pages.flatMap((p) => p.results)).sort(), [...want].sort());
  });

  await t.step("the embeddings view counts the documents it reads", async () => {
    const pages = await pagesOf(
      store,
      query("collection=embeddings&session_id=s-big&limit=1000", { maxBytes: BOUND }),
    );
    assert.ok(pages.length > 2);
    for (const page of pages) {
      assert.ok(page.reserved <= BOUND);
      assert.ok(pageBytes(page.results) <= BOUND);
      for (const record of page.results) assert.equal("doc_bytes" in record, false);
    }
    assert.deepEqual(ids(pages.flatMap((p) => p.results)), want);
  });
});

Deno.test("events stored without doc_bytes are read a bounded few at a time", async () => {
  await using chroma = await startTestChroma();
  await using store = new TestStore({ url: chroma.url });
  const [probe] = await sizedEvents([10], "s-probe");
  await store.write([probe!]);
  const collection = await chroma.client.getCollection({ name: "events" });
  const stored = await collection.get({ ids: [probe!.event_id], include: ["embeddings"] });
  const dimension = (stored.embeddings[0] as number[]).length;
  // As a bridge before doc_bytes wrote them: the same record, without the key.
  const legacy = (await sizedEvents(Array(40).fill(20 * KB), "s-old")).sort(byTs);
  await collection.add({
    ids: legacy.map((e) => e.event_id),
    documents: legacy.map((e) => JSON.stringify(e)),
    metadatas: legacy.map((e) => {
      const { doc_bytes: _, ...metadata } = eventRecordMetadata(e, { writer: "old", seq: 1 });
      return metadata;
    }),
    embeddings: legacy.map(() => Array.from({ length: dimension }, (_, i) => i === 0 ? 1 : 0)),
  });
  const bound = 4 * ASSUMED_RECORD_BYTES;
  const pages = await pagesOf(store, query("session_id=s-old&limit=1000", { maxBytes: bound }));
  assert.deepEqual(ids(pages.flatMap((p) => p.results)), legacy.map((e) => e.event_id));
  for (const page of pages) {
    assert.ok(pageBytes(page.results) <= bound);
    // Each read assumed the largest events: never more than the bound at once.
    assert.ok(page.largestRead <= bound, `${page.largestRead} bytes read at once`);
  }
  // 40 records of 20 KB fit in 1 MiB: the page is as full as with doc_bytes, read in chunks.
  assert.equal(pages.length, 1);
});
