import assert from "node:assert/strict";
import { classifyResponse, createShipper, DeliveryError, type SendOutcome } from "./shipper.ts";
import { type FakeBridge, fakeEvent, startFakeBridge } from "../../testing/relay.ts";

const lines = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({ text: JSON.stringify(fakeEvent(from + i)) }));

/** Runs `fn` against a fake bridge and closes both afterwards. */
async function withBridge(
  answer: Parameters<typeof startFakeBridge>[0],
  fn: (bridge: FakeBridge) => Promise<void>,
): Promise<void> {
  const bridge = startFakeBridge(answer);
  try {
    await fn(bridge);
  } finally {
    await bridge.close();
  }
}

const fastBackoff = { baseMs: 1, capMs: 5 };

Deno.test("createShipper() sends gzip'd NDJSON with the bearer key over one client", async () => {
  await withBridge(undefined, async (bridge) => {
    const shipper = createShipper({ endpoint: bridge.url, apiKey: "k-123" });
    try {
      const result = await shipper.deliver(lines(3));
      await shipper.deliver(lines(2, 3));
      assert.deepEqual(result, { shipped: 3, deadLetters: [] });
      const first = bridge.requests[0]!;
      assert.equal(first.headers.get("authorization"), "Bearer k-123");
      assert.equal(first.headers.get("content-type"), "application/x-ndjson");
      assert.equal(first.headers.get("content-encoding"), "gzip");
      assert.deepEqual(bridge.accepted.map((e) => e.seq), [0, 1, 2, 3, 4]);
    } finally {
      shipper.close();
    }
  });
});

Deno.test("createShipper() sends no Authorization header without a key, plain when gzip is off", async () => {
  await withBridge(undefined, async (bridge) => {
    const shipper = createShipper({ endpoint: bridge.url, gzip: false });
    try {
      await shipper.deliver(lines(1));
      assert.equal(bridge.requests[0]!.headers.get("authorization"), null);
      assert.equal(bridge.requests[0]!.headers.get("content-encoding"), null);
    } finally {
      shipper.close();
    }
  });
});

Deno.test("Shipper.deliver() retries 429 and honours Retry-After", async () => {
  const delays: number[] = [];
  await withBridge(
    (request, n) =>
      n === 0
        ? new Response("queue full", { status: 429, headers: { "retry-after": "1" } })
        : Response.json({ accepted: request.events.length, duplicates: 0, rejected: [] }),
    async (bridge) => {
      const shipper = createShipper({
        endpoint: bridge.url,
        backoff: fastBackoff,
        onRetry: ({ delayMs }) => delays.push(delayMs),
      });
      try {
        const started = performance.now();
        const result = await shipper.deliver(lines(2));
        assert.equal(result.shipped, 2);
        assert.deepEqual(delays, [1000]);
        assert.ok(performance.now() - started >= 950, "waited for Retry-After");
        assert.equal(bridge.requests.length, 2);
      } finally {
        shipper.close();
      }
    },
  );
});

Deno.test("Shipper.deliver() retries 5xx with jittered backoff until the bridge is back", async () => {
  const seen: SendOutcome[] = [];
  await withBridge(
    (request, n) =>
      n < 3
        ? Response.json({ error: "chroma down" }, { status: 503 })
        : Response.json({ accepted: request.events.length, duplicates: 0, rejected: [] }),
    async (bridge) => {
      const shipper = createShipper({
        endpoint: bridge.url,
        backoff: fastBackoff,
        log: () => {},
        onRetry: ({ outcome, delayMs }) => {
          seen.push(outcome);
          assert.ok(delayMs >= 0 && delayMs < 5);
        },
      });
      try {
        assert.equal((await shipper.deliver(lines(4))).shipped, 4);
        assert.equal(seen.length, 3);
        assert.deepEqual(seen.map((o) => o.kind === "retry" && o.status), [503, 503, 503]);
        assert.equal(bridge.accepted.length, 4);
      } finally {
        shipper.close();
      }
    },
  );
});

