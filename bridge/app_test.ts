import assert from "node:assert/strict";
import type { Event } from "../shared/schema.ts";
import { createApp } from "./app.ts";
import { createAuthenticator, parseApiKeys } from "./auth.ts";
import { FakeStore, makeEvent } from "./testing/fakes.ts";

const ADMIN = "admin-key-000000000000000000";
const INGEST = "ingest-key-00000000000000000";
const INGEST_ACME = "ingest-acme-0000000000000000";
const READ = "read-key-0000000000000000000";
const READ_ACME = "read-acme-000000000000000000";

async function setup(options: { metricsPublic?: boolean; queue?: number } = {}) {
  const store = new FakeStore();
  const lines: string[] = [];
  const keys = parseApiKeys(
    `admin:${ADMIN},ingest:${INGEST},ingest@acme:${INGEST_ACME},read:${READ},read@acme:${READ_ACME}`,
    "ZO_API_KEYS",
  );
  const app = createApp({
    store,
    authenticate: await createAuthenticator(keys),
    metricsPublic: options.metricsPublic,
    groupCommit: {
      lingerMs: 1,
      ...(options.queue ? { maxQueuedEvents: options.queue, maxBatch: options.queue } : {}),
    },
    log: (line) => lines.push(line),
  });
  return { store, app, lines };
}

type Json = Record<string, unknown>;

async function call(
  app: (req: Request) => Promise<Response>,
  path: string,
  init: RequestInit & { key?: string } = {},
): Promise<{ status: number; body: Json; headers: Headers; text: string }> {
  const headers = new Headers(init.headers);
  if (init.key) headers.set("authorization", `Bearer ${init.key}`);
  const response = await app(new Request(`http://bridge.test${path}`, { ...init, headers }));
  const text = await response.text();
  let body: Json = {};
  try {
    body = JSON.parse(text);
  } catch { /* not JSON: /metrics */ }
  return { status: response.status, body, headers: response.headers, text };
}

const ingest = (app: (req: Request) => Promise<Response>, events: unknown, key = INGEST) =>
  call(app, "/ingest", { method: "POST", key, body: JSON.stringify(events) });

Deno.test("POST /ingest stores events and answers accepted, duplicates, rejected", async (t) => {
  const { app, store } = await setup();
  const events = await Promise.all([makeEvent(), makeEvent(), makeEvent()]);
  await t.step("first delivery", async () => {
    const { status, body } = await ingest(app, events);
    assert.equal(status, 200);
    assert.deepEqual(body, { accepted: 3, duplicates: 0, rejected: [] });
    assert.equal(store.events.size, 3);
  });
  await t.step("redelivery stores nothing new", async () => {
    const { status, body } = await ingest(app, events);
    assert.equal(status, 200);
    assert.deepEqual(body, { accepted: 0, duplicates: 3, rejected: [] });
    assert.equal(store.events.size, 3);
  });
  await t.step("a partial batch stores the valid ones", async () => {
    const good = await makeEvent();
    const { status, body } = await ingest(app, [{ nope: true }, good, { ...good, level: "loud" }]);
    assert.equal(status, 200);
    assert.equal(body.accepted, 1);
    const rejected = body.rejected as { index: number; error: string }[];
    assert.deepEqual(rejected.map((r) => r.index), [0, 2]);
    assert.match(rejected[1]!.error, /level must be one of/);
    assert.ok(store.events.has(good.event_id));
  });
  await t.step("all invalid: 400 with the same shape", async () => {
    const { status, body } = await ingest(app, [{ a: 1 }, 7]);
    assert.equal(status, 400);
    assert.match(body.error as string, /all 2 events are invalid/);
    assert.equal(body.accepted, 0);
    assert.equal((body.rejected as unknown[]).length, 2);
  });
  await t.step("NDJSON with a malformed line", async () => {
    const good = await makeEvent();
    const { status, body } = await call(app, "/ingest", {
      method: "POST",
      key: INGEST,
      headers: { "content-type": "application/x-ndjson" },
      body: `${JSON.stringify(good)}\n{oops\n`,
    });
    assert.equal(status, 200);
    assert.equal(body.accepted, 1);
    assert.deepEqual((body.rejected as { index: number }[]).map((r) => r.index), [1]);
  });
});

