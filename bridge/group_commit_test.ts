import assert from "node:assert/strict";
import type { Event } from "../shared/schema.ts";
import { createGroupCommitter, type EventOutcome, QueueFullError } from "./group_commit.ts";
import { StoreUnavailableError } from "./store.ts";
import { FakeStore, makeEvent } from "./testing/fakes.ts";

const events = (n: number, overrides: Partial<Event> = {}) =>
  Promise.all(Array.from({ length: n }, () => makeEvent(overrides)));

Deno.test("createGroupCommitter() coalesces concurrent submissions into few writes", async () => {
  const store = new FakeStore();
  store.writeDelayMs = 20;
  const committer = createGroupCommitter(store, { lingerMs: 5, maxInFlight: 1 });
  const batch = await events(200);
  const outcomes = await Promise.all(batch.map((event) => committer.submit([event])));
  assert.deepEqual(outcomes.flat(), batch.map(() => "stored"));
  assert.equal(store.events.size, 200);
  assert.ok(store.writes.length <= 3, `200 single submissions took ${store.writes.length} writes`);
  assert.equal(committer.depth, 0);
});

Deno.test("createGroupCommitter() lets events queued during a write wait for company after it", async () => {
  const store = new FakeStore();
  store.writeDelayMs = 60;
  const committer = createGroupCommitter(store, { lingerMs: 20, maxInFlight: 1 });
  const [first, second, third] = await events(3);
  const writing = committer.submit([first!]);
  await new Promise((resolve) => setTimeout(resolve, 25)); // the first is being written
  // Queued during the write, and waiting longer than lingerMs by the time it ends.
  const queued = committer.submit([second!]);
  await writing;
  // As a client acknowledged by the first write would: its next event comes a moment later.
  await new Promise((resolve) => setTimeout(resolve, 5));
  await Promise.all([queued, committer.submit([third!])]);
  assert.deepEqual(store.writes, [1, 2]);
});

Deno.test("createGroupCommitter() bounds the batch size and the writes in flight", async () => {
  const store = new FakeStore();
  store.writeDelayMs = 5;
  const committer = createGroupCommitter(store, { maxBatch: 300, maxInFlight: 2, lingerMs: 0 });
  const many = await events(1_000);
  const results = await Promise.all([
    committer.submit(many.slice(0, 700)),
    committer.submit(many.slice(700)),
  ]);
  assert.equal(results.flat().filter((o) => o === "stored").length, 1_000);
  assert.ok(store.writes.every((size) => size <= 300), `write sizes ${store.writes}`);
  assert.equal(store.maxConcurrentWrites, 2);
});

Deno.test("createGroupCommitter() answers 'duplicate' for an event seen before or twice", async (t) => {
  const store = new FakeStore();
  const committer = createGroupCommitter(store, { lingerMs: 2 });
  const [a, b] = await events(2);
  await t.step("twice in one submission", async () => {
    assert.deepEqual(await committer.submit([a!, a!]), ["stored", "duplicate"]);
  });
  await t.step("again later", async () => {
    assert.deepEqual(await committer.submit([a!, b!]), ["duplicate", "stored"]);
  });
  await t.step("in two concurrent submissions", async () => {
    const c = await makeEvent();
    const [x, y] = await Promise.all([committer.submit([c]), committer.submit([c])]);
    assert.deepEqual([...x!, ...y!].sort(), ["duplicate", "stored"]);
  });
  assert.equal(store.events.size, 3);
});

Deno.test("createGroupCommitter() never writes one event in two writes at once", async () => {
  const store = new FakeStore();
  const inFlight = new Set<string>();
  let overlaps = 0;
  let running = 0;
  let maxRunning = 0;
  const write = store.write.bind(store);
  store.write = async (batch) => {
    const ids = batch.map((event) => event.event_id);
    if (ids.some((id) => inFlight.has(id))) overlaps++;
    ids.forEach((id) => inFlight.add(id));
    maxRunning = Math.max(maxRunning, ++running);
    await new Promise((r) => setTimeout(r, 10));
    try {
      return await write(batch);
    } finally {
      ids.forEach((id) => inFlight.delete(id));
      running--;
    }
  };
  const committer = createGroupCommitter(store, { maxInFlight: 4, maxBatch: 10, lingerMs: 0 });
  const shared = await events(5);
  const submissions = [];
  for (let i = 0; i < 20; i++) {
    submissions.push(committer.submit([...shared, ...(await events(5))]));
    await new Promise((r) => setTimeout(r, 1));
  }
  const outcomes = (await Promise.all(submissions)).flat();
  assert.equal(overlaps, 0);
  assert.equal(outcomes.filter((o) => o === "stored").length, 5 + 20 * 5);
  assert.ok(maxRunning > 1, "writes should still run concurrently");
});