Deno.test("Shipper.deliver() gives up after maxAttempts when the bridge is unreachable", async () => {
  // A port that was free a moment ago: connection refused.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const logged: string[] = [];
  const shipper = createShipper({
    endpoint: new URL(`http://127.0.0.1:${port}/ingest`),
    backoff: fastBackoff,
    maxAttempts: 3,
    log: (line) => logged.push(line),
  });
  try {
    await assert.rejects(shipper.deliver(lines(1)), (error: unknown) => {
      assert.ok(error instanceof DeliveryError);
      assert.match(error.message, /^Cannot ship events after 3 attempts: .* is unreachable/);
      assert.equal(error.aborted, false);
      return true;
    });
    assert.equal(logged.length, 1, "one line per kind of trouble, not one per attempt");
    assert.match(logged[0]!, /bridge unreachable/);
  } finally {
    shipper.close();
  }
});

Deno.test("Shipper.deliver() splits a batch on 413 and dead-letters an event too large alone", async () => {
  await withBridge(
    (request) =>
      request.events.length > 4 || request.events.some((e) => e.seq === 5)
        ? Response.json({ error: "event too large" }, { status: 413 })
        : Response.json({ accepted: request.events.length, duplicates: 0, rejected: [] }),
    async (bridge) => {
      const shipper = createShipper({ endpoint: bridge.url });
      try {
        const result = await shipper.deliver(lines(10));
        assert.equal(result.shipped, 9);
        assert.equal(result.deadLetters.length, 1);
        assert.equal((result.deadLetters[0]!.event as { seq: number }).seq, 5);
        assert.match(result.deadLetters[0]!.reason, /too large \(HTTP 413\): event too large/);
        const seqs = bridge.accepted.map((e) => e.seq as number).sort((a, b) => a - b);
        assert.deepEqual(seqs, [0, 1, 2, 3, 4, 6, 7, 8, 9]);
      } finally {
        shipper.close();
      }
    },
  );
});

Deno.test("Shipper.deliver() dead-letters events the bridge rejects, with its reasons", async (t) => {
  await t.step("200 with rejected indexes: only those", async () => {
    await withBridge(() =>
      Response.json({
        accepted: 2,
        duplicates: 0,
        rejected: [{ index: 1, error: "ts: invalid date" }],
      }), async (bridge) => {
      const shipper = createShipper({ endpoint: bridge.url });
      try {
        const result = await shipper.deliver(lines(3));
        assert.equal(result.shipped, 2);
        assert.deepEqual(result.deadLetters, [{ reason: "ts: invalid date", event: fakeEvent(1) }]);
      } finally {
        shipper.close();
      }
    });
  });
  await t.step("400 with rejected: all of them", async () => {
    await withBridge(() =>
      Response.json({
        error: "no valid events",
        accepted: 0,
        duplicates: 0,
        rejected: [{ index: 0, error: "event_id: required" }],
      }, { status: 400 }), async (bridge) => {
      const shipper = createShipper({ endpoint: bridge.url });
      try {
        const result = await shipper.deliver(lines(2));
        assert.equal(result.shipped, 0);
        assert.deepEqual(result.deadLetters.map((d) => d.reason), [
          "event_id: required",
          "no valid events",
        ]);
        assert.equal(bridge.requests.length, 1, "an invalid event is not retried");
      } finally {
        shipper.close();
      }
    });
  });
  await t.step("400 without rejected: halves until the unreadable event is alone", async () => {
    await withBridge(
      (request) =>
        request.events.some((e) => e.seq === 2)
          ? Response.json({ error: "cannot parse body" }, { status: 400 })
          : Response.json({ accepted: request.events.length, duplicates: 0, rejected: [] }),
      async (bridge) => {
        const shipper = createShipper({ endpoint: bridge.url });
        try {
          const result = await shipper.deliver(lines(4));
          assert.equal(result.shipped, 3);
          assert.equal((result.deadLetters[0]!.event as { seq: number }).seq, 2);
          assert.match(result.deadLetters[0]!.reason, /unreadable \(HTTP 400\): cannot parse body/);
        } finally {
          shipper.close();
        }
      },
    );
  });
});

