import assert from "node:assert/strict";
import { createRedactor } from "../../../shared/redact.ts";
import { telemetryEvent, telemetryLevel, telemetrySummary } from "./telemetry_event.ts";

const CONTEXT = { run_id: "run-1", worker_id: "vm-1" };
const request = {
  session_id: "s-1",
  signal: "log",
  name: "claude_code.api_request",
  time: "2026-12-03T18:11:32.155Z",
  attributes: {
    "session.id": "s-1",
    "prompt.id": "p-1",
    model: "claude-opus-5-5",
    input_tokens: 296,
    output_tokens: 37,
    cost_usd: 0.022424,
    duration_ms: 84,
    ttft_ms: 22,
  },
};

Deno.test("telemetryEvent() dates a record by its own time when it is plausible, else by arrival", async () => {
  const redactor = await createRedactor({ mode: "standard" });
  const soon = Date.parse("2026-12-03T18:11:37.000Z");
  const event = await telemetryEvent(request, CONTEXT, { redactor, now: soon });
  assert.equal(event.ts, "2026-12-03T18:11:32.155Z", "sorts among the hook events");
  assert.equal(event.event_type, "telemetry");
  assert.equal(event.session_id, "s-1");
  assert.equal(event.prompt_id, "p-1");
  const late = Date.parse("2026-12-09T00:00:00.000Z");
  const stale = await telemetryEvent(request, CONTEXT, { redactor, now: late });
  assert.equal(stale.ts, "2026-12-09T00:00:00.000Z", "a week-old time is not trusted");
  const { time: _, ...timeless } = request;
  const undated = await telemetryEvent(timeless, CONTEXT, { redactor, now: soon });
  assert.equal(undated.ts, "2026-12-03T18:11:37.000Z");
});

Deno.test("telemetrySummary() and telemetryLevel() say what a record is at a glance", () => {
  assert.equal(
    telemetrySummary(request),
    "API request claude-opus-5-5: 296 in, 37 out, $0.0224, 84 ms, first token 22 ms",
  );
  assert.equal(telemetryLevel(request), "info");
  const error = {
    signal: "log",
    name: "claude_code.api_error",
    attributes: { model: "m", error: "overloaded", status_code: "529" },
  };
  assert.equal(telemetrySummary(error), "API error m: overloaded (status 529)");
  assert.equal(telemetryLevel(error), "error");
  const failed = {
    signal: "log",
    name: "claude_code.tool_result",
    attributes: { tool_name: "Bash", success: "false", duration_ms: "12" },
  };
  assert.equal(telemetrySummary(failed), "Tool Bash failed in 12 ms");
  assert.equal(telemetryLevel(failed), "warn");
  assert.equal(telemetryLevel({ signal: "log", name: "x", severity_number: 17 }), "error");
  assert.equal(
    telemetrySummary({ signal: "log", name: "claude_code.new_thing" }),
    "claude_code.new_thing",
  );
  const point = {
    signal: "metric",
    name: "claude_code.token.usage",
    unit: "tokens",
    temporality: "cumulative",
    value: 916,
    attributes: { model: "m", type: "input" },
  };
  assert.equal(telemetrySummary(point), "claude_code.token.usage =916 tokens (m, input)");
  assert.equal(telemetryLevel(point), "debug");
});
