/**
 * The usage index against the scan it replaces, on real bridges sharing a real Chroma: the same
 * `GET /usage` answers for the same keys and parameters, records stored by another bridge
 * counted on the next request, Chroma's listing order it relies on, and the fall back to the
 * scan past its bound; then the index alone over a listing a test reorders (what Chroma never
 * does) and under concurrent requests.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Collection } from "chromadb";
import { startTestChroma } from "../testing/chroma.ts";
import { startTestBridge, type TestBridge, testKey } from "../testing/bridge.ts";
import {
  storeUsageRecords,
  syntheticUsageEvents,
  syntheticUsageRecords,
} from "../testing/usage_records.ts";
import { USAGE_COLLECTION, type UsageRecord } from "../usage/records.ts";
import { UsageIndex } from "./usage_index.ts";

const READ_P1 = testKey("read");
const INGEST_P3 = testKey("ingest");
const KEYS = `read@p1:${READ_P1},ingest@p3:${INGEST_P3}`;

async function usage(bridge: TestBridge, path: string, key: string) {
  const response = await fetch(`${bridge.url}${path}`, {
    headers: { authorization: `Bearer ${key}` },
  });
  return { status: response.status, body: await response.json() as Record<string, unknown> };
}

async function ingest(bridge: TestBridge, key: string, events: unknown[]): Promise<void> {
  const response = await fetch(bridge.ingestUrl, {
    method: "POST",
    headers: { authorization: `Bearer ${key}` },
    body: JSON.stringify(events),
  });
  assert.equal(response.status, 200, await response.text());
}

/** Queries covering every filter, group, range and bound-key path of `GET /usage`. */
const QUERIES = [
  "/usage",
  "/usage?group_by=project,model",
  "/usage?group_by=session&project_id=p1",
  "/usage?group_by=run,worker&project_id=p2",
  "/usage?group_by=agent&agent_id=agent-1",
  "/usage?group_by=day&utc_offset=-05:30&model=claude-opus-4-1",
  "/usage?session_id=p3-s4",
  "/usage?run_id=p1-run-2&worker_id=vm-1",
  "/usage?group_by=day&since=2026-11-03T00:00:00Z&until=2026-11-06T12:00:00Z",
  "/usage?group_by=session&since=2026-11-10T00:00:00Z&project_id=p4",
  "/usage?group_by=session&limit=3",
  "/usage?project_id=nowhere",
];

/** Asks both bridges every query, with each bridge's admin key and with `shared` keys. */
async function assertSameAnswers(index: TestBridge, scan: TestBridge, shared: string[] = []) {
  const pairs = [[index.adminKey, scan.adminKey], ...shared.map((key) => [key, key])];
  for (const [mine, theirs] of pairs) {
    for (const query of QUERIES) {
      const [a, b] = await Promise.all([usage(index, query, mine!), usage(scan, query, theirs!)]);
      assert.equal(a.status, b.status, query);
      assert.deepEqual(a.body, b.body, `${query} answers differently from the index`);
    }
  }
}

Deno.test("usage index: GET /usage answers as the scan of Chroma does", async (t) => {
  await using chroma = await startTestChroma();
  await using index = await startTestBridge({ chroma, keys: KEYS });
  await using scan = await startTestBridge({
    chroma,
    keys: KEYS,
    store: { usageIndexRecords: 0 },
  });
  await storeUsageRecords(chroma.client, await syntheticUsageRecords({ count: 3_000 }));

  await t.step("for every filter, group and range, with admin and project-bound keys", async () => {
    await assertSameAnswers(index, scan, [READ_P1]);
    assert.equal(index.store.usageIndexSize, 3_000);
    assert.equal(scan.store.usageIndexSize, 0, "the scanning bridge holds nothing");
    const denied = await usage(index, "/usage?project_id=p2", READ_P1);
    assert.equal(denied.status, 403);
  });

  await t.step("after more records, by the scanning bridge and straight into Chroma", async () => {
    await ingest(
      scan,
      INGEST_P3,
      await syntheticUsageEvents(40, { project: "p3", prefix: "live" }),
    );
    await storeUsageRecords(
      chroma.client,
      await syntheticUsageRecords({
        count: 500,
        prefix: "late",
        startMs: Date.parse("2026-11-05"),
      }),
    );
    await assertSameAnswers(index, scan, [READ_P1]);
    assert.equal(index.store.usageIndexSize, 3_540);
  });

  await t.step("after old records are deleted by age (docs/DEPLOYMENT.md)", async () => {
    const collection = await chroma.client.getOrCreateCollection({
      name: USAGE_COLLECTION,
      embeddingFunction: null,
    });
    const before = await collection.count();
    await collection.delete({ where: { ts_ms: { $lt: Date.parse("2026-11-04T00:00:00Z") } } });
    const after = await collection.count();
    assert.ok(after < before, "some were old enough");
    await assertSameAnswers(index, scan, [READ_P1]);
    assert.equal(index.store.usageIndexSize, after, "the deleted ones are no longer held");
  });
});

