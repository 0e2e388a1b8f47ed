import assert from "node:assert/strict";
import { payloadsFromLogs, payloadsFromMetrics } from "./telemetry_payloads.ts";
import { attributesOf, isoTimeOf, valueOf } from "./otlp_values.ts";

const OTEL = new URL("../../../testdata/claude-code/otel-2.1.328/", import.meta.url);
const logBodies = JSON.parse(await Deno.readTextFile(new URL("logs.json", OTEL)));
const metricBodies = JSON.parse(await Deno.readTextFile(new URL("metrics.json", OTEL)));

Deno.test("payloadsFromLogs() gives one payload per record of the real CLI's export, with its session", () => {
  const payloads = logBodies.flatMap(payloadsFromLogs);
  let records = 0;
  for (const body of logBodies) {
    for (const rl of body.resourceLogs) {
      for (const sl of rl.scopeLogs) records += sl.logRecords.length;
    }
  }
  assert.equal(payloads.length, records);
  assert.ok(records > 100, `only ${records} records in the fixture`);
  const sessions = new Set(payloads.map((p: Record<string, unknown>) => p.session_id));
  assert.deepEqual([...sessions], ["b06a780f-2d5d-4fb6-8386-44587fd65b3e"]);
  const request = payloads.find((p: Record<string, unknown>) =>
    p.name === "claude_code.api_request"
  );
  assert.equal(request.signal, "log");
  assert.equal(request.time, "2026-12-03T18:11:32.155Z");
  assert.equal(request.attributes.model, "claude-opus-5-5");
  assert.equal(request.attributes.cost_usd, 0.022424);
  assert.equal(request.attributes.input_tokens, 296, "an intValue string becomes a number");
  assert.equal(request.attributes.request_id, "req_01FAKE000349addfc6ef9712bbef");
  assert.equal(request.resource["service.version"], "2.1.328");
  assert.deepEqual(request.scope, { name: "com.anthropic.claude_code.events", version: "2.1.328" });
  assert.equal(request.body, undefined, "a body that is the name is not kept twice");
});

Deno.test("payloadsFromMetrics() gives one payload per data point, with kind, temporality and value", () => {
  const payloads = metricBodies.flatMap(payloadsFromMetrics);
  const cost = payloads.filter((p: Record<string, unknown>) => p.name === "claude_code.cost.usage");
  assert.ok(cost.length >= 4);
  assert.equal(cost[0].kind, "sum");
  assert.equal(cost[0].temporality, "delta");
  assert.equal(cost[0].monotonic, true);
  assert.equal(cost[0].unit, "USD");
  assert.equal(cost[0].value, 0.030379);
  assert.equal(cost[0].session_id, "b06a780f-2d5d-4fb6-8386-44587fd65b3e");
  assert.match(cost[0].start_time, /^2026-12-03T/);
  const tokens = payloads.filter((p: Record<string, unknown>) =>
    p.name === "claude_code.token.usage"
  );
  assert.deepEqual(
    [...new Set(tokens.map((p: { attributes: { type: string } }) => p.attributes.type))].sort(),
    ["cacheCreation", "cacheRead", "input", "output"],
  );
});

Deno.test("payloadsFromMetrics() keeps cumulative temporality, gauges and histograms", () => {
  const point = {
    attributes: [{ key: "session.id", value: { stringValue: "s-1" } }],
    timeUnixNano: "1796321491625000000",
  };
  const request = {
    resourceMetrics: [{
      resource: { attributes: [] },
      scopeMetrics: [{
        metrics: [
          {
            name: "a",
            sum: {
              aggregationTemporality: 2,
              isMonotonic: true,
              dataPoints: [{ ...point, asInt: "12" }],
            },
          },
          { name: "b", gauge: { dataPoints: [{ ...point, asDouble: 0.5 }] } },
          {
            name: "c",
            histogram: {
              aggregationTemporality: 1,
              dataPoints: [{ ...point, count: "3", sum: 7.5, min: 1, max: 4 }],
            },
          },
        ],
      }],
    }],
  };
  const [a, b, c] = payloadsFromMetrics(request);
  assert.equal(a!.temporality, "cumulative");
  assert.equal(a!.value, 12);
  assert.equal(b!.kind, "gauge");
  assert.equal(b!.temporality, undefined);
  assert.equal(b!.value, 0.5);
  assert.deepEqual(c!.value, { count: 3, sum: 7.5, min: 1, max: 4 });
  assert.equal(c!.session_id, "s-1");
});

Deno.test("OTLP values: 64-bit integers, nesting, bytes and times", () => {
  assert.equal(
    valueOf({ intValue: "9007199254740993" }),
    "9007199254740993",
    "unsafe stays a string",
  );
  assert.equal(valueOf({ intValue: 5 }), 5);
  assert.deepEqual(
    valueOf({ arrayValue: { values: [{ boolValue: true }, { doubleValue: 1.5 }] } }),
    [true, 1.5],
  );
  assert.deepEqual(
    attributesOf([{
      key: "k",
      value: { kvlistValue: { values: [{ key: "x", value: { stringValue: "y" } }] } },
    }]),
    { k: { x: "y" } },
  );
  // A hostile exporter nests arrays deeply: the reader stops, it does not recurse without end.
  let deep: Record<string, unknown> = { stringValue: "bottom" };
  for (let i = 0; i < 10_000; i++) deep = { arrayValue: { values: [deep] } };
  let cut = valueOf(deep);
  let depth = 0;
  while (Array.isArray(cut)) {
    cut = cut[0];
    depth++;
  }
  assert.equal(cut, null);
  assert.ok(depth <= 16);
  assert.equal(isoTimeOf("1796321491625000000"), "2026-12-03T18:11:31.625Z");
  assert.equal(isoTimeOf("0"), undefined);
  assert.equal(isoTimeOf("not a time"), undefined);
  assert.equal(attributesOf(undefined as never).constructor, Object);
});