Deno.test("Shipper.deliver() keeps events on 401, says so on stderr, and ships once the key works", async () => {
  const logged: string[] = [];
  let keyFixed = false;
  await withBridge(
    (request) =>
      keyFixed
        ? Response.json({ accepted: request.events.length, duplicates: 0, rejected: [] })
        : Response.json({ error: "unknown key" }, { status: 401 }),
    async (bridge) => {
      const shipper = createShipper({
        endpoint: bridge.url,
        apiKey: "wrong",
        backoff: fastBackoff,
        log: (line) => logged.push(line),
        onRetry: ({ attempt }) => {
          if (attempt === 4) keyFixed = true;
        },
      });
      try {
        const result = await shipper.deliver(lines(2));
        assert.deepEqual(result, { shipped: 2, deadLetters: [] });
        assert.equal(bridge.requests.length, 5);
        assert.match(logged[0]!, /^Cannot ship events: the bridge refused the API key \(HTTP 401/);
        assert.match(logged[0]!, /set ZO_INGEST_KEY to a valid ingest key/, "the default name");
        assert.doesNotMatch(logged.join("\n"), /ZO_API_KEY/);
        assert.ok(!logged.join("\n").includes("wrong"), "the key itself is never logged");
      } finally {
        shipper.close();
      }
    },
  );
});

Deno.test("Shipper.deliver() names the variable the key was set in when the bridge refuses it", async () => {
  const logged: string[] = [];
  await withBridge(
    () => Response.json({ error: "unknown key" }, { status: 401 }),
    async (bridge) => {
      const shipper = createShipper({
        endpoint: bridge.url,
        apiKey: "wrong",
        apiKeyVariable: "ZO_API_KEY",
        backoff: fastBackoff,
        maxAttempts: 2,
        log: (line) => logged.push(line),
      });
      try {
        const error = await shipper.deliver(lines(1)).then(() => undefined, (e) => e);
        assert.ok(error instanceof DeliveryError, String(error));
        assert.match(logged[0]!, /set ZO_API_KEY to a valid ingest key/);
        assert.match(
          error.message,
          /^Cannot ship events after 2 attempts: .*set ZO_API_KEY to a valid ingest key$/,
        );
        assert.doesNotMatch(logged.join("\n"), /ZO_INGEST_KEY/);
      } finally {
        shipper.close();
      }
    },
  );
});

Deno.test("Shipper.deliver() dead-letters events of a project the key may not write, ships the rest", async () => {
  const ofProject = (n: number, project?: string) => ({
    text: JSON.stringify({ ...fakeEvent(n), ...(project ? { project_id: project } : {}) }),
  });
  await withBridge(
    (request) =>
      request.events.some((e) => e.project_id !== "acme")
        ? Response.json({
          error: 'Cannot ingest: key vm may only write events of project "acme"',
          details: { reason: "forbidden_project", project_id: "acme" },
        }, { status: 403 })
        : Response.json({ accepted: request.events.length, duplicates: 0, rejected: [] }),
    async (bridge) => {
      const shipper = createShipper({ endpoint: bridge.url, backoff: fastBackoff, maxAttempts: 2 });
      try {
        const batch = [
          ofProject(0, "acme"),
          ofProject(1, "other"),
          ofProject(2),
          ofProject(3, "acme"),
        ];
        const result = await shipper.deliver(batch);
        assert.equal(result.shipped, 2);
        assert.deepEqual(result.deadLetters.map((d) => (d.event as { seq: number }).seq), [1, 2]);
        assert.match(result.deadLetters[0]!.reason, /forbidden project \(HTTP 403\).*"acme"/);
        assert.deepEqual(bridge.accepted.map((e) => e.seq), [0, 3]);
      } finally {
        shipper.close();
      }
    },
  );
});

Deno.test("Shipper.deliver() stops waiting when its signal aborts", async () => {
  const stop = new AbortController();
  await withBridge(
    () => new Response(null, { status: 503, headers: { "retry-after": "60" } }),
    async (bridge) => {
      const shipper = createShipper({ endpoint: bridge.url, signal: stop.signal, log: () => {} });
      try {
        setTimeout(() => stop.abort(), 100);
        const started = performance.now();
        await assert.rejects(
          shipper.deliver(lines(1)),
          (error: unknown) => error instanceof DeliveryError && error.aborted,
        );
        assert.ok(performance.now() - started < 5_000);
      } finally {
        shipper.close();
      }
    },
  );
});

Deno.test("classifyResponse() reads the bridge's answers", async (t) => {
  await t.step("Retry-After as an HTTP date", async () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    const outcome = await classifyResponse(
      new Response("", {
        status: 429,
        headers: { "retry-after": "Thu, 01 Jan 2026 00:00:07 GMT" },
      }),
      now,
    );
    assert.deepEqual(outcome, {
      kind: "retry",
      status: 429,
      error: "HTTP 429",
      retryAfterMs: 7000,
    });
  });
  await t.step("403 is an auth problem, 404 a retry (wrong URL, fixable)", async () => {
    assert.equal((await classifyResponse(new Response("no", { status: 403 }))).kind, "auth");
    assert.equal((await classifyResponse(new Response("no", { status: 404 }))).kind, "retry");
    const foreign = await classifyResponse(
      Response.json({ error: "no", details: { reason: "forbidden_project", project_id: "a" } }, {
        status: 403,
      }),
    );
    assert.deepEqual(foreign, {
      kind: "forbidden_project",
      status: 403,
      error: "no",
      projectId: "a",
    });
  });
  await t.step("a 2xx that is not JSON counts as all accepted", async () => {
    const outcome = await classifyResponse(new Response("ok", { status: 202 }));
    assert.equal(outcome.kind, "ok");
    assert.deepEqual(outcome.kind === "ok" && outcome.rejected, []);
  });
});

