import assert from "node:assert/strict";
import { createHookPipeline } from "../hook_pipeline.ts";
import { LAYOUT, listSegments, segmentPath } from "../spool.ts";
import { startHttpHookServer } from "../relay/http_hook_server.ts";
import { readJsonl, testConfig } from "../../testing/relay.ts";
import { encodeExportRequest } from "./otlp_protobuf.ts";
import { RETRY_AFTER_SECONDS } from "./otlp_route.ts";

const OTEL = new URL("../../../testdata/claude-code/otel-2.1.328/", import.meta.url);
const logBodies: Record<string, unknown>[] = JSON.parse(
  await Deno.readTextFile(new URL("logs.json", OTEL)),
);
const metricBodies: Record<string, unknown>[] = JSON.parse(
  await Deno.readTextFile(new URL("metrics.json", OTEL)),
);
const SESSION = "b06a780f-2d5d-4fb6-8386-44587fd65b3e";

type Post = (path: string, body: BodyInit, headers?: Record<string, string>) => Promise<Response>;

async function spooled(logDir: string): Promise<Record<string, unknown>[]> {
  const events = [];
  for (const name of await listSegments(logDir)) {
    events.push(...await readJsonl(segmentPath(logDir, name)));
  }
  return events;
}

/** The relay's loopback endpoint over a fresh log dir, as the relay runs it. */
async function withRelayEndpoint(fn: (post: Post, logDir: string) => Promise<void>) {
  const logDir = await Deno.makeTempDir();
  const pipeline = await createHookPipeline(testConfig(logDir), {
    host: "vm-7.internal",
    onError: () => {},
  });
  const server = startHttpHookServer(pipeline, { port: 0 });
  try {
    await fn(
      (path, body, headers = { "content-type": "application/json" }) =>
        fetch(`http://127.0.0.1:${server.port}${path}`, { method: "POST", headers, body }),
      logDir,
    );
  } finally {
    await server.shutdown();
    await Deno.remove(logDir, { recursive: true });
  }
}

function recordCount(bodies: Record<string, unknown>[], signal: "logs" | "metrics"): number {
  let count = 0;
  for (const body of bodies) {
    const text = JSON.stringify(body);
    count += signal === "logs"
      ? (text.match(/"observedTimeUnixNano"/g) ?? []).length
      : (text.match(/"startTimeUnixNano"/g) ?? []).length;
  }
  return count;
}

