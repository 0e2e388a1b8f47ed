import assert from "node:assert/strict";
import type { Event } from "../shared/schema.ts";
import { createApp } from "./app.ts";
import { createAuthenticator, parseApiKeys } from "./auth.ts";
import { createSseParser, type SseMessage } from "./dashboard/static/sse.js";
import {
  createLiveHub,
  DEFAULT_LIVE_CLIENTS_PER_OWNER,
  formatSse,
  LiveFullError,
  matchesLive,
  summaryOf,
} from "./live.ts";
import { FakeStore, makeEvent } from "./testing/fakes.ts";

const READ = "read-key-0000000000000000000";
const READ_ACME = "read-acme-000000000000000000";
const INGEST = "ingest-key-00000000000000000";

/** Reads SSE messages from a stream until `count` are in (or it ends). */
async function readMessages(
  stream: ReadableStream<Uint8Array>,
  count: number,
): Promise<SseMessage[]> {
  const messages: SseMessage[] = [];
  const parser = createSseParser((message) => messages.push(message));
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  try {
    while (messages.length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(value);
    }
  } finally {
    await reader.cancel();
  }
  return messages;
}

Deno.test("formatSse() writes one data line per line of the payload", () => {
  assert.equal(formatSse({ data: "a" }), "data: a\n\n");
  assert.equal(
    formatSse({ id: "7", event: "envelope", data: "x\ny" }),
    "id: 7\nevent: envelope\ndata: x\ndata: y\n\n",
  );
});

Deno.test("matchesLive() applies equality filters, text and the project binding", async (t) => {
  const event = await makeEvent({
    project_id: "acme",
    session_id: "s1",
    tool_name: "Bash",
    msg: 'ran "make test"',
  });
  const json = JSON.stringify(event);
  await t.step("no filter passes everything", () => {
    assert.equal(matchesLive({}, event, json), true);
  });
  await t.step("equality filters", () => {
    assert.equal(
      matchesLive({ fields: { session_id: "s1", tool_name: "Bash" } }, event, json),
      true,
    );
    assert.equal(matchesLive({ fields: { session_id: "s2" } }, event, json), false);
  });
  await t.step("text matches as given or as inside a JSON string", () => {
    assert.equal(matchesLive({ text: '"tool_name":"Bash"' }, event, json), true);
    assert.equal(matchesLive({ text: 'ran "make test"' }, event, json), true);
    assert.equal(matchesLive({ text: "absent words" }, event, json), false);
  });
  await t.step("a bound key sees only its projects, never events without one", async () => {
    assert.equal(matchesLive({ projectIds: ["acme"] }, event, json), true);
    assert.equal(matchesLive({ projectIds: ["other"] }, event, json), false);
    const { project_id: _, ...orphan } = event;
    assert.equal(matchesLive({ projectIds: ["acme"] }, orphan, JSON.stringify(orphan)), false);
    const other = await makeEvent({ project_id: "other" });
    assert.equal(matchesLive({ projectIds: ["acme"] }, other, JSON.stringify(other)), false);
  });
});

Deno.test("createLiveHub() sends each subscriber the stored events its filter matches", async () => {
  const hub = createLiveHub();
  const stream = hub.subscribe({ fields: { session_id: "s1" } });
  const mine = await makeEvent({ session_id: "s1" });
  const other = await makeEvent({ session_id: "s2" });
  const later = await makeEvent({ session_id: "s1" });
  hub.publish([mine, other]);
  hub.publish([later]);
  const messages = await readMessages(stream, 3);
  assert.equal(messages[0]!.event, "ready");
  assert.deepEqual(
    messages.slice(1).map((m) => [m.event, m.id, JSON.parse(m.data)]),
    [["envelope", mine.event_id, mine], ["envelope", later.event_id, later]],
  );
  assert.equal(hub.clients, 0, "cancelling the stream removes the client");
  hub.close();
});

Deno.test("createLiveHub() drops a slow client without slowing the others", async () => {
  const hub = createLiveHub({ maxBufferedBytes: 8 * 1024, flushMs: 0 });
  const slow = hub.subscribe({});
  const fast = hub.subscribe({});
  const received: SseMessage[] = [];
  const parser = createSseParser((message) => received.push(message));
  const reader = fast.pipeThrough(new TextDecoderStream()).getReader();
  const events: Event[] = [];
  for (let i = 0; i < 200; i++) events.push(await makeEvent({ msg: `step ${i}`.padEnd(200, ".") }));
  for (const event of events) {
    hub.publish([event]);
    // The fast client reads as events come; the slow one never does.
    const { value } = await reader.read();
    parser.push(value ?? "");
  }
  assert.equal(hub.clients, 1, "only the fast client is left");
  assert.equal(hub.dropped, 1);
  while (received.filter((m) => m.event === "envelope").length < events.length) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.push(value);
  }
  assert.deepEqual(
    received.filter((m) => m.event === "envelope").map((m) => m.id),
    events.map((e) => e.event_id),
  );
  // The slow stream errored: its queue is gone, and its reader learns so.
  await assert.rejects(() => slow.getReader().read(), /Dropped: more than 8192 bytes/);
  await reader.cancel();
  hub.close();
});