Deno.test("the app answers 4xx with a JSON error for a client's mistakes", async (t) => {
  const { app } = await setup();
  const cases: [string, string, RequestInit & { key?: string }, number][] = [
    ["malformed JSON", "/ingest", { method: "POST", key: INGEST, body: "[{" }, 400],
    ["empty body", "/ingest", { method: "POST", key: INGEST, body: "" }, 400],
    ["oversized body", "/ingest", {
      method: "POST",
      key: INGEST,
      body: "[" + "0,".repeat(3_000_000) + "0]",
    }, 413],
    ["too many events", "/ingest", {
      method: "POST",
      key: INGEST,
      body: JSON.stringify(Array(1_001).fill({})),
    }, 413],
    ["gzip garbage", "/ingest", {
      method: "POST",
      key: INGEST,
      body: "garbage",
      headers: { "content-encoding": "gzip" },
    }, 400],
    ["wrong method", "/ingest", { method: "GET", key: INGEST }, 405],
    ["unknown route", "/nope", { key: ADMIN }, 404],
    ["bad query parameter", "/query?limit=5000", { key: READ }, 400],
    ["unknown query parameter", "/query?where=x", { key: READ }, 400],
    ["operator injection", "/query?session_id[$ne]=x", { key: READ }, 400],
    ["operator as a value", `/query?${new URLSearchParams({ limit: '{"$gt":1}' })}`, {
      key: READ,
    }, 400],
    ["no key", "/ingest", { method: "POST", body: "{}" }, 401],
    ["unknown key", "/query", { key: "unknown-key-000000000000" }, 401],
    ["read key ingesting", "/ingest", { method: "POST", key: READ, body: "{}" }, 403],
    ["ingest key querying", "/query", { key: INGEST }, 403],
  ];
  for (const [name, path, init, status] of cases) {
    await t.step(name, async () => {
      const response = await call(app, path, init);
      assert.equal(response.status, status, response.text.slice(0, 300));
      assert.equal(typeof response.body.error, "string");
      assert.match(response.body.error as string, /^Cannot /);
      if (status === 405) assert.equal(response.headers.get("allow"), "POST");
      if (status === 401) assert.ok(response.headers.get("www-authenticate"));
    });
  }
});

Deno.test("a key bound to a project writes and reads only that project", async (t) => {
  const { app, store } = await setup();
  const acme = await makeEvent({ project_id: "acme" });
  const other = await makeEvent({ project_id: "other" });
  await ingest(app, [other], ADMIN);
  await t.step("its own project: stored", async () => {
    const { status, body } = await ingest(app, [acme], INGEST_ACME);
    assert.equal(status, 200);
    assert.equal(body.accepted, 1);
  });
  await t.step("another project in the batch: 403, nothing stored", async () => {
    const mine = await makeEvent({ project_id: "acme" });
    const theirs = await makeEvent({ project_id: "other" });
    const { status, body } = await ingest(app, [mine, theirs], INGEST_ACME);
    assert.equal(status, 403);
    const details = body.details as { event_ids: string[]; reason: string; project_id: string };
    assert.deepEqual(details.event_ids, [theirs.event_id]);
    // The relay reads these two to dead-letter the foreign events instead of retrying forever.
    assert.equal(details.reason, "forbidden_project");
    assert.equal(details.project_id, "acme");
    assert.ok(!store.events.has(mine.event_id));
  });
  await t.step("no project_id: 403", async () => {
    const { project_id: _, ...bare } = await makeEvent();
    assert.equal((await ingest(app, [bare], INGEST_ACME)).status, 403);
  });
  await t.step("queries are restricted to it", async () => {
    const { status, body } = await call(app, "/query", { key: READ_ACME });
    assert.equal(status, 200);
    assert.deepEqual((body.results as Event[]).map((e) => e.event_id), [acme.event_id]);
  });
  await t.step("asking for another project: 403", async () => {
    const { status } = await call(app, "/query?project_id=other", { key: READ_ACME });
    assert.equal(status, 403);
  });
  await t.step("an unbound read key sees everything", async () => {
    const { body } = await call(app, "/query", { key: READ });
    assert.equal((body.results as Event[]).length, 2);
  });
});