async function gzip(text: string | Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([text as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** What an event says, without what each delivery (and each fresh log dir) mints anew. */
function content(event: Record<string, unknown>): unknown {
  const { event_id: _, ts: __, hash: ___, run_id: ____, ...rest } = event;
  return rest;
}

Deno.test("relay OTLP: the real CLI's log and metric bodies become telemetry events of its session", async () => {
  await withRelayEndpoint(async (post, logDir) => {
    for (const body of logBodies) {
      const response = await post("/v1/logs", JSON.stringify(body));
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), "application/json");
      assert.deepEqual(await response.json(), {}, "a full success is an empty response");
    }
    for (const body of metricBodies) {
      const response = await post("/v1/metrics", JSON.stringify(body));
      assert.equal(response.status, 200);
      await response.body?.cancel();
    }
    const events = await spooled(logDir);
    const logs = events.filter((e) => (e.data as { signal: string }).signal === "log");
    const metrics = events.filter((e) => (e.data as { signal: string }).signal === "metric");
    assert.equal(logs.length, recordCount(logBodies, "logs"));
    assert.equal(metrics.length, recordCount(metricBodies, "metrics"));
    assert.ok(events.every((e) => e.event_type === "telemetry" && e.session_id === SESSION));
    assert.equal(new Set(events.map((e) => e.run_id)).size, 1, "one run: the session's");

    const request = logs.find((e) =>
      (e.data as { name: string }).name === "claude_code.api_request"
    )!;
    assert.equal(request.prompt_id, "d9fe3ac7-2572-4fb7-bfc9-718e1386967e");
    assert.equal(request.level, "info");
    assert.match(
      String(request.msg),
      /^API request claude-opus-5-5: 296 in, 37 out, .*\$0\.0224, 84 ms/,
    );
    const attributes = (request.data as { attributes: Record<string, unknown> }).attributes;
    assert.equal(attributes.cost_usd, 0.022424);
    assert.equal(attributes.ttft_ms, 22);

    const result = logs.find((e) =>
      (e.data as { name: string }).name === "claude_code.tool_result"
    )!;
    assert.equal(result.tool_name, "Bash");
    assert.equal(result.tool_use_id, "toolu_01FAKE0001cd3810544a6274c5a2");
    assert.match(String(result.msg), /^Tool Bash succeeded in 136 ms$/);
    const subagent = logs.find((e) =>
      (e.data as { name: string }).name === "claude_code.subagent_completed"
    )!;
    assert.equal(subagent.agent_id, "aa234af401ade2238");
    const hook = logs.find((e) =>
      (e.data as { name: string }).name === "claude_code.hook_execution_start"
    )!;
    assert.equal(hook.level, "debug");
    const cost = metrics.find((e) =>
      (e.data as { name: string }).name === "claude_code.cost.usage"
    )!;
    assert.equal((cost.data as { value: number }).value, 0.030379);
    assert.match(
      String(cost.msg),
      /^claude_code\.cost\.usage \+0\.030379 USD \(claude-opus-5-5\)$/,
    );
  });
});

Deno.test("relay OTLP: protobuf and gzip bodies give the same events as JSON, answered in kind", async () => {
  const seen: Record<string, unknown[]> = {};
  for (
    const [name, encode] of [
      ["json", (b: Record<string, unknown>) => JSON.stringify(b)],
      ["protobuf", (b: Record<string, unknown>) => encodeExportRequest("logs", b)],
    ] as const
  ) {
    for (const zipped of [false, true]) {
      await withRelayEndpoint(async (post, logDir) => {
        for (const body of logBodies.slice(0, 2)) {
          const raw = encode(body);
          const headers: Record<string, string> = {
            "content-type": name === "json" ? "application/json" : "application/x-protobuf",
          };
          if (zipped) headers["content-encoding"] = "gzip";
          const response = await post(
            "/v1/logs",
            (zipped ? await gzip(raw) : raw) as BodyInit,
            headers,
          );
          assert.equal(response.status, 200, await response.clone().text());
          assert.equal(response.headers.get("content-type"), headers["content-type"]);
          const answer = new Uint8Array(await response.arrayBuffer());
          assert.equal(answer.length, name === "json" ? 2 : 0, "{} or an empty protobuf message");
        }
        seen[`${name}${zipped ? "+gzip" : ""}`] = (await spooled(logDir)).map(content);
      });
    }
  }
  const reference = seen.json!;
  assert.ok(reference.length > 10);
  for (const [variant, events] of Object.entries(seen)) {
    assert.deepEqual(events, reference, `${variant} differs from plain JSON`);
  }
});

Deno.test("relay OTLP: a secret in any attribute is redacted before it is spooled", async () => {
  const secret = "ghp_" + "Q".repeat(4) + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8";
  const body = structuredClone(logBodies[0]!) as {
    resourceLogs: {
      resource: { attributes: unknown[] };
      scopeLogs: { logRecords: { attributes: unknown[] }[] }[];
    }[];
  };
  const record = body.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
  record.attributes.push(
    {
      key: "tool_parameters",
      value: { stringValue: `{"full_command":"git push https://x:${secret}@github.com/a/b"}` },
    },
    {
      key: "nested",
      value: { kvlistValue: { values: [{ key: "token", value: { stringValue: secret } }] } },
    },
    { key: "list", value: { arrayValue: { values: [{ stringValue: `Bearer ${secret}` }] } } },
  );
  body.resourceLogs[0]!.resource.attributes.push({
    key: "env.token",
    value: { stringValue: secret },
  });
  await withRelayEndpoint(async (post, logDir) => {
    const response = await post("/v1/logs", JSON.stringify(body));
    assert.equal(response.status, 200);
    await response.body?.cancel();
    const text = JSON.stringify(await spooled(logDir));
    assert.ok(text.length > 1000);
    assert.ok(!text.includes(secret), "the secret reached the spool");
    assert.ok(!text.includes(secret.slice(4, 20)), "part of the secret reached the spool");
  });
});

Deno.test("relay OTLP: bodies it cannot read get 400, 413 or 415 with a reason and spool nothing", async () => {
  await withRelayEndpoint(async (post, logDir) => {
    const cases: [string, BodyInit, Record<string, string>, number, RegExp][] = [
      ["not JSON", "{", { "content-type": "application/json" }, 400, /Cannot parse the JSON body/],
      ["a JSON array", "[]", { "content-type": "application/json" }, 400, /not a JSON object/],
      ["another type", "x", { "content-type": "text/plain" }, 415, /application\/x-protobuf/],
      [
        "bad gzip",
        "not gzip",
        { "content-type": "application/json", "content-encoding": "gzip" },
        400,
        /gunzip/,
      ],
      [
        "brotli",
        "{}",
        { "content-type": "application/json", "content-encoding": "br" },
        415,
        /content-encoding/,
      ],
      [
        "bad protobuf",
        new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f]),
        { "content-type": "application/x-protobuf" },
        400,
        /protobuf/,
      ],
    ];
    // A gzip bomb: 17 MB of zeros in a few KB; refused once it grows past the bound.
    const bomb = await gzip(new Uint8Array(17 * 1024 * 1024));
    assert.ok(bomb.length < 100_000);
    cases.push([
      "a gzip bomb",
      bomb,
      { "content-type": "application/json", "content-encoding": "gzip" },
      413,
      /after gzip/,
    ]);
    for (const [what, body, headers, status, reason] of cases) {
      const response = await post("/v1/logs", body, headers);
      assert.equal(response.status, status, what);
      assert.match(await response.text(), reason, what);
    }
    assert.deepEqual(await spooled(logDir), []);
  });
});

Deno.test("relay OTLP: when the spool refuses every record, 503 with Retry-After so the exporter retries", async () => {
  await withRelayEndpoint(async (post, logDir) => {
    // The spool directory is a file: nothing can be appended.
    await Deno.mkdir(logDir, { recursive: true });
    await Deno.writeTextFile(`${logDir}/${LAYOUT.spoolDir}`, "not a directory");
    const response = await post("/v1/logs", JSON.stringify(logBodies[0]));
    assert.equal(response.status, 503);
    assert.equal(response.headers.get("retry-after"), String(RETRY_AFTER_SECONDS));
    assert.match((await response.json()).message, /spool refused/);
  });
});
