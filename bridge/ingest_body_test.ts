import assert from "node:assert/strict";
import { HttpError } from "./errors.ts";
import {
  createByteBudget,
  DEFAULT_INGEST_LIMITS,
  type IngestLimits,
  MAX_EVENT_DEPTH,
  nestedDeeperThan,
  readIngestBody,
} from "./ingest_body.ts";

const post = (body: BodyInit | null, headers: Record<string, string> = {}) =>
  new Request("http://bridge.test/ingest", { method: "POST", body, headers });

const values = async (req: Request, limits?: IngestLimits) =>
  (await readIngestBody(req, limits)).map((item) => item.ok ? item.value : item.error);

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function assertHttpError(
  promise: Promise<unknown>,
  status: number,
  reason?: string,
): Promise<HttpError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof HttpError, `expected HttpError ${status}, got ${caught}`);
  assert.equal(caught.status, status, caught.message);
  if (reason !== undefined) {
    assert.equal((caught.details as { reason?: string } | undefined)?.reason, reason);
  }
  return caught;
}

Deno.test("readIngestBody() reads one envelope, an array, and NDJSON", async (t) => {
  await t.step("one object", async () => {
    assert.deepEqual(await values(post('{"a":1}', { "content-type": "application/json" })), [
      { a: 1 },
    ]);
  });
  await t.step("an array, sniffed", async () => {
    assert.deepEqual(await values(post('[{"a":1}, {"a":2}]')), [{ a: 1 }, { a: 2 }]);
  });
  await t.step("NDJSON by content type, CRLF and blank lines", async () => {
    const body = '{"a":1}\r\n\n{"a":2}\n';
    assert.deepEqual(await values(post(body, { "content-type": "application/x-ndjson" })), [
      { a: 1 },
      { a: 2 },
    ]);
  });
  await t.step("NDJSON, sniffed", async () => {
    assert.deepEqual(await values(post('{"a":1}\n{"a":2}')), [{ a: 1 }, { a: 2 }]);
  });
  await t.step("a pretty-printed object, sniffed", async () => {
    assert.deepEqual(await values(post('{\n  "a": 1\n}\n')), [{ a: 1 }]);
  });
  await t.step("a UTF-8 byte order mark", async () => {
    assert.deepEqual(await values(post('\ufeff[{"a":"é"}]')), [{ a: "é" }]);
  });
  await t.step("gzip", async () => {
    const body = await gzip(new TextEncoder().encode('{"a":1}\n{"a":2}\n'));
    const req = post(body as BodyInit, {
      "content-encoding": "gzip",
      "content-type": "application/x-ndjson",
    });
    assert.deepEqual(await values(req), [{ a: 1 }, { a: 2 }]);
  });
});

Deno.test("readIngestBody() reports a malformed NDJSON line by index, not the whole body", async () => {
  const items = await readIngestBody(
    post('{"a":1}\n{"a":\n{"a":3}\n', { "content-type": "application/x-ndjson" }),
  );
  assert.equal(items.length, 3);
  assert.equal(items[0]!.ok, true);
  assert.equal(items[1]!.ok, false);
  assert.match((items[1] as { error: string }).error, /Cannot parse this line as JSON/);
  assert.equal(items[2]!.ok, true);
});

Deno.test("readIngestBody() answers 400 for empty and malformed bodies", async (t) => {
  for (
    const [name, req, reason] of [
      ["no body", post(null), "empty_body"],
      ["empty body", post(""), "empty_body"],
      ["white space", post(" \n\t "), "empty_body"],
      ["empty array", post("[]"), "empty_body"],
      ["malformed JSON", post('{"a": 1', { "content-type": "application/json" }), "malformed_json"],
      ["malformed, sniffed", post("[1, 2"), "malformed_json"],
      ["a bare number", post("42"), "not_envelopes"],
      ["invalid UTF-8", post(new Uint8Array([0x5b, 0xff, 0x5d])), "bad_utf8"],
      ["gzip garbage", post("not gzip at all", { "content-encoding": "gzip" }), "bad_gzip"],
    ] as const
  ) {
    await t.step(name, async () => {
      await assertHttpError(readIngestBody(req), 400, reason);
    });
  }
});

Deno.test("readIngestBody() answers 415 for an unknown Content-Encoding", async () => {
  await assertHttpError(readIngestBody(post("{}", { "content-encoding": "br" })), 415);
});

