/**
 * Claude Code's own costs (the `claude_code.api_request` records of its OpenTelemetry export) in
 * `GET /usage`, on a real bridge and a real Chroma: the real CLI's export, turned into telemetry
 * events by the VM's code, shows beside the transcript-derived cost, per session and model,
 * counted once per request however often it is delivered, and adds nothing to agent_state.
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
import { readTranscriptUsage } from "../../hooks/pipeline/usage/transcript_reader.ts";
import { usageEvent } from "../../hooks/pipeline/usage/usage_event_builder.ts";
import type { AgentState } from "../agent_state.ts";
import { startTestChroma } from "../testing/chroma.ts";
import { startTestBridge, type TestBridge } from "../testing/bridge.ts";
import { roundUsd } from "./cost.ts";
import type { UsageReport } from "./report.ts";

const OTEL = new URL("../../testdata/claude-code/otel-2.1.328/", import.meta.url);
const TRANSCRIPT = new URL("../../testdata/claude-code/transcript.jsonl", import.meta.url).pathname;
const SESSION = "b06a780f-2d5d-4fb6-8386-44587fd65b3e";
const CONTEXT = { run_id: "run-1", project_id: "acme", worker_id: "vm-1" };
/** The relay's clock, a few seconds after the session: records keep their own times. */
const NOW = Date.parse("2026-12-03T18:12:00.000Z");

type Json = Record<string, unknown>;

async function ingest(bridge: TestBridge, events: readonly Event[]): Promise<void> {
  for (let i = 0; i < events.length; i += 200) {
    const response = await fetch(bridge.ingestUrl, {
      method: "POST",
      headers: { authorization: `Bearer ${bridge.ingestKey}` },
      body: JSON.stringify(events.slice(i, i + 200)),
    });
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
  }
}

async function usage(bridge: TestBridge, query: string): Promise<UsageReport> {
  const response = await fetch(`${bridge.url}/usage?${query}`, {
    headers: { authorization: `Bearer ${bridge.readKey}` },
  });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return body as UsageReport;
}

Deno.test("GET /usage shows Claude Code's reported cost beside the transcript's, once per request", async () => {
  const redactor = await createRedactor({ mode: "standard" });
  const logBodies: Json[] = JSON.parse(await Deno.readTextFile(new URL("logs.json", OTEL)));
  const metricBodies: Json[] = JSON.parse(await Deno.readTextFile(new URL("metrics.json", OTEL)));
  const payloads = [
    ...logBodies.flatMap(payloadsFromLogs),
    ...metricBodies.flatMap(payloadsFromMetrics),
  ];
  const telemetry = await Promise.all(
    payloads.map((p) => telemetryEvent(p, CONTEXT, { redactor, now: NOW })),
  );

  // What the fixture says Claude Code reported: each request once.
  const requests = new Map<string, { cost: number; input: number; output: number }>();
  for (const p of payloads) {
    if (p.name !== "claude_code.api_request") continue;
    const a = p.attributes as Json;
    requests.set(String(a.request_id), {
      cost: Number(a.cost_usd),
      input: Number(a.input_tokens),
      output: Number(a.output_tokens),
    });
  }
  assert.ok(requests.size >= 3, `only ${requests.size} requests in the fixture`);
  const reportedCost = roundUsd([...requests.values()].reduce((sum, r) => sum + r.cost, 0));
  const reportedInput = [...requests.values()].reduce((sum, r) => sum + r.input, 0);

  const transcript = (await readTranscriptUsage(TRANSCRIPT)).messages;
  const usageEvents = await Promise.all(
    transcript.map((m) =>
      usageEvent(m, { ...CONTEXT, session_id: SESSION }, { redactor, transcript: "main" })
    ),
  );

  const chroma = await startTestChroma();
  try {
    await using bridge = await startTestBridge({ chroma });
    await ingest(bridge, [...telemetry, ...usageEvents]);
    // A redelivery, and a second export of the same records (new event ids, same hashes), add
    // nothing.
    await ingest(bridge, telemetry);
    const again = await Promise.all(
      payloads.map((p) => telemetryEvent(p, CONTEXT, { redactor, now: NOW })),
    );
    await ingest(bridge, again);

    const bySession = await usage(bridge, "group_by=session");
    const session = bySession.groups.find((g) => g.key.session === SESSION)!;
    assert.ok(session, JSON.stringify(bySession.groups));
    assert.equal(session.messages, 2, "the transcript's responses, counted as before");
    assert.equal(session.claude_code?.requests, requests.size);
    assert.equal(session.claude_code?.cost_usd, reportedCost);
    assert.equal(session.claude_code?.input_tokens, reportedInput);
    assert.equal(session.cost_difference_usd, roundUsd(reportedCost - session.cost_usd!));
    assert.deepEqual(bySession.totals.claude_code, session.claude_code);

    const byModel = await usage(bridge, "group_by=model");
    const opus = byModel.groups.find((g) => g.key.model === "claude-opus-5-5")!;
    assert.equal(opus.messages, 0, "no transcript response of this model");
    assert.equal(opus.claude_code?.cost_usd, reportedCost);
    assert.equal(opus.cost_difference_usd, null, "nothing computed to compare with");
    const sonnet = byModel.groups.find((g) => g.key.model === "claude-sonnet-4-5")!;
    assert.equal(sonnet.claude_code, null);

    const other = await usage(bridge, "session_id=no-such-session");
    assert.equal(other.totals.claude_code, null);

    const metrics = await (await fetch(`${bridge.url}/metrics`, {
      headers: { authorization: `Bearer ${bridge.readKey}` },
    })).text();
    const sample = (name: string) =>
      Number(metrics.match(new RegExp(`^${name}\\{model="claude-opus-5-5"\\} (\\S+)$`, "m"))?.[1]);
    assert.equal(sample("zo_claude_code_api_requests_total"), requests.size);
    assert.equal(roundUsd(sample("zo_claude_code_cost_usd_total")), reportedCost);
    assert.match(
      metrics,
      /^zo_claude_code_tokens_total\{model="claude-opus-5-5",type="input"\} \d+/m,
    );
    assert.match(metrics, /^zo_claude_code_tool_results_total\{success="true"\} \d+/m);
    assert.doesNotMatch(metrics, new RegExp(SESSION), "no session label");

    await bridge.flushAgentState();
    const response = await fetch(
      `${bridge.url}/query?collection=agent_state&session_id=${SESSION}`,
      { headers: { authorization: `Bearer ${bridge.readKey}` } },
    );
    const states = (await response.json()).results as AgentState[];
    const state = states.find((s) => s.scope === "session")!;
    assert.equal(state.usage?.messages, 2, "Claude Code's reports add nothing to agent_state");
  } finally {
    await chroma.stop();
  }
});
