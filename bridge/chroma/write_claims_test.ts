import assert from "node:assert/strict";
import type { Event } from "../../shared/schema.ts";
import { ChromaStore } from "../chroma_store.ts";
import { startTestChroma } from "../testing/chroma.ts";
import { makeEvent } from "../testing/fakes.ts";
import { query } from "../testing/store_fixtures.ts";
import { WriteLedger } from "./write_claims.ts";

const events = (n: number) => Promise.all(Array.from({ length: n }, () => makeEvent()));

Deno.test("ChromaStore counts an event for the one bridge whose add landed", async () => {
  await using chroma = await startTestChroma();
  const a = new ChromaStore({ url: chroma.url, writerId: "bridge-a" });
  const b = new ChromaStore({ url: chroma.url, writerId: "bridge-b" });
  await Promise.all([a.init(), b.init()]);
  for (let round = 0; round < 3; round++) {
    const batch = await events(100);
    const [ra, rb] = await Promise.all([a.write(batch), b.write(batch)]);
    const stored = [...ra.stored, ...rb.stored];
    assert.equal(new Set(stored).size, stored.length, "no event stored by both");
    assert.deepEqual(stored.sort(), batch.map((e) => e.event_id).sort(), "each by one of them");
    assert.equal(ra.duplicates.length + rb.duplicates.length, 100);
  }
  assert.equal((await a.counts()).events, 300);
});

Deno.test("ChromaStore keeps two projects' events with one event id from two bridges at once", async () => {
  await using chroma = await startTestChroma();
  const a = new ChromaStore({ url: chroma.url, writerId: "bridge-a" });
  const b = new ChromaStore({ url: chroma.url, writerId: "bridge-b" });
  await Promise.all([a.init(), b.init()]);
  for (let round = 0; round < 3; round++) {
    const one = await makeEvent({ project_id: "p-1" });
    const two = await makeEvent({ project_id: "p-2", event_id: one.event_id });
    // Whichever add lands second finds the other project's record: 503, and its retry (as a
    // relay retries) stores it under its derived id. Neither is acknowledged and lost.
    const write = async (store: ChromaStore, event: Event) => {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          return await store.write([event]);
        } catch (error) {
          assert.match(String(error), /another project's event took event id/);
        }
      }
      throw new Error("Cannot store the event in 5 attempts");
    };
    const [ra, rb] = await Promise.all([write(a, one), write(b, two)]);
    assert.deepEqual([...ra.stored, ...rb.stored], [one.event_id, one.event_id]);
    for (const project of ["p-1", "p-2"]) {
      const page = await a.query(query(`project_id=${project}&limit=10`));
      assert.ok(
        page.results.some((e) => (e as Event).event_id === one.event_id),
        `${project} holds its event`,
      );
    }
  }
});

/** A ledger run whose write resolves or fails when told. */
function pendingRun(ledger: WriteLedger, seq: number, batch: Event[], claimed: Set<string>) {
  const write = Promise.withResolvers<{ stored: string[] }>();
  const result = ledger.run({
    stamp: { writer: "w", seq },
    events: batch,
    write: () => write.promise,
    check: () => Promise.resolve(new Set(claimed)),
  });
  return { write, result };
}

Deno.test("WriteLedger releases results in stamp order", async () => {
  const ledger = new WriteLedger();
  const first = pendingRun(ledger, 1, await events(1), new Set());
  const second = pendingRun(ledger, 2, await events(1), new Set());
  const order: number[] = [];
  const done = [first.result.then(() => order.push(1)), second.result.then(() => order.push(2))];
  second.write.resolve({ stored: [] });
  first.write.resolve({ stored: [] });
  await Promise.all(done);
  assert.deepEqual(order, [1, 2]);
  assert.equal((await second.result).watermark, 2);
});

Deno.test("WriteLedger hands what a failed write stored to the next write, once", async () => {
  const ledger = new WriteLedger();
  const lost = await events(3);
  // The failed write's add landed for two of its three events (its answer was lost).
  const landed = new Set([lost[0]!.event_id, lost[2]!.event_id]);
  const failed = pendingRun(ledger, 1, lost, landed);
  failed.write.reject(new Error("Cannot store events: no answer"));
  await assert.rejects(failed.result, /no answer/);

  // The next write's check fails too (Chroma still down): it is refused, nothing forgotten.
  const refused = ledger.run({
    stamp: { writer: "w", seq: 2 },
    events: await events(1),
    write: () => Promise.resolve({ stored: [] }),
    check: () => Promise.reject(new Error("Cannot read back stored events: down")),
  });
  await assert.rejects(refused, /down/);

  const next = pendingRun(ledger, 3, await events(1), landed);
  next.write.resolve({ stored: [] });
  const settled = await next.result;
  assert.deepEqual(settled.recovered.map((e) => e.event_id), [...landed]);
  assert.equal(settled.watermark, 3);
  const after = pendingRun(ledger, 4, await events(1), landed);
  after.write.resolve({ stored: [] });
  assert.deepEqual((await after.result).recovered, [], "handed over once");
});
