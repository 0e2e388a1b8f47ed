/**
 * `GET /usage` and agent_state usage over HTTP, on real bridges and a real Chroma: the fixture's
 * expected totals, a response seen twice anywhere (redelivery, two bridges, partial then final
 * readings, a resumed session) counted once at its maximum, unknown models, an override price
 * table, project-bound keys, and every bad parameter.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createRedactor } from "../../shared/redact.ts";
import type { Event } from "../../shared/schema.ts";
import { parsePrices } from "./prices.ts";
import { readTranscriptUsage } from "../../hooks/pipeline/usage/transcript_reader.ts";
import type { MessageUsage } from "../../hooks/pipeline/usage/transcript_line.ts";
import { type UsageContext, usageEvent } from "../../hooks/pipeline/usage/usage_event_builder.ts";
import type { AgentState } from "../agent_state.ts";
import { startTestChroma } from "../testing/chroma.ts";
import { startTestBridge, type TestBridge, testKey } from "../testing/bridge.ts";
import type { UsageReport } from "./report.ts";

const FIXTURE = new URL("../../testdata/claude-code/transcript.jsonl", import.meta.url).pathname;
const EXPECTED = {
  messages: 2,
  input_tokens: 1500,
  output_tokens: 405,
  cache_creation_input_tokens: 5000,
  cache_read_input_tokens: 6200,
};

type Json = Record<string, unknown>;

async function get(bridge: TestBridge, path: string, key: string) {
  const response = await fetch(`${bridge.url}${path}`, {
    headers: { authorization: `Bearer ${key}` },
  });
  return { status: response.status, body: await response.json() as Json };
}

async function ingest(bridge: TestBridge, events: readonly Event[], key = bridge.ingestKey) {
  const response = await fetch(bridge.ingestUrl, {
    method: "POST",
    headers: { authorization: `Bearer ${key}` },
    body: JSON.stringify(events),
  });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return body as { accepted: number; duplicates: number };
}

async function events(
  messages: readonly MessageUsage[],
  context: Partial<UsageContext> = {},
): Promise<Event[]> {
  const redactor = await createRedactor({ mode: "standard" });
  const full: UsageContext = {
    session_id: "s-1",
    run_id: "run-1",
    project_id: "acme",
    worker_id: "vm-1",
    ...context,
  };
  return await Promise.all(
    messages.map((m) => usageEvent(m, full, { redactor, transcript: "main" })),
  );
}

const pick = (report: Json) => {
  const totals = (report as unknown as UsageReport).totals;
  return {
    messages: totals.messages,
    input_tokens: totals.input_tokens,
    output_tokens: totals.output_tokens,
    cache_creation_input_tokens: totals.cache_creation_input_tokens,
    cache_read_input_tokens: totals.cache_read_input_tokens,
  };
};

Deno.test("GET /usage counts every response once, wherever and however often it is seen", async (t) => {
  const chroma = await startTestChroma();
  const readAcme = testKey("read");
  const ingestOther = testKey("ingest");
  const keys = `read@acme:${readAcme},ingest@other:${ingestOther}`;
  try {
    await using one = await startTestBridge({ chroma, keys });
    await using two = await startTestBridge({ chroma });
    const fixture = (await readTranscriptUsage(FIXTURE)).messages;

    await t.step("the fixture gives the README's totals and cost", async () => {
      await ingest(one, await events(fixture));
      const { status, body } = await get(one, "/usage", one.readKey);
      assert.equal(status, 200, JSON.stringify(body));
      assert.deepEqual(pick(body), EXPECTED);
      const report = body as unknown as UsageReport;
      assert.equal(report.totals.cost_usd, 0.031185);
      assert.deepEqual(report.groups.map((g) => g.key), [{ day: "2026-11-20" }]);
      assert.equal(report.prices.source, "builtin");
    });

    await t.step("redelivery, a second bridge, a partial reading, a resumed session", async () => {
      const again = await events(fixture);
      assert.equal((await ingest(one, again)).duplicates, 2, "same readings, same event ids");
      // A second bridge on the same Chroma sees an earlier, partial reading of msg_2...
      const partial = fixture.map((m) =>
        m.message_id === "msg_2" ? { ...m, output_tokens: 1, ts_ms: m.ts_ms! - 1000 } : m
      );
      await ingest(two, await events(partial));
      // ...and a resumed session re-reads the transcript under a new session id.
      await ingest(two, await events(fixture, { session_id: "s-resumed", run_id: "run-9" }));
      const { body } = await get(two, "/usage?group_by=session", two.readKey);
      assert.deepEqual(pick(body), EXPECTED);
      const report = body as unknown as UsageReport;
      assert.deepEqual(report.groups.map((g) => g.key.session), ["s-1"], "first owner keeps it");
      assert.equal(report.totals.first_ts, "2026-11-20T10:00:05.000Z");
      const resumed = await get(one, "/usage?session_id=s-resumed", one.readKey);
      assert.equal((resumed.body as unknown as UsageReport).totals.messages, 0);
    });

    await t.step("agent_state records carry the usage, each response once", async () => {
      await one.flushAgentState();
      await two.flushAgentState();
      const { body } = await get(one, "/query?collection=agent_state&session_id=s-1", one.readKey);
      const states = body.results as AgentState[];
      const session = states.find((s) => s.scope === "session")!;
      assert.ok(session, JSON.stringify(states));
      assert.deepEqual(session.usage, EXPECTED);
      const all = await get(one, "/query?collection=agent_state&project_id=acme", one.readKey);
      const project = (all.body.results as AgentState[]).find((s) => s.scope === "project")!;
      assert.deepEqual(project.usage, EXPECTED);
      const resumed = (all.body.results as AgentState[]).find((s) => s.session_id === "s-resumed");
      assert.equal(resumed?.usage, undefined, "a re-read raised nothing");
    });

    await t.step("unknown models are counted and flagged, never priced", async () => {
      await ingest(
        one,
        await events([{ ...fixture[0]!, message_id: "msg_x", model: "claude-x-1" }]),
      );
      const { body } = await get(one, "/usage?group_by=model", one.readKey);
      const report = body as unknown as UsageReport;
      assert.deepEqual(report.unknown_models, ["claude-x-1"]);
      assert.equal(report.totals.cost_complete, false);
      assert.equal(report.totals.cost_usd, 0.031185);
      const unknown = report.groups.find((g) => g.key.model === "claude-x-1")!;
      assert.equal(unknown.cost_usd, null);
      assert.equal(unknown.input_tokens, 1200);
    });

    await t.step("a project-bound key sees only its project", async () => {
      await ingest(one, await events(fixture, { project_id: "other" }), ingestOther);
      const all = await get(one, "/usage?group_by=project", one.adminKey);
      assert.deepEqual(
        (all.body as unknown as UsageReport).groups.map((g) => g.key.project),
        ["acme", "other"],
      );
      const bound = await get(one, "/usage?group_by=project", readAcme);
      assert.equal(bound.status, 200);
      const report = bound.body as unknown as UsageReport;
      assert.deepEqual(report.groups.map((g) => g.key.project), ["acme"]);
      assert.equal(report.filters.project_id, "acme");
      const denied = await get(one, "/usage?project_id=other", readAcme);
      assert.equal(denied.status, 403);
      assert.match(String(denied.body.error), /may only read project "acme"/);
      const ingestOnly = await get(one, "/usage", one.ingestKey);
      assert.equal(ingestOnly.status, 403);
    });

    await t.step("bad parameters are 400 with the reason", async () => {
      for (const query of ["group_by=week", "since=soon", "limit=0", "x=1", "run_id=a&run_id=b"]) {
        const { status, body } = await get(one, `/usage?${query}`, one.readKey);
        assert.equal(status, 400, query);
        assert.match(String(body.error), /^Cannot report usage: /);
        assert.deepEqual(body.details, { reason: "bad_query" });
      }
      const post = await fetch(`${one.url}/usage`, {
        method: "POST",
        headers: { authorization: `Bearer ${one.readKey}` },
      });
      await post.body?.cancel();
      assert.equal(post.status, 405);
    });

    await t.step("an operator-like filter is only ever compared", async () => {
      const { status, body } = await get(
        one,
        `/usage?session_id=${encodeURIComponent('{"$ne":"x"}')}`,
        one.readKey,
      );
      assert.equal(status, 200);
      assert.equal((body as unknown as UsageReport).totals.messages, 0);
    });
  } finally {
    await chroma.stop();
  }
});

Deno.test("GET /usage prices with the table the app was given", async () => {
  const prices = parsePrices(
    JSON.stringify({
      version: "override-7",
      effective: "2026-12-01",
      currency: "USD",
      unit: "per million tokens",
      models: { "claude-sonnet-4-5": { input: 1, output: 1, cache_write: 1, cache_read: 1 } },
    }),
    "override.json",
  );
  await using bridge = await startTestBridge({ app: { prices } });
  await ingest(bridge, await events((await readTranscriptUsage(FIXTURE)).messages));
  const { body } = await get(bridge, "/usage?group_by=model", bridge.readKey);
  const report = body as unknown as UsageReport;
  assert.equal(report.totals.cost_usd, 0.013105);
  assert.equal(report.prices.version, "override-7");
  assert.equal(report.prices.source, "file");
});