Deno.test("usage index: records a second bridge stores are counted by the first's next request", async () => {
  await using chroma = await startTestChroma();
  await using first = await startTestBridge({ chroma, keys: KEYS });
  await using second = await startTestBridge({ chroma, keys: KEYS });
  const before = await usage(first, "/usage?project_id=p3", first.readKey);
  assert.equal((before.body.totals as { messages: number }).messages, 0);
  for (let round = 1; round <= 3; round++) {
    await ingest(
      second,
      INGEST_P3,
      await syntheticUsageEvents(25, { project: "p3", prefix: `second-${round}` }),
    );
    // No wait: the first bridge reads what Chroma holds beyond its index before answering.
    const after = await usage(first, "/usage?project_id=p3", first.readKey);
    assert.equal(after.status, 200);
    assert.equal((after.body.totals as { messages: number }).messages, 25 * round);
  }
});

Deno.test("usage index: Chroma lists the usage collection in the order it stored the records", async () => {
  // The index reads only what lies beyond the records it has read: this order is what it needs.
  await using chroma = await startTestChroma();
  const collection = await chroma.client.getOrCreateCollection({
    name: USAGE_COLLECTION,
    embeddingFunction: null,
  });
  const stored: string[] = [];
  for (let batch = 0; batch < 3; batch++) {
    const records = await syntheticUsageRecords({ count: 2_000, prefix: `b${batch}` });
    // Ids are content hashes, in no order: a listing sorted by id would interleave batches.
    await storeUsageRecords(chroma.client, records);
    stored.push(...records.map((r) => r.id));
  }
  const listed: string[] = [];
  for (let offset = 0; offset < stored.length; offset += 2_500) {
    listed.push(...(await collection.get({ limit: 2_500, offset, include: [] })).ids);
  }
  assert.deepEqual(listed, stored);
});

Deno.test("usage index: past its bound the bridge scans Chroma, answers the same and says so", async () => {
  await using chroma = await startTestChroma();
  const warnings: string[] = [];
  await using small = await startTestBridge({
    chroma,
    store: { usageIndexRecords: 500, log: (message) => warnings.push(message) },
  });
  await using scan = await startTestBridge({ chroma, store: { usageIndexRecords: 0 } });
  await storeUsageRecords(chroma.client, await syntheticUsageRecords({ count: 400 }));
  await assertSameAnswers(small, scan);
  assert.equal(small.store.usageIndexSize, 400);
  assert.deepEqual(warnings, []);
  await storeUsageRecords(
    chroma.client,
    await syntheticUsageRecords({ count: 400, prefix: "more" }),
  );
  await assertSameAnswers(small, scan);
  assert.equal(small.store.usageIndexSize, 0, "dropped");
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /ZO_USAGE_INDEX_RECORDS/);
});

/**
 * Chroma's paging of a listing, `get({ offset, limit })`, over `listed`, which a test may append
 * to or reorder: the one call the index makes. The real listing order is proven above.
 */
function fakeCollection(listed: UsageRecord[], calls: number[]): Collection {
  return {
    get({ offset = 0, limit = 100 }: { offset?: number; limit?: number }) {
      calls.push(offset);
      const page = listed.slice(offset, offset + limit);
      return Promise.resolve({
        ids: page.map((r) => r.id),
        metadatas: page.map(({ id: _, ...metadata }) => metadata),
      });
    },
  } as unknown as Collection;
}

Deno.test("UsageIndex reads only what lies beyond, and everything again when the order changed", async () => {
  const records = await syntheticUsageRecords({ count: 30 });
  const listed = records.slice(0, 20);
  const calls: number[] = [];
  const collection = fakeCollection(listed, calls);
  const index = new UsageIndex({
    collection: () => Promise.resolve(collection),
    call: (_what, run) => run(),
    maxRecords: 1_000,
  });
  await index.records();
  assert.equal(index.size, 20);
  assert.deepEqual(calls, [0]);

  listed.push(...records.slice(20, 25));
  calls.length = 0;
  const source = await index.records();
  assert.deepEqual(calls, [19], "one page, from the last record read (the check)");
  assert.equal(index.size, 25);
  assert.equal([...source!.all()].length, 25);
  assert.equal(
    [...source!.ofProject("p1")].length,
    records.slice(0, 25).filter((r) => r.project_id === "p1").length,
  );

  // Reordered under it (record 24 no longer last read): read everything again, from 0.
  listed.splice(0, listed.length, ...records.slice().reverse());
  calls.length = 0;
  await index.records();
  assert.deepEqual(calls, [24, 0]);
  assert.equal(index.size, 30);

  // The oldest five deleted (by age): they move the last record read, and are no longer held.
  listed.splice(0, 5);
  calls.length = 0;
  await index.records();
  assert.deepEqual(calls, [29, 0]);
  assert.equal(index.size, 25);
});

Deno.test("UsageIndex: concurrent requests share reads; one arriving mid-read waits for the next", async () => {
  const records = await syntheticUsageRecords({ count: 10 });
  const listed = records.slice(0, 5);
  const calls: number[] = [];
  const collection = fakeCollection(listed, calls);
  const index = new UsageIndex({
    collection: () => Promise.resolve(collection),
    call: (_what, run) => run(),
    maxRecords: 1_000,
  });
  await Promise.all(Array.from({ length: 8 }, () => index.records()));
  // The first begins a read at once; the other 7 came after it began, so they share the next.
  assert.equal(calls.length, 2, "8 requests at once: two reads");

  // A record stored while a read is under way is counted by a request that arrived after it.
  const first = index.records(); // begins a read at once
  listed.push(...records.slice(5));
  const later = await Promise.all(Array.from({ length: 8 }, () => index.records()));
  await first;
  assert.equal(calls.length, 4, "the 8 latecomers shared one more read");
  for (const source of later) assert.equal([...source!.all()].length, 10);
});