Deno.test("createGroupCommitter() refuses beyond its queue bound with QueueFullError", async () => {
  const store = new FakeStore();
  store.writeDelayMs = 30;
  const committer = createGroupCommitter(store, {
    maxBatch: 100,
    maxQueuedEvents: 150,
    maxInFlight: 1,
    lingerMs: 0,
  });
  // Events made before submitting: an await between two submissions lets the first write end.
  const [hundred, fifty, one] = [await events(100), await events(50), await events(1)];
  const first = committer.submit(hundred);
  const second = committer.submit(fifty);
  await assert.rejects(committer.submit(one), QueueFullError);
  assert.equal(committer.depth, 150);
  await Promise.all([first, second]);
  assert.equal(committer.depth, 0);
  assert.deepEqual(await committer.submit(await events(1)), ["stored"]);
});

Deno.test("createGroupCommitter() rejects every submission of a write the store is down for", async () => {
  const store = new FakeStore();
  store.down = true;
  const committer = createGroupCommitter(store, { lingerMs: 3 });
  // Made before submitting: a rejection while the second batch is still being made would have no
  // handler yet (an uncaught error under load).
  const [three, two] = [await events(3), await events(2)];
  const results = await Promise.allSettled([committer.submit(three), committer.submit(two)]);
  for (const result of results) {
    assert.equal(result.status, "rejected");
    assert.ok(result.reason instanceof StoreUnavailableError);
  }
  assert.equal(committer.depth, 0);
  store.down = false;
  assert.deepEqual(await committer.submit(await events(1)), ["stored"]);
});

Deno.test("createGroupCommitter() never confirms an event the store did not report", async () => {
  const store = new FakeStore();
  store.write = () => Promise.resolve({ stored: [], duplicates: [] });
  const committer = createGroupCommitter(store, { lingerMs: 0 });
  await assert.rejects(committer.submit(await events(2)), /did not report/);
});

Deno.test("createGroupCommitter() idle() waits for writes in flight", async () => {
  const store = new FakeStore();
  store.writeDelayMs = 20;
  const committer = createGroupCommitter(store, { lingerMs: 0 });
  const pending = committer.submit(await events(3));
  await committer.idle();
  assert.equal(store.events.size, 3);
  await pending;
});

Deno.test("createGroupCommitter() checks its options", () => {
  const store = new FakeStore();
  assert.throws(() => createGroupCommitter(store, { maxBatch: 0 }), RangeError);
  assert.throws(() => createGroupCommitter(store, { maxInFlight: 1.5 }), RangeError);
  assert.throws(
    () => createGroupCommitter(store, { maxBatch: 500, maxQueuedEvents: 10 }),
    RangeError,
  );
});