Deno.test("readIngestBody() answers 413 beyond each limit", async (t) => {
  const limits = { maxBodyBytes: 10_000, maxEventBytes: 1_000, maxEvents: 5 };
  await t.step("declared body size", async () => {
    const req = post("x".repeat(20_000), { "content-length": "20000" });
    await assertHttpError(readIngestBody(req, limits), 413, "body_too_large");
  });
  await t.step("streamed body size", async () => {
    const stream = new Blob(["[", "1,".repeat(8_000), "1]"]).stream();
    await assertHttpError(readIngestBody(post(stream), limits), 413, "body_too_large");
  });
  await t.step("too many NDJSON lines", async () => {
    const req = post("{}\n".repeat(6), { "content-type": "application/x-ndjson" });
    const error = await assertHttpError(readIngestBody(req, limits), 413, "too_many_events");
    assert.match(error.message, /6 events/);
  });
  await t.step("too many array elements", async () => {
    await assertHttpError(readIngestBody(post("[1,2,3,4,5,6]"), limits), 413, "too_many_events");
  });
  await t.step("an NDJSON line over the event limit", async () => {
    const req = post(`{}\n{"a":"${"x".repeat(1_200)}"}\n`, {
      "content-type": "application/x-ndjson",
    });
    const error = await assertHttpError(readIngestBody(req, limits), 413, "event_too_large");
    assert.equal((error.details as { index: number }).index, 1);
  });
  await t.step("an array element over the event limit", async () => {
    const req = post(`[{}, {}, {"a":"${"x".repeat(1_200)}"}]`);
    const error = await assertHttpError(readIngestBody(req, limits), 413, "event_too_large");
    assert.equal((error.details as { index: number }).index, 2);
  });
  await t.step("a single object over the event limit", async () => {
    const req = post(`{"a":"${"x".repeat(1_200)}"}`);
    await assertHttpError(readIngestBody(req, limits), 413, "event_too_large");
  });
});

Deno.test("readIngestBody() stops a gzip bomb at the limit without inflating it all", async () => {
  const bomb = await gzip(new Uint8Array(24 * 1024 * 1024)); // 24 MB of zeros, ~24 KB gzipped
  let pulled = 0;
  let offset = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bomb.length) return controller.close();
      const chunk = bomb.slice(offset, offset + 1_024);
      offset += chunk.length;
      pulled += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const req = post(stream, { "content-encoding": "gzip" });
  await assertHttpError(readIngestBody(req, DEFAULT_INGEST_LIMITS), 413, "body_too_large");
  assert.ok(pulled < bomb.length / 2, `read ${pulled} of ${bomb.length} compressed bytes`);
});

Deno.test("readIngestBody() answers 429 when the shared byte budget is spent", async () => {
  const budget = createByteBudget(100, { perOwnerBytes: 100 });
  assert.ok(budget.tryTake(90));
  await assertHttpError(readIngestBody(post('[{"a":"0123456789"}]'), undefined, { budget }), 429);
  assert.equal(budget.used, 90);
  budget.give(90);
  assert.equal((await readIngestBody(post("[{}]"), undefined, { budget })).length, 1);
  assert.equal(budget.used, 0);
});

Deno.test("readIngestBody(): one key at its share of the budget leaves room for the others", async () => {
  const budget = createByteBudget(100, { perOwnerBytes: 40 });
  assert.ok(budget.tryTake(35, "hostile"));
  const body = '[{"a":"0123456789"}]';
  await assertHttpError(readIngestBody(post(body), undefined, { budget, owner: "hostile" }), 429);
  assert.equal((await readIngestBody(post(body), undefined, { budget, owner: "other" })).length, 1);
  assert.equal(budget.used, 35);
  budget.give(35, "hostile");
  assert.equal(budget.used, 0);
});

Deno.test("readIngestBody() cuts a stalled upload at its deadline, and gives its bytes back", async () => {
  const budget = createByteBudget(1_000_000);
  let cancelled = false;
  const stalled = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('[{"a":'));
    },
    cancel() {
      cancelled = true;
    },
  });
  const req = new Request("http://bridge.test/ingest", { method: "POST", body: stalled });
  const error = await assertHttpError(
    readIngestBody(req, undefined, { budget, owner: "k", timeoutMs: 100 }),
    408,
  );
  assert.equal(error.reason, "body_timeout");
  assert.equal(budget.used, 0);
  assert.ok(cancelled);
});

Deno.test("readIngestBody() counts gzip bytes on the wire, not only after inflating", async () => {
  const limits = { ...DEFAULT_INGEST_LIMITS, maxBodyBytes: 1_000 };
  // Gzip of empty stored blocks: 5 bytes each on the wire, nothing after inflating.
  const empty = [0x00, 0x00, 0x00, 0xff, 0xff];
  const gz = new Uint8Array([
    ...[0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0x03],
    ...Array.from({ length: 400 }, () => empty).flat(),
    ...[0x01, 0x00, 0x00, 0xff, 0xff],
    ...[0, 0, 0, 0, 0, 0, 0, 0],
  ]);
  const req = new Request("http://bridge.test/ingest", {
    method: "POST",
    headers: { "content-encoding": "gzip" },
    body: new Blob([gz]).stream(),
  });
  await assertHttpError(readIngestBody(req, limits), 413);
});

Deno.test("readIngestBody() rejects an event nested too deep, by index", async () => {
  const deep = "[".repeat(MAX_EVENT_DEPTH + 5) + "]".repeat(MAX_EVENT_DEPTH + 5);
  const items = await readIngestBody(post(`[{}, {"data": ${deep}}]`));
  assert.equal(items[0]!.ok, true);
  assert.equal(items[1]!.ok, false);
  assert.match((items[1] as { error: string }).error, /deeper than 128/);
});

Deno.test("nestedDeeperThan() counts levels of objects and arrays", () => {
  assert.equal(nestedDeeperThan({ a: [1] }, 2), false);
  assert.equal(nestedDeeperThan({ a: [[1]] }, 2), true);
  assert.equal(nestedDeeperThan("text", 0), false);
});