Deno.test("createLiveHub() sends events published together in one write per client", async () => {
  const hub = createLiveHub({ flushMs: 20 });
  const reader = hub.subscribe({}).getReader();
  await reader.read(); // ready
  const events = [await makeEvent(), await makeEvent(), await makeEvent()];
  for (const event of events) hub.publish([event]);
  const { value } = await reader.read();
  const text = new TextDecoder().decode(value);
  for (const event of events) assert.ok(text.includes(`id: ${event.event_id}\n`));
  await reader.cancel();
  hub.close();
});

Deno.test("createLiveHub() sends summaries to clients that ask for them", async () => {
  const hub = createLiveHub({ flushMs: 1 });
  const full = hub.subscribe({});
  const brief = hub.subscribe({ summary: true, fields: { tool_name: "Bash" } });
  const event = await makeEvent({ tool_name: "Bash", data: { blob: "x".repeat(5_000) } });
  hub.publish([event]);
  const [whole] = (await readMessages(full, 2)).slice(1);
  const [summary] = (await readMessages(brief, 2)).slice(1);
  assert.deepEqual(JSON.parse(whole!.data), event);
  assert.deepEqual(JSON.parse(summary!.data), summaryOf(event));
  assert.deepEqual(Object.keys(JSON.parse(summary!.data)).sort(), [
    "event_id",
    "event_type",
    "level",
    "msg",
    "project_id",
    "run_id",
    "session_id",
    "tool_name",
    "ts",
  ]);
  assert.ok(summary!.data.length < 400);
  hub.close();
});

Deno.test("createLiveHub() takes one large event into an empty queue", async () => {
  const hub = createLiveHub({ maxBufferedBytes: 1024 });
  const stream = hub.subscribe({});
  const reader = stream.getReader();
  await reader.read(); // ready
  const big = await makeEvent({ msg: "x".repeat(400), data: { blob: "y".repeat(4096) } });
  hub.publish([big]);
  assert.equal(hub.clients, 1);
  const { value } = await reader.read();
  assert.match(new TextDecoder().decode(value), new RegExp(big.event_id));
  await reader.cancel();
  hub.close();
});

Deno.test("createLiveHub() caps its clients, ends streams on close, beats a heartbeat", async (t) => {
  const hub = createLiveHub({ maxClients: 2, heartbeatSeconds: 0.02 });
  const a = hub.subscribe({});
  const b = hub.subscribe({});
  await t.step("a third client is refused", () => {
    assert.throws(() => hub.subscribe({}), LiveFullError);
  });
  await t.step("one owner gets at most its share", () => {
    const small = createLiveHub({ maxClients: 5, maxClientsPerOwner: 1 });
    const first = small.subscribe({}, { owner: "k1" });
    assert.throws(() => small.subscribe({}, { owner: "k1" }), (e) => (e as LiveFullError).perOwner);
    const second = small.subscribe({}, { owner: "k2" });
    assert.equal(small.clients, 2);
    small.close();
    void first.cancel();
    void second.cancel();
  });
  await t.step("idle streams get heartbeat comments", async () => {
    const reader = a.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes(": heartbeat\n\n")) text += (await reader.read()).value ?? "";
    await reader.cancel();
  });
  await t.step(
    "close() ends every stream with a closing message and refuses new ones",
    async () => {
      hub.close();
      const messages = await readMessages(b, 10);
      assert.deepEqual(messages.map((m) => m.event), ["ready", "closing"]);
      assert.equal(hub.clients, 0);
      assert.throws(() => hub.subscribe({}), LiveFullError);
    },
  );
});

Deno.test("createLiveHub() checks its options", () => {
  assert.throws(() => createLiveHub({ maxBufferedBytes: 0 }), RangeError);
  assert.throws(() => createLiveHub({ maxClients: -1 }), RangeError);
  assert.throws(() => createLiveHub({ heartbeatSeconds: Number.NaN }), RangeError);
  assert.throws(() => createLiveHub({ flushMs: -1 }), RangeError);
});

async function setup() {
  const keys = parseApiKeys(
    `read:${READ},read@acme:${READ_ACME},ingest:${INGEST}`,
    "ZO_API_KEYS",
  );
  const app = createApp({
    store: new FakeStore(),
    authenticate: await createAuthenticator(keys),
    groupCommit: { lingerMs: 1 },
    log: () => {},
  });
  const get = (path: string, key?: string, method = "GET") =>
    app(
      new Request(`http://bridge.test${path}`, {
        method,
        headers: key ? { authorization: `Bearer ${key}` } : {},
      }),
    );
  const ingest = (events: Event[]) =>
    app(
      new Request("http://bridge.test/ingest", {
        method: "POST",
        headers: { authorization: `Bearer ${INGEST}` },
        body: JSON.stringify(events),
      }),
    );
  return { app, get, ingest };
}