Deno.test("/health and /metrics", async (t) => {
  const { app, store } = await setup();
  await ingest(app, [await makeEvent({ event_type: "done" })]);
  await call(app, "/some/raw/path/unrouted-segment");
  await t.step("/health is open and counts", async () => {
    const { status, body } = await call(app, "/health");
    assert.equal(status, 200);
    assert.deepEqual(body.counts, { events: 1, artifacts: 0, agent_state: 0 });
  });
  await t.step("HEAD /health", async () => {
    const response = await app(new Request("http://bridge.test/health", { method: "HEAD" }));
    assert.equal(response.status, 200);
    assert.equal(await response.text(), "");
  });
  await t.step("/health is 503 when the store is down", async () => {
    store.down = true;
    const { status, headers } = await call(app, "/health");
    store.down = false;
    assert.equal(status, 503);
    assert.ok(headers.get("retry-after"));
  });
  await t.step("/metrics needs a read key", async () => {
    assert.equal((await call(app, "/metrics")).status, 401);
    assert.equal((await call(app, "/metrics", { key: INGEST })).status, 403);
  });
  await t.step("/metrics has the conventional names and bounded labels", async () => {
    const { status, text, headers } = await call(app, "/metrics", { key: READ });
    assert.equal(status, 200);
    assert.match(headers.get("content-type") ?? "", /text\/plain/);
    assert.match(text, /zo_http_requests_total\{route="\/ingest",code="200"\} 1/);
    assert.match(text, /zo_http_requests_total\{route="unmatched",code="404"\} 1/);
    assert.match(text, /zo_http_request_duration_seconds_bucket\{le="0.005",route="\/ingest"\}/);
    assert.match(text, /zo_events_ingested_total\{event_type="done"\} 1/);
    assert.match(text, /zo_chroma_write_duration_seconds_count 1/);
    assert.match(text, /zo_ingest_batch_events_sum 1/);
    assert.match(text, /zo_ingest_queue_events 0/);
    assert.match(text, /process_resident_memory_bytes [1-9]\d+/);
    assert.match(text, /process_cpu_seconds_total/);
    // A word no number can spell (a random duration once held "12345").
    assert.ok(!text.includes("unrouted-segment"), "a raw path must never become a label");
  });
  await t.step("/metrics can be public", async () => {
    const open = await setup({ metricsPublic: true });
    assert.equal((await call(open.app, "/metrics")).status, 200);
  });
});

Deno.test("POST /ingest answers 503 with Retry-After when the store is down, 429 when full", async (t) => {
  await t.step("store down", async () => {
    const { app, store } = await setup();
    store.down = true;
    const { status, headers, body } = await ingest(app, [await makeEvent()]);
    assert.equal(status, 503);
    assert.equal(headers.get("retry-after"), "5");
    assert.equal((body.details as { reason: string }).reason, "store_unavailable");
    assert.equal(store.events.size, 0);
  });
  await t.step("queue full", async () => {
    const { app, store } = await setup({ queue: 1_000 });
    // The first batch's write is held until the second request has its answer: however slow
    // the machine, the queue is full when it comes.
    const { promise: held, resolve: release } = Promise.withResolvers<void>();
    store.writeGate = held;
    const first = ingest(app, await Promise.all(Array.from({ length: 1_000 }, () => makeEvent())));
    while (app.committer.depth < 1_000) await new Promise((r) => setTimeout(r, 1));
    const second = await ingest(app, [await makeEvent()]);
    release();
    assert.equal(second.status, 429);
    assert.equal(second.headers.get("retry-after"), "1");
    assert.equal((await first).status, 200);
  });
});

Deno.test("POST /ingest answers events the store refused alone in rejected[], never a 5xx", async (t) => {
  await t.step(
    "others stored: 200, the refused one by index with reason store_refused",
    async () => {
      const { app, store } = await setup();
      const events = await Promise.all([makeEvent(), makeEvent(), makeEvent()]);
      store.refused.add(events[1]!.event_id);
      // An invalid event first, so the refused one's index is its place in the request.
      const { status, body } = await ingest(app, [{ nope: 1 }, ...events]);
      assert.equal(status, 200);
      assert.equal(body.accepted, 2);
      assert.equal(body.duplicates, 0);
      const rejected = body.rejected as { index: number; error: string; reason?: string }[];
      assert.deepEqual(rejected.map((r) => [r.index, r.reason]), [[0, undefined], [
        2,
        "store_refused",
      ]]);
      assert.match(rejected[1]!.error, /^Cannot store the event: .*Chroma refused them/);
      assert.equal(store.events.size, 2);
    },
  );
  await t.step("none stored: 400 store_refused, which the relay dead-letters", async () => {
    const { app, store } = await setup();
    const event = await makeEvent();
    store.refused.add(event.event_id);
    const { status, body } = await ingest(app, [event]);
    assert.equal(status, 400);
    assert.equal(body.reason, "store_refused");
    assert.deepEqual((body.rejected as { index: number }[]).map((r) => r.index), [0]);
  });
});

