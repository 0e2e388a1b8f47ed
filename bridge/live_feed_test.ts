import assert from "node:assert/strict";
import type { Event } from "../shared/schema.ts";
import { spawnBridge, startTestBridge, testKey } from "./testing/bridge.ts";
import { createLiveFeed } from "./live_feed.ts";
import { startTestChroma } from "./testing/chroma.ts";
import { makeEvent } from "./testing/fakes.ts";
import { followLive, type LiveFollower } from "./testing/live_follower.ts";

/** Generous on a loaded machine: a poll every 200 ms makes the usual wait well under a second. */
const ARRIVAL_TIMEOUT_MS = 30_000;

/** Opens `GET /live` and reads it in the background until `close()`. */
function follow(base: string, key: string, search = ""): Promise<LiveFollower> {
  return followLive(base, key, { search, timeoutMs: ARRIVAL_TIMEOUT_MS });
}

/** Resolves once `check()` is true, checking every 50 ms; fails after the timeout. */
async function eventually(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + ARRIVAL_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function ingest(base: string, key: string, events: Event[]): Promise<void> {
  const response = await fetch(`${base}/ingest`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}` },
    body: JSON.stringify(events),
  });
  assert.equal(response.status, 200, await response.text());
}

/** The value of a metric sample on a bridge's `/metrics` (summed over labels), 0 when absent. */
async function metric(base: string, key: string, name: string): Promise<number> {
  const response = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${key}` } });
  const text = await response.text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return sum;
}