Deno.test("GET /live streams stored events to read keys, within their project", async (t) => {
  const { app, get, ingest } = await setup();
  await t.step("it needs a read key", async () => {
    const none = await get("/live");
    assert.equal(none.status, 401);
    await none.body?.cancel();
    const ingestOnly = await get("/live", INGEST);
    assert.equal(ingestOnly.status, 403);
    await ingestOnly.body?.cancel();
    assert.equal(app.live.clients, 0);
  });
  await t.step("bad parameters are a 400 naming them", async () => {
    for (
      const [query, pattern] of [
        ["limit=5", /Cannot follow live events: unknown parameter "limit"/],
        ["fields=data", /fields must be "summary"/],
        ["fields=summary&fields=all", /"fields" is given more than once/],
        ["event_type=nope", /event_type must be one of/],
        ["session_id=a&session_id=b", /given more than once/],
      ] as const
    ) {
      const response = await get(`/live?${query}`, READ);
      assert.equal(response.status, 400);
      assert.match((await response.json()).error, pattern);
    }
  });
  await t.step("a key bound to a project may not follow another", async () => {
    const response = await get("/live?project_id=other", READ_ACME);
    assert.equal(response.status, 403);
    assert.match((await response.json()).error, /may only read project "acme"/);
  });
  await t.step("HEAD answers the headers without opening a stream", async () => {
    const response = await get("/live", READ, "HEAD");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
    assert.equal(app.live.clients, 0);
  });
  await t.step("events appear once stored; duplicates and other projects do not", async () => {
    const all = await get("/live", READ);
    const bound = await get("/live", READ_ACME);
    const session = await get("/live?session_id=s-live", READ);
    assert.equal(all.status, 200);
    assert.equal(all.headers.get("cache-control"), "no-cache, no-transform");
    assert.equal(app.live.clients, 3);
    const acme = await makeEvent({ project_id: "acme", session_id: "s-live" });
    const other = await makeEvent({ project_id: "other" });
    assert.equal((await ingest([acme, other])).status, 200);
    assert.equal((await ingest([acme])).status, 200); // a duplicate: not published again
    const later = await makeEvent({ project_id: "acme" });
    assert.equal((await ingest([later])).status, 200);
    const ids = async (response: Response, count: number) =>
      (await readMessages(response.body!, count + 1)).filter((m) => m.event === "envelope")
        .map((m) => m.id);
    assert.deepEqual(await ids(all, 3), [acme.event_id, other.event_id, later.event_id]);
    assert.deepEqual(await ids(bound, 2), [acme.event_id, later.event_id]);
    assert.deepEqual(await ids(session, 1), [acme.event_id]);
    assert.equal(app.live.clients, 0);
  });
  app.live.close();
});

Deno.test("GET /live: one key holding its share of streams cannot lock another key out", async () => {
  const { app, get } = await setup();
  const held: Response[] = [];
  for (let i = 0; i < DEFAULT_LIVE_CLIENTS_PER_OWNER; i++) {
    const response = await get("/live", READ_ACME);
    assert.equal(response.status, 200);
    held.push(response);
  }
  const refused = await get("/live", READ_ACME);
  assert.equal(refused.status, 429);
  assert.equal((await refused.json()).details.reason, "live_key_full");
  // The other tenant still follows, and the bridge still answers its health check.
  const other = await get("/live", READ);
  assert.equal(other.status, 200);
  assert.equal((await get("/health")).status, 200);
  await other.body!.cancel();
  // A stream given back frees a slot for the same key.
  await held.pop()!.body!.cancel();
  const again = await get("/live", READ_ACME);
  assert.equal(again.status, 200);
  held.push(again);
  for (const response of held) await response.body!.cancel();
  assert.equal(app.live.clients, 0);
  app.live.close();
});

Deno.test("GET /live over HTTP: clients share events; one that goes away is removed", async () => {
  const { app, ingest } = await setup();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app);
  try {
    const open = async (signal?: AbortSignal) => {
      const response = await fetch(`http://127.0.0.1:${server.addr.port}/live`, {
        headers: { authorization: `Bearer ${READ}` },
        signal,
      });
      assert.equal(response.status, 200);
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes("event: ready")) text += (await reader.read()).value ?? "";
      return { reader, text };
    };
    const controller = new AbortController();
    const first = await open(controller.signal);
    const second = await open();
    assert.equal(app.live.clients, 2);
    const event = await makeEvent({ data: { blob: "x".repeat(20_000) } });
    assert.equal((await ingest([event])).status, 200);
    // Both get the whole event, though they share the chunk it was sent in.
    for (const client of [first, second]) {
      while (
        !client.text.includes(`"event_id":"${event.event_id}"`) || !client.text.endsWith("\n\n")
      ) {
        client.text += (await client.reader.read()).value ?? "";
      }
      const data = client.text.split("\n").find((line) =>
        line.startsWith("data: ") && line.includes(event.event_id)
      )!;
      assert.deepEqual(JSON.parse(data.slice("data: ".length)), event);
    }
    controller.abort();
    await first.reader.cancel().catch(() => {});
    const deadline = Date.now() + 5_000;
    while (app.live.clients > 1 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(app.live.clients, 1);
    await second.reader.cancel();
  } finally {
    app.live.close();
    await server.shutdown();
  }
});
