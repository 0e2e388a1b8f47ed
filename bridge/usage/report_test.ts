import assert from "node:assert/strict";
import { builtinPrices, parsePrices } from "./prices.ts";
import type { UsageQuery } from "./params.ts";
import { countResponses, formatOffset, usageReport } from "./report.ts";
import { messageKey, type UsageRecord } from "./records.ts";

let n = 0;
function record(fields: Partial<UsageRecord> & { message_id: string }): UsageRecord {
  const project = "project_id" in fields ? fields.project_id : "acme";
  const base: UsageRecord = {
    id: `r-${n++}`,
    message_key: messageKey(project, fields.message_id),
    model: "claude-sonnet-4-5",
    run_id: "run-1",
    session_id: "s-1",
    worker_id: "vm-1",
    ts_ms: Date.parse("2026-11-20T10:00:05.000Z"),
    stored_ms: 1_000,
    event_id: `e-${n}`,
    input_tokens: 0,
    output_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    ...fields,
  };
  if (project !== undefined) base.project_id = project;
  else delete base.project_id;
  return base;
}

const query = (q: Partial<UsageQuery> = {}): UsageQuery => ({
  group_by: ["day"],
  filters: {},
  utc_offset_minutes: 0,
  limit: 1000,
  ...q,
});

/** The fixture's two responses, as a bridge stores their readings (partial output first). */
const FIXTURE: UsageRecord[] = [
  record({
    message_id: "msg_1",
    input_tokens: 1200,
    output_tokens: 310,
    cache_creation_input_tokens: 5000,
  }),
  record({
    message_id: "msg_2",
    input_tokens: 300,
    output_tokens: 1,
    cache_read_input_tokens: 6200,
    ts_ms: Date.parse("2026-11-20T10:00:12.000Z"),
  }),
  record({
    message_id: "msg_2",
    input_tokens: 300,
    output_tokens: 95,
    cache_read_input_tokens: 6200,
    ts_ms: Date.parse("2026-11-20T10:00:13.000Z"),
    stored_ms: 2_000,
  }),
];

Deno.test("usageReport() gives the fixture's expected totals and cost", () => {
  const report = usageReport(FIXTURE, { query: query(), prices: builtinPrices() });
  assert.deepEqual(report.totals, {
    messages: 2,
    input_tokens: 1500,
    output_tokens: 405,
    cache_creation_input_tokens: 5000,
    cache_read_input_tokens: 6200,
    total_tokens: 13105,
    cost_usd: 0.031185,
    cost_by_field_usd: {
      input: 0.0045,
      output: 0.006075,
      cache_creation: 0.01875,
      cache_read: 0.00186,
    },
    cost_complete: true,
    unpriced_messages: 0,
    unknown_models: [],
    models: ["claude-sonnet-4-5"],
    first_ts: "2026-11-20T10:00:05.000Z",
    last_ts: "2026-11-20T10:00:12.000Z",
    claude_code: null,
    cost_difference_usd: null,
  });
  assert.deepEqual(report.groups.map((g) => g.key), [{ day: "2026-11-20" }]);
  assert.equal(report.prices.source, "builtin");
});

Deno.test("countResponses() counts a response once, at its max per field, by its first owner", () => {
  const records = [
    record({ message_id: "m", output_tokens: 5, input_tokens: 9, session_id: "s-b", stored_ms: 9 }),
    record({ message_id: "m", output_tokens: 7, input_tokens: 3, session_id: "s-a", stored_ms: 5 }),
    record({ message_id: "m", output_tokens: 6, session_id: "s-c", stored_ms: 5 }),
  ];
  const [response, ...rest] = countResponses(records);
  assert.equal(rest.length, 0);
  assert.equal(response!.output_tokens, 7);
  assert.equal(response!.input_tokens, 9);
  assert.equal(response!.session_id, "s-a", "the earliest stored, then the smallest session");
  // The same message id in another project is another response.
  assert.equal(
    countResponses([...records, record({ message_id: "m", project_id: "other" })]).length,
    2,
  );
});