Deno.test("an unexpected error is a logged 500 that echoes nothing", async () => {
  const { app, store, lines } = await setup();
  store.counts = () => Promise.reject(new Error("secret internals at /srv/x"));
  store.query = () => Promise.reject(new Error("secret internals at /srv/x"));
  const { status, body } = await call(app, "/query", { key: READ });
  assert.equal(status, 500);
  assert.ok(!JSON.stringify(body).includes("secret"));
  const id = /Internal error ([0-9a-f-]{36})/.exec(body.error as string)?.[1];
  assert.ok(id);
  const logged = lines.map((line) => JSON.parse(line)).find((entry) => entry.status === 500);
  assert.equal(logged.error_id, id);
  assert.match(logged.error, /secret internals/);
});

Deno.test("the request log has one JSON line per request and never a key", async () => {
  const { app, lines } = await setup();
  await ingest(app, [await makeEvent()]);
  await call(app, "/query", { headers: { "x-api-key": READ } });
  await call(app, "/query", { key: "wrong-key-but-long-enough-0000" });
  assert.equal(lines.length, 3);
  for (const line of lines) {
    for (const secret of [INGEST, READ, "wrong-key-but-long-enough-0000"]) {
      assert.ok(!line.includes(secret), "a key leaked into the log");
    }
  }
  const first = JSON.parse(lines[0]!);
  assert.equal(first.route, "/ingest");
  assert.equal(first.key, "ZO_API_KEYS[1]");
  assert.equal(first.accepted, 1);
});

/** A deterministic pseudo-random generator, so a failing case can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

Deno.test("random bodies and headers never get a 5xx", async () => {
  const { app } = await setup();
  const next = random(7);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const valid = JSON.stringify(await makeEvent());
  const fragments = [
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    '"',
    "\\",
    "\n",
    "null",
    "1e999",
    '"event_id"',
    '"ts"',
    valid,
    "\u0000",
    "\ud800",
    '{"__proto__":{"x":1}}',
    '{"constructor":{"prototype":{}}}',
    "[".repeat(200),
    `{"data":"${"x".repeat(300_000)}"}`,
  ];
  const headerSets: Record<string, string>[] = [
    {},
    { "content-type": "application/json" },
    { "content-type": "application/x-ndjson" },
    { "content-type": "text/plain; charset=latin1" },
    { "content-encoding": "gzip" },
    { "content-encoding": "deflate" },
    { "content-length": "5" },
    { "x-api-key": "" },
    { authorization: "Bearer" },
    { authorization: "Bearer " + "k".repeat(5000) },
  ];
  const seen = new Set<number>();
  for (let i = 0; i < 400; i++) {
    const parts = Array.from({ length: Math.floor(next() * 8) }, () => pick(fragments));
    let body: BodyInit = parts.join(pick(["", "\n", ","]));
    if (next() < 0.2) {
      body = crypto.getRandomValues(new Uint8Array(Math.floor(next() * 512))) as BodyInit;
    }
    const headers = new Headers(pick(headerSets));
    if (!headers.has("authorization") && next() < 0.8) {
      headers.set("authorization", `Bearer ${ADMIN}`);
    }
    const method = pick(["POST", "POST", "POST", "GET", "PUT", "DELETE"]);
    const path = pick(["/ingest", "/query?limit=" + parts.join(""), "/health", "/%2e%2e/x"]);
    let response: Response;
    try {
      response = await app(
        new Request(`http://bridge.test${path}`, {
          method,
          headers,
          body: method === "GET" ? null : body,
        }),
      );
    } catch (error) {
      // Only a Request that cannot be built (e.g. a bad header) may throw, never the app.
      assert.ok(error instanceof TypeError, String(error));
      continue;
    }
    await response.body?.cancel();
    assert.ok(response.status < 500, `case ${i}: ${method} ${path} got ${response.status}`);
    seen.add(response.status);
  }
  // The cases must reach past the front door: parsing, validation and storage.
  for (const status of [200, 400, 401, 405, 415]) assert.ok(seen.has(status), `no ${status}`);
});
