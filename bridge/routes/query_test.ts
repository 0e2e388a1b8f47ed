/**
 * `GET /query` against the real app and a real Chroma: the byte bound of a page as the client
 * sees it, and the budget of query bytes in flight, taken while a page is read or sent and given
 * back once it has been (read whole, or not at all: HEAD, a client that went away).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Event } from "../../shared/schema.ts";
import { startTestBridge, type TestBridge } from "../testing/bridge.ts";
import { makeEvent } from "../testing/fakes.ts";

const KB = 1024;
const PAGE_BYTES = 600 * KB;

async function bigEvents(bridge: TestBridge, count: number): Promise<Event[]> {
  const events: Event[] = [];
  for (let i = 0; i < count; i++) {
    events.push(await makeEvent({ data: { i, pad: "x".repeat(200 * KB) } }));
  }
  const response = await fetch(bridge.ingestUrl, {
    method: "POST",
    headers: { authorization: `Bearer ${bridge.ingestKey}` },
    body: JSON.stringify(events),
  });
  assert.equal(response.status, 200);
  assert.equal((await response.json()).accepted, count);
  return events;
}

function get(bridge: TestBridge, search: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${bridge.queryUrl}?${search}`, {
    ...init,
    headers: { authorization: `Bearer ${bridge.readKey}` },
  });
}

/** Resolves once the budget holds nothing (the server gives bytes back when the body is done). */
async function drained(bridge: TestBridge): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (bridge.app.queryBudget.used > 0) {
    assert.ok(Date.now() < deadline, `${bridge.app.queryBudget.used} bytes still held`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test("GET /query pages stop at ZO_QUERY_PAGE_BYTES and give their bytes back", async (t) => {
  await using bridge = await startTestBridge({
    app: { queryPageBytes: PAGE_BYTES, queryBytesInFlight: 4 * PAGE_BYTES, queryWaitMs: 200 },
  });
  const events = await bigEvents(bridge, 8);

  await t.step("a page of limit=1000 holds what fits the bound; the cursor goes on", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response = await get(
        bridge,
        `limit=1000${cursor === null ? "" : `&cursor=${cursor}`}`,
      );
      assert.equal(response.status, 200);
      const text = await response.text();
      const page = JSON.parse(text);
      assert.ok(page.results.length >= 1 && page.results.length <= 2, `${page.results.length}`);
      seen.push(...page.results.map((e: Event) => e.event_id));
      cursor = page.next_cursor;
    } while (cursor !== null);
    assert.deepEqual(seen.sort(), events.map((e) => e.event_id).sort());
    await drained(bridge);
  });

  await t.step("HEAD and an abandoned body give their bytes back", async () => {
    const head = await get(bridge, "limit=1000", { method: "HEAD" });
    assert.equal(head.status, 200);
    await head.body?.cancel();
    await drained(bridge);
    const controller = new AbortController();
    const response = await get(bridge, "limit=1000", { signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await reader.cancel().catch(() => {});
    await drained(bridge);
  });

  await t.step("a key past its share waits, then gets 429 busy with Retry-After", async () => {
    // Pages of the read key in flight (as slow clients would leave them) hold its whole share.
    const owner = "ZO_API_KEYS[2]";
    assert.equal(await bridge.app.queryBudget.take(PAGE_BYTES, owner), "ok");
    const started = performance.now();
    const refused = await get(bridge, "limit=1000");
    assert.ok(performance.now() - started >= 150, "it waited for bytes first");
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get("retry-after"), "1");
    const body = await refused.json();
    assert.equal(body.reason, "busy");
    assert.equal(body.details.reason, "query_key_share");
    // Another key is served meanwhile.
    const other = await fetch(`${bridge.queryUrl}?limit=1000`, {
      headers: { authorization: `Bearer ${bridge.adminKey}` },
    });
    assert.equal(other.status, 200);
    assert.ok((await other.json()).results.length >= 1);
    // A page that is waiting gets in once the bytes come back.
    const waiting = get(bridge, "limit=1000");
    while (bridge.app.queryBudget.waiting === 0) await new Promise((r) => setTimeout(r, 5));
    bridge.app.queryBudget.give(PAGE_BYTES, owner);
    const admitted = await waiting;
    assert.equal(admitted.status, 200);
    assert.ok((await admitted.json()).results.length >= 1);
    await drained(bridge);
  });

  await t.step("pages of small events take only the bytes they read", async () => {
    const small = [];
    for (let i = 0; i < 5; i++) small.push(await makeEvent({ session_id: "small", data: { i } }));
    const stored = await fetch(bridge.ingestUrl, {
      method: "POST",
      headers: { authorization: `Bearer ${bridge.ingestKey}` },
      body: JSON.stringify(small),
    });
    assert.equal(stored.status, 200);
    await stored.body?.cancel();
    // All but 20 KB of the key's share is held: five small events still fit.
    const owner = "ZO_API_KEYS[2]";
    assert.equal(await bridge.app.queryBudget.take(PAGE_BYTES - 20 * KB, owner), "ok");
    const response = await get(bridge, "session_id=small&limit=5");
    assert.equal(response.status, 200);
    assert.equal((await response.json()).results.length, 5);
    bridge.app.queryBudget.give(PAGE_BYTES - 20 * KB, owner);
    await drained(bridge);
  });
});