Deno.test("usageReport() groups add up to the totals, whatever the grouping", () => {
  const records = [
    ...FIXTURE,
    record({ message_id: "a", model: "claude-opus-4-5", output_tokens: 10, session_id: "s-2" }),
    record({
      message_id: "b",
      model: "claude-haiku-4-5",
      input_tokens: 7,
      run_id: "run-2",
      ts_ms: Date.parse("2026-11-21T23:30:00.000Z"),
    }),
  ];
  for (const group_by of [["day"], ["session"], ["model", "run"], ["project", "worker", "agent"]]) {
    const report = usageReport(records, {
      query: query({ group_by: group_by as UsageQuery["group_by"] }),
      prices: builtinPrices(),
    });
    const sum = report.groups.reduce((s, g) => s + g.total_tokens, 0);
    assert.equal(sum, report.totals.total_tokens, group_by.join(","));
    assert.equal(report.groups.reduce((s, g) => s + g.messages, 0), 4);
  }
  const byDay = usageReport(records, {
    query: query({ utc_offset_minutes: 60 }),
    prices: builtinPrices(),
  });
  assert.deepEqual(byDay.groups.map((g) => g.key.day), ["2026-11-20", "2026-11-22"]);
  const limited = usageReport(records, {
    query: query({ group_by: ["model"], limit: 2 }),
    prices: builtinPrices(),
  });
  assert.equal(limited.truncated, true);
  assert.equal(limited.groups.length, 2);
  assert.equal(limited.totals.messages, 4);
});

Deno.test("usageReport() flags unknown models and never prices them", () => {
  const records = [
    ...FIXTURE,
    record({ message_id: "x", model: "claude-sonnet-9", input_tokens: 1_000_000 }),
  ];
  const report = usageReport(records, {
    query: query({ group_by: ["model"] }),
    prices: builtinPrices(),
  });
  assert.deepEqual(report.unknown_models, ["claude-sonnet-9"]);
  assert.equal(report.totals.cost_complete, false);
  assert.equal(report.totals.unpriced_messages, 1);
  assert.equal(report.totals.cost_usd, 0.031185, "the unknown model adds no cost");
  assert.equal(report.totals.input_tokens, 1_001_500, "but its tokens count");
  const unknown = report.groups.find((g) => g.key.model === "claude-sonnet-9")!;
  assert.equal(unknown.cost_usd, null);
  assert.deepEqual(unknown.cost_by_field_usd, {
    input: null,
    output: null,
    cache_creation: null,
    cache_read: null,
  });
});

Deno.test("usageReport() prices with an override table", () => {
  const table = {
    version: "override-1",
    effective: "2026-12-01",
    currency: "USD",
    unit: "per million tokens",
    models: { "claude-sonnet-4-5": { input: 1, output: 1, cache_write: 1, cache_read: 1 } },
  };
  const report = usageReport(FIXTURE, {
    query: query(),
    prices: parsePrices(JSON.stringify(table), "override"),
  });
  assert.equal(report.totals.cost_usd, 0.013105);
  assert.deepEqual(report.prices, {
    version: "override-1",
    effective: "2026-12-01",
    source: "file",
    currency: "USD",
    unit: "per million tokens",
  });
});

Deno.test("usageReport() filters on the counted response, and by visible projects", () => {
  const records = [
    record({ message_id: "m", output_tokens: 5, session_id: "s-new", stored_ms: 9 }),
    record({ message_id: "m", output_tokens: 8, session_id: "s-old", stored_ms: 1 }),
    record({ message_id: "n", output_tokens: 3, project_id: "other" }),
  ];
  const old = usageReport(records, {
    query: query({ filters: { session_id: "s-old" } }),
    prices: builtinPrices(),
  });
  assert.equal(old.totals.output_tokens, 8);
  const moved = usageReport(records, {
    query: query({ filters: { session_id: "s-new" } }),
    prices: builtinPrices(),
  });
  assert.equal(moved.totals.messages, 0, "the response belongs to its first owner");
  const bound = usageReport(records, {
    query: query({ project_ids: ["acme"] }),
    prices: builtinPrices(),
  });
  assert.equal(bound.totals.messages, 1);
  assert.equal(bound.filters.project_id, "acme");
  const since = usageReport(records, {
    query: query({ since: Date.parse("2026-11-21T00:00:00Z") }),
    prices: builtinPrices(),
  });
  assert.equal(since.totals.messages, 0);
  assert.equal(since.totals.cost_usd, 0);
  assert.equal(since.totals.first_ts, null);
});

Deno.test("formatOffset() writes ±HH:MM", () => {
  assert.equal(formatOffset(0), "+00:00");
  assert.equal(formatOffset(150), "+02:30");
  assert.equal(formatOffset(-210), "-03:30");
});

Deno.test("countResponses() takes the highest reported cost of a request in any order", () => {
  const readings = [0.02, 0.05, 0.03].map((cost) =>
    record({ message_id: "req", source: "claude_code", reported_cost_usd: cost })
  );
  for (const order of [[0, 1, 2], [2, 1, 0], [1, 0, 2], [0, 2, 1]]) {
    const [response] = countResponses(order.map((i) => readings[i]!));
    assert.equal(response!.reported_cost_usd, 0.05, `order ${order}`);
  }
});
