/**
 * Claude Code's own telemetry in the session view: the real CLI's OpenTelemetry export, turned
 * into telemetry events by the VM's code, interleaved with a session's hook events. The API
 * requests show as rows of their own (duration, time to first token, cost in the message); the
 * rest of the telemetry only when the filter asks for it; tool calls still come from the hooks.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createRedactor } from "../../shared/redact.ts";
import type { Event } from "../../shared/schema.ts";
import {
  payloadsFromLogs,
  payloadsFromMetrics,
} from "../../hooks/pipeline/otel/telemetry_payloads.ts";
import { telemetryEvent } from "../../hooks/pipeline/otel/telemetry_event.ts";
import { fixtureSession } from "../testing/dashboard_session.ts";
import { eventLabel, sessionFacts } from "./static/session_model.js";
import { buildTimeline, eventsOf, filterTimeline } from "./static/timeline_model.js";

const OTEL = new URL("../../testdata/claude-code/otel-2.1.328/", import.meta.url);
const SESSION = "b06a780f-2d5d-4fb6-8386-44587fd65b3e";

async function telemetry(): Promise<Event[]> {
  const redactor = await createRedactor({ mode: "standard" });
  const logs = JSON.parse(await Deno.readTextFile(new URL("logs.json", OTEL)));
  const metrics = JSON.parse(await Deno.readTextFile(new URL("metrics.json", OTEL)));
  const payloads = [...logs.flatMap(payloadsFromLogs), ...metrics.flatMap(payloadsFromMetrics)];
  const now = Date.parse("2026-12-03T18:12:00.000Z");
  return await Promise.all(
    payloads.map((p) => telemetryEvent(p, { run_id: "run-1" }, { redactor, now })),
  );
}

Deno.test("the session timeline shows Claude Code's API requests among the hook events, the rest on request", async () => {
  const hooks = await fixtureSession({ run_id: "run-1", session_id: SESSION });
  const otel = await telemetry();
  const requests = otel.filter((e) =>
    (e.data as { name: string }).name === "claude_code.api_request"
  );
  assert.ok(requests.length > 3);
  const alone = buildTimeline(hooks);
  const model = buildTimeline([...hooks, ...otel]);
  assert.equal(model.tools, alone.tools, "tool calls come from the hooks, not the telemetry");
  assert.equal(model.events, hooks.length + otel.length, "every event is in the model");

  const shown = filterTimeline(model.items, {}).flatMap(eventsOf);
  const shownTelemetry = shown.filter((e) => e.event_type === "telemetry");
  assert.deepEqual(
    shownTelemetry.map((e) => e.event_id).sort(),
    requests.map((e) => e.event_id).sort(),
    "only the API requests, by default",
  );
  assert.equal(shown.filter((e) => e.event_type !== "telemetry").length, hooks.length);
  const request = shownTelemetry[0]!;
  assert.equal(eventLabel(request), "API request");
  assert.match(
    request.msg ?? "",
    /^API request claude-opus-5-5: .*\$\d\.\d{4}, \d+ ms, first token \d+ ms$/,
  );

  const asked = filterTimeline(model.items, { event_type: "telemetry" }).flatMap(eventsOf);
  assert.equal(asked.length, otel.length, "the filter shows all of it");
  const result = otel.find((e) => (e.data as { name: string }).name === "claude_code.tool_result")!;
  assert.equal(eventLabel(result), "tool_result");
});

Deno.test("sessionFacts() shows Claude Code's reported cost beside the computed one", async () => {
  const timeline = buildTimeline(await fixtureSession({ run_id: "run-1", session_id: SESSION }));
  const totals = {
    messages: 2,
    input_tokens: 1_500,
    output_tokens: 405,
    cache_creation_input_tokens: 5_000,
    cache_read_input_tokens: 6_200,
    total_tokens: 13_105,
    cost_usd: 0.031185,
    cost_complete: true,
    claude_code: { requests: 13, total_tokens: 20_000, cost_usd: 0.041185 },
    cost_difference_usd: 0.01,
  };
  const usage = { totals, groups: [], truncated: false, unknown_models: [], prices: {} };
  const facts = sessionFacts({ sessionId: SESSION, timeline, now: Date.now(), usage });
  const fact = facts.find((f) => f.term === "Claude Code's cost");
  assert.ok(fact, JSON.stringify(facts));
  assert.match(
    fact.text,
    /^\$0\.04\d* over 13 API requests \(\+\$0\.01\d* against the computed\)$/,
  );
  const without = sessionFacts({
    sessionId: SESSION,
    timeline,
    now: Date.now(),
    usage: { ...usage, totals: { ...totals, claude_code: null, cost_difference_usd: null } },
  });
  assert.equal(without.some((f) => f.term === "Claude Code's cost"), false);
});