/** How many times each id occurs in `ids`. */
function tally(ids: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

Deno.test("GET /live on one bridge carries what another bridge on the same Chroma stores, once each", async (t) => {
  await using chroma = await startTestChroma();
  const readP = testKey("read-p");
  const ingestKey = testKey("ingest");
  const env = {
    ZO_API_KEYS: `read@proj-p:${readP},ingest:${ingestKey}`,
    ZO_LIVE_POLL_MS: "200",
    ZO_INGEST_LINGER_MS: "1",
  };
  const [a, b] = await Promise.all([
    spawnBridge({ chromaUrl: chroma.url, env: { ...env, ZO_BRIDGE_ID: "bridge-a" } }),
    spawnBridge({ chromaUrl: chroma.url, env: { ...env, ZO_BRIDGE_ID: "bridge-b" } }),
  ]);
  await using _a = a;
  await using _b = b;
  const polls = () => metric(a.url, a.apiKey, "zo_live_feed_polls_total");

  await t.step("without a client the feed never polls", async () => {
    await ingest(b.url, ingestKey, [await makeEvent({ project_id: "proj-p" })]);
    assert.equal(await polls(), 0);
  });

  const all = await follow(a.url, a.apiKey);
  const bound = await follow(a.url, readP);
  const session = await follow(a.url, a.apiKey, "?session_id=s-filtered");
  const fromB = [
    await makeEvent({ project_id: "proj-p", session_id: "s-filtered" }),
    await makeEvent({ project_id: "proj-q", session_id: "s-filtered" }),
    await makeEvent({ project_id: "proj-p" }),
    await makeEvent({ project_id: "proj-q" }),
  ];
  const fromA = [
    await makeEvent({ project_id: "proj-p", session_id: "s-filtered" }),
    await makeEvent({ project_id: "proj-q" }),
  ];
  const every = [...fromB, ...fromA].map((e) => e.event_id);

  await t.step("a stream on A gets B's events within the bound, and A's own", async () => {
    const started = Date.now();
    await ingest(b.url, ingestKey, fromB);
    await all.until(
      () => fromB.every((e) => all.ids().includes(e.event_id)),
      "B's events on A's stream",
    );
    // A poll every 200 ms: well under a second unless the machine is starved.
    assert.ok(Date.now() - started < ARRIVAL_TIMEOUT_MS);
    await ingest(a.url, ingestKey, fromA);
    await all.until(() => every.every((id) => all.ids().includes(id)), "every event on A");
  });

  await t.step("filters and a key's project apply to B's events as to A's", async () => {
    const inP = [...fromB, ...fromA].filter((e) => e.project_id === "proj-p").map((e) =>
      e.event_id
    );
    const inSession = [...fromB, ...fromA].filter((e) => e.session_id === "s-filtered")
      .map((e) => e.event_id);
    await bound.until(() => inP.every((id) => bound.ids().includes(id)), "proj-p's events");
    await session.until(
      () => inSession.every((id) => session.ids().includes(id)),
      "the session's events",
    );
  });

  await t.step("each event once: later polls and duplicates publish nothing again", async () => {
    // Redeliveries through either bridge are duplicates: neither publishes them.
    await ingest(a.url, ingestKey, [fromB[0]!]);
    await ingest(b.url, ingestKey, [fromA[0]!]);
    // Every poll looks back over the window holding all of them: let several run.
    const before = await polls();
    await eventually(async () => await polls() >= before + 5, "five more polls");
    const counts = tally(all.ids());
    for (const id of every) assert.equal(counts.get(id), 1, `${id} once on A's stream`);
    assert.equal(all.ids().length, every.length);
    assert.deepEqual(
      [...new Set(bound.ids())].sort(),
      [...fromB, ...fromA].filter((e) => e.project_id === "proj-p").map((e) => e.event_id).sort(),
    );
    assert.equal(bound.ids().length, new Set(bound.ids()).size);
    assert.deepEqual(
      session.ids().sort(),
      [...fromB, ...fromA].filter((e) => e.session_id === "s-filtered").map((e) => e.event_id)
        .sort(),
    );
    assert.equal(await metric(a.url, a.apiKey, "zo_live_feed_events_total"), fromB.length);
  });

  await t.step("once the last client leaves, polling stops", async () => {
    await Promise.all([all.close(), bound.close(), session.close()]);
    await eventually(
      async () => await metric(a.url, a.apiKey, "zo_live_clients") === 0,
      "no clients on A",
    );
    const left = await polls();
    // Seven polls' worth of time: an active feed would poll about seven times.
    await new Promise((r) => setTimeout(r, 1_500));
    // A poll in flight as the last client left may still end and count.
    assert.ok(
      await polls() - left <= 1,
      `polls after the last client left: ${await polls() - left}`,
    );
    // B never had a client: it never polled.
    assert.equal(await metric(b.url, b.apiKey, "zo_live_feed_polls_total"), 0);
  });

  await t.step("a bridge whose feed is polling stops cleanly on SIGTERM", async () => {
    const last = await follow(a.url, a.apiKey);
    const polled = await polls();
    await eventually(async () => await polls() > polled, "the feed polling again");
    await a.stop();
    assert.equal((await a.status).code, 0, a.logTail.slice(-5).join("\n"));
    assert.ok(!a.logTail.some((line) => line.includes("live feed poll failed")));
    await last.close();
  });
});

Deno.test("the shared live feed survives Chroma going away: failed polls back off, then it resumes", async () => {
  await using chroma = await startTestChroma({ restartDelayMs: 4_000 });
  const failures: number[] = [];
  const app = {
    groupCommit: { lingerMs: 1 },
    liveFeed: { pollMs: 100, maxBackoffMs: 400, onError: () => failures.push(Date.now()) },
  };
  await using a = await startTestBridge({ chroma, app });
  await using b = await startTestBridge({ chroma, app });
  const live = await follow(a.url, a.readKey);
  try {
    const feed = a.app.liveFeed!;
    assert.ok(feed.active);
    await eventually(() => feed.polls.ok >= 1, "a first poll");
    chroma.server.kill();
    await eventually(() => failures.length >= 4, "four failed polls");
    // 100 ms, doubled after each failure up to 400: the third gap is at least 400 ms.
    assert.ok(failures[3]! - failures[2]! >= 400, `gaps: ${failures.map((f) => f - failures[0]!)}`);
    await chroma.server.ready();
    const event = await makeEvent();
    // The store reconnects on its next call: a first ingest may still meet the old connection.
    await eventually(async () => {
      const response = await fetch(b.ingestUrl, {
        method: "POST",
        headers: { authorization: `Bearer ${b.ingestKey}` },
        body: JSON.stringify([event]),
      });
      await response.body?.cancel();
      return response.status === 200;
    }, "an ingest through B once Chroma is back");
    await live.until(() => live.ids().includes(event.event_id), "B's event after the outage");
    assert.deepEqual(live.ids(), [event.event_id]);
    assert.ok(feed.polls.failed >= 4);
  } finally {
    await live.close();
  }
  await eventually(() => !a.app.liveFeed!.active, "the feed to stop with its last client");
});

Deno.test("the shared live feed publishes other writers' records only, whoever published them", async () => {
  await using chroma = await startTestChroma();
  const app = { liveFeed: { pollMs: 100 } };
  await using a = await startTestBridge({ chroma, app });
  await using b = await startTestBridge({ chroma, app });
  const live = await follow(a.url, a.readKey);
  try {
    // Stored without going through an ingest route, so no hub has published them: A's own
    // record must stay off the feed (A's ingest would have published it), B's must come.
    const own = await makeEvent();
    const other = await makeEvent();
    await a.store.write([own]);
    await b.store.write([other]);
    await live.until(() => live.ids().includes(other.event_id), "B's record on A's stream");
    const polled = a.app.liveFeed!.polls.ok;
    await eventually(() => a.app.liveFeed!.polls.ok >= polled + 3, "three more polls");
    assert.deepEqual(live.ids(), [other.event_id]);
    assert.equal(a.app.liveFeed!.published, 1);
  } finally {
    await live.close();
  }
});

Deno.test("the shared live feed reads at most maxRecordsPerPoll ids a poll, then skips ahead", async () => {
  await using chroma = await startTestChroma();
  await using a = await startTestBridge({
    chroma,
    app: { liveFeed: { pollMs: 100, maxRecordsPerPoll: 4 } },
  });
  await using b = await startTestBridge({ chroma });
  const live = await follow(a.url, a.readKey);
  try {
    const burst = await Promise.all(Array.from({ length: 10 }, () => makeEvent()));
    await b.store.write(burst); // one add: all ten become visible at once
    await eventually(() => a.app.liveFeed!.polls.truncated >= 1, "a truncated poll");
    // The first four records of the burst, and nothing of it after.
    await live.until(() => live.ids().length >= 4, "four of the burst");
    const after = await makeEvent();
    await b.store.write([after]);
    await live.until(() => live.ids().includes(after.event_id), "the next write after the burst");
    const ids = live.ids();
    assert.equal(ids.length, 5, `published: ${ids.length}`);
    assert.equal(new Set(ids).size, 5);
    assert.ok(ids.slice(0, 4).every((id) => burst.some((e) => e.event_id === id)));
  } finally {
    await live.close();
  }
});

Deno.test("createLiveFeed() checks its options", () => {
  const source = {
    writerId: "w",
    idsWrittenSince: () => Promise.resolve([]),
    writesByIds: () => Promise.resolve([]),
  };
  for (
    const bad of [{ pollMs: 0 }, { lookbackMs: -1 }, { maxRecordsPerPoll: NaN }, {
      maxBackoffMs: Infinity,
    }]
  ) {
    assert.throws(() => createLiveFeed(source, { publish: () => {}, ...bad }), RangeError);
  }
  const feed = createLiveFeed(source, { publish: () => {} });
  assert.equal(feed.active, false);
  assert.deepEqual(feed.polls, { ok: 0, truncated: 0, failed: 0 });
});