Deno.test("classifyResponse() decides from the reason in REJECTIONS, else from the status", async () => {
  const answer = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    classifyResponse(new Response(JSON.stringify(body), { status, headers }), 0);
  assert.equal((await answer(400, { error: "x", reason: "malformed" })).kind, "unreadable");
  assert.equal(
    (await answer(400, { error: "x", reason: "invalid", rejected: [{ index: 0, error: "e" }] }))
      .kind,
    "invalid",
  );
  // Events Chroma refused on their own: dead letters, never retried.
  const refused = await answer(400, {
    error: "x",
    reason: "store_refused",
    rejected: [{ index: 0, error: "Cannot store the event: refused", reason: "store_refused" }],
  });
  assert.equal(refused.kind, "invalid");
  assert.deepEqual(refused.kind === "invalid" && refused.rejected, [
    { index: 0, error: "Cannot store the event: refused" },
  ]);
  const some = await answer(200, {
    accepted: 1,
    duplicates: 0,
    rejected: [{ index: 1, error: "Cannot store the event: refused", reason: "store_refused" }],
  });
  assert.deepEqual(some.kind === "ok" && some.rejected.map((r) => r.index), [1]);
  assert.equal((await answer(413, { error: "x", reason: "too_large" })).kind, "too_large");
  assert.equal((await answer(401, { error: "x", reason: "unauthorized" })).kind, "auth");
  assert.equal(
    (await answer(403, { error: "x", reason: "forbidden_project", details: { project_id: "a" } }))
      .kind,
    "forbidden_project",
  );
  const full = await answer(429, { error: "x", reason: "queue_full" }, { "retry-after": "1" });
  assert.equal(full.kind, "retry");
  assert.equal(full.kind === "retry" && full.retryAfterMs, 1_000);
  // A reason that disagrees with the status, or none (a proxy): the status decides.
  assert.equal((await answer(503, { error: "x", reason: "invalid" })).kind, "retry");
  assert.equal((await answer(413, "<html>")).kind, "too_large");
});