Deno.test("createGroupCommitter() never writes two readings of one API response at once", async () => {
  const store = new FakeStore();
  let running = 0;
  let overlaps = 0;
  const write = store.write.bind(store);
  store.write = async (batch) => {
    if (++running > 1) overlaps++;
    await new Promise((r) => setTimeout(r, 10));
    try {
      return await write(batch);
    } finally {
      running--;
    }
  };
  const committer = createGroupCommitter(store, { maxInFlight: 4, maxBatch: 1, lingerMs: 0 });
  const reading = (output_tokens: number) =>
    makeEvent({
      event_type: "usage",
      data: {
        model: "claude-sonnet-4-5",
        message_id: "msg-1",
        input_tokens: 10,
        output_tokens,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
    });
  const readings = await Promise.all([1, 2, 3].map(reading));
  const outcomes = await Promise.all(readings.map((event) => committer.submit([event])));
  assert.deepEqual(outcomes.flat(), ["stored", "stored", "stored"]);
  assert.equal(overlaps, 0);
  // Events of different responses still run at once.
  const others = await events(3);
  running = 0;
  overlaps = 0;
  await Promise.all(others.map((event) => committer.submit([event])));
  assert.ok(overlaps > 0, "writes without a shared key should run concurrently");
});

const refusal = (outcome: EventOutcome | undefined) =>
  typeof outcome === "object" ? outcome.refused : undefined;

Deno.test("createGroupCommitter() splits a refused write: only the refused event fails, every other event is stored", async (t) => {
  for (const storeUpToRefusal of [false, true]) {
    await t.step(
      storeUpToRefusal ? "a write that stored a part first" : "a write refused whole",
      async () => {
        const store = new FakeStore();
        store.storeUpToRefusal = storeUpToRefusal;
        const [mine, theirs, more] = [await events(3), await events(4), await events(1)];
        store.refused.add(mine[1]!.event_id);
        // One write of all eight: full at maxBatch, never waiting on the linger.
        const committer = createGroupCommitter(store, { maxBatch: 8, lingerMs: 60_000 });
        const [a, b, c] = await Promise.all([
          committer.submit(mine),
          committer.submit(theirs),
          committer.submit(more),
        ]);
        assert.equal(a[0], "stored");
        assert.match(refusal(a[1]) ?? "", /Chroma refused them/);
        assert.equal(a[2], "stored");
        // Events a refused attempt stored on the way still count as stored, never as duplicates.
        assert.deepEqual(b, ["stored", "stored", "stored", "stored"]);
        assert.deepEqual(c, ["stored"]);
        assert.equal(store.events.size, 7);
        assert.ok(!store.events.has(mine[1]!.event_id));
        assert.deepEqual(store.batches[0]!.length, 8, "the first write holds every submission");
        await committer.idle();
        assert.equal(committer.depth, 0);
      },
    );
  }
});

Deno.test("createGroupCommitter() reports events stored by a split to onStored once each", async () => {
  const store = new FakeStore();
  store.storeUpToRefusal = true;
  const batch = await events(6);
  store.refused.add(batch[4]!.event_id);
  const reported: string[] = [];
  const committer = createGroupCommitter(store, {
    maxBatch: 6,
    lingerMs: 60_000,
    onStored: (_, result) => reported.push(...result.stored),
  });
  const outcomes = await committer.submit(batch);
  assert.deepEqual(outcomes.map((o) => typeof o === "object" ? "refused" : o), [
    "stored",
    "stored",
    "stored",
    "stored",
    "refused",
    "stored",
  ]);
  assert.deepEqual(
    reported.toSorted(),
    batch.filter((_, i) => i !== 4).map((e) => e.event_id).toSorted(),
  );
});

Deno.test("createGroupCommitter() answers every event refused when the store refuses each alone", async () => {
  const store = new FakeStore();
  const batch = await events(3);
  for (const event of batch) store.refused.add(event.event_id);
  const committer = createGroupCommitter(store, { maxBatch: 3, lingerMs: 60_000 });
  const outcomes = await committer.submit(batch);
  assert.ok(outcomes.every((o) => refusal(o) !== undefined), JSON.stringify(outcomes));
  assert.equal(store.events.size, 0);
});

Deno.test("createGroupCommitter() never puts two projects' events sharing an event id in one write", async () => {
  const store = new FakeStore();
  const ours = await makeEvent({ project_id: "a" });
  const theirs = await makeEvent({ project_id: "b", event_id: ours.event_id });
  const again = await makeEvent({ project_id: "a", event_id: ours.event_id });
  const committer = createGroupCommitter(store, { lingerMs: 5 });
  await Promise.all([
    committer.submit([ours]),
    committer.submit([theirs]),
    committer.submit([again]),
  ]);
  for (const batch of store.batches) {
    assert.ok(batch.length <= 2, `a write held ${batch.length} events sharing one id`);
  }
  assert.equal(store.batches.length, 2, "the same project's copies share a write");
});
