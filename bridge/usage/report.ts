/**
 * The `GET /usage` answer from stored usage records: pure functions. Records are grouped by
 * response (`message_key`): each token field is the maximum over the response's readings, its
 * time the earliest, its owner (session, run, worker, subagent) the reading stored first (ties:
 * the smallest session, agent, run, worker). Filters and groups then apply to these counted
 * responses, so groups always add up to the totals. Costs come from the price table: a response
 * whose model the table lacks keeps its tokens, adds nothing to the cost, and is flagged.
 *
 * Claude Code's own reports of its API requests (records with `source: "claude_code"`, from its
 * OpenTelemetry export) are counted apart, once per request: each summary shows them as
 * `claude_code` (requests, tokens and the cost Claude Code reported) beside the cost computed
 * from the transcripts, and `cost_difference_usd`, the reported cost minus the computed one, when
 * both are known. A session exported with telemetry on but read without its transcript shows
 * only the reported side.
 *
 * @module
 */
import { addCosts, type FieldCosts, responseCost, roundUsd, zeroCosts } from "./cost.ts";
import { priceOf, type Prices, priceTableInfo } from "./prices.ts";
import {
  addTokens,
  raiseTokens,
  TOKEN_FIELDS,
  type TokenCounts,
  totalTokens,
  zeroTokens,
} from "../../shared/usage/tokens.ts";
import type { UsageDimension, UsageQuery } from "./params.ts";
import type { UsageRecord } from "./records.ts";

/**
 * One API response as counted: the fields of its owning reading, with the maximum counts and
 * the earliest time over all its readings (`ts_ms`).
 */
export type CountedResponse = Omit<UsageRecord, "id" | "stored_ms" | "event_id">;

/** What Claude Code itself reported for a set of API requests (its OpenTelemetry export). */
export interface ReportedUsage extends TokenCounts {
  requests: number;
  total_tokens: number;
  cost_usd: number;
}

/** Usage and cost of a set of responses (the totals, or one group). */
export interface UsageSummary extends TokenCounts {
  messages: number;
  total_tokens: number;
  cost_usd: number | null;
  cost_by_field_usd: Record<keyof FieldCosts, number | null>;
  cost_complete: boolean;
  unpriced_messages: number;
  unknown_models: string[];
  models: string[];
  first_ts: string | null;
  last_ts: string | null;
  /** Claude Code's own report of the same scope; null when it exported none. */
  claude_code: ReportedUsage | null;
  /** `claude_code.cost_usd` minus `cost_usd`, when both are known; else null. */
  cost_difference_usd: number | null;
}

/** One group: its key (the `group_by` dimensions) and its summary. */
export type UsageGroup = { key: Record<string, string | null> } & UsageSummary;

/** The answer of `GET /usage`. */
export interface UsageReport {
  group_by: UsageDimension[];
  filters: Record<string, string>;
  utc_offset: string;
  prices: ReturnType<typeof priceTableInfo>;
  totals: UsageSummary;
  groups: UsageGroup[];
  truncated: boolean;
  unknown_models: string[];
}

function ownerTuple(record: UsageRecord): string[] {
  return [record.session_id, record.agent_id ?? "", record.run_id, record.worker_id ?? ""];
}

function ownsBefore(a: UsageRecord, b: UsageRecord): boolean {
  if (a.stored_ms !== b.stored_ms) return a.stored_ms < b.stored_ms;
  const ta = ownerTuple(a);
  const tb = ownerTuple(b);
  for (let i = 0; i < ta.length; i++) {
    if (ta[i] !== tb[i]) return ta[i]! < tb[i]!;
  }
  return a.id < b.id;
}

/** Every response the records tell of, counted once (see the module doc). */
export function countResponses(records: readonly UsageRecord[]): CountedResponse[] {
  const groups = new Map<
    string,
    { owner: UsageRecord; counts: TokenCounts; ts: number; reported?: number }
  >();
  for (const record of records) {
    const group = groups.get(record.message_key);
    if (group === undefined) {
      groups.set(record.message_key, {
        owner: record,
        counts: raiseTokens(zeroTokens(), record),
        ts: record.ts_ms,
        reported: record.reported_cost_usd,
      });
      continue;
    }
    raiseTokens(group.counts, record);
    // The highest reading so far, whatever order the records come in.
    if ((record.reported_cost_usd ?? 0) > (group.reported ?? 0)) {
      group.reported = record.reported_cost_usd;
    }
    if (record.ts_ms < group.ts) group.ts = record.ts_ms;
    if (ownsBefore(record, group.owner)) group.owner = record;
  }
  return [...groups.values()].map(({ owner, counts, ts, reported }) => {
    const response: CountedResponse = {
      message_key: owner.message_key,
      message_id: owner.message_id,
      model: owner.model,
      run_id: owner.run_id,
      session_id: owner.session_id,
      ts_ms: ts,
      ...counts,
    };
    if (owner.project_id !== undefined) response.project_id = owner.project_id;
    if (owner.worker_id !== undefined) response.worker_id = owner.worker_id;
    if (owner.agent_id !== undefined) response.agent_id = owner.agent_id;
    if (owner.source !== undefined) {
      response.source = owner.source;
      response.reported_cost_usd = reported ?? 0;
    }
    return response;
  });
}

/** True when the counted response passes the query's filters and the caller may see it. */
export function matches(response: CountedResponse, query: UsageQuery): boolean {
  for (const [field, value] of Object.entries(query.filters)) {
    if (response[field as keyof CountedResponse] !== value) return false;
  }
  if (query.project_ids !== undefined) {
    if (response.project_id === undefined || !query.project_ids.includes(response.project_id)) {
      return false;
    }
  }
  if (query.since !== undefined && response.ts_ms < query.since) return false;
  if (query.until !== undefined && response.ts_ms > query.until) return false;
  return true;
}

/** `±HH:MM` of an offset in minutes. */
export function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${
    String(abs % 60).padStart(2, "0")
  }`;
}

function dimensionValue(
  response: CountedResponse,
  dimension: UsageDimension,
  offsetMinutes: number,
): string | null {
  switch (dimension) {
    case "project":
      return response.project_id ?? null;
    case "worker":
      return response.worker_id ?? null;
    case "run":
      return response.run_id;
    case "session":
      return response.session_id;
    case "agent":
      return response.agent_id ?? null;
    case "model":
      return response.model;
    case "day":
      return new Date(response.ts_ms + offsetMinutes * 60_000).toISOString().slice(0, 10);
  }
}

class Accumulator {
  tokens = zeroTokens();
  messages = 0;
  costs = zeroCosts();
  priced = 0;
  unknown = new Set<string>();
  models = new Set<string>();
  first = Infinity;
  last = -Infinity;
  reported = { requests: 0, cost: 0, tokens: zeroTokens() };

  add(response: CountedResponse, prices: Prices): void {
    if (response.source === "claude_code") {
      this.reported.requests++;
      this.reported.cost += response.reported_cost_usd ?? 0;
      addTokens(this.reported.tokens, response);
      return;
    }
    addTokens(this.tokens, response);
    this.messages++;
    this.models.add(response.model);
    if (response.ts_ms < this.first) this.first = response.ts_ms;
    if (response.ts_ms > this.last) this.last = response.ts_ms;
    const price = priceOf(prices, response.model);
    if (price === undefined) this.unknown.add(response.model);
    else {
      addCosts(this.costs, responseCost(response, price));
      this.priced++;
    }
  }

  summary(): UsageSummary {
    const some = this.messages > 0;
    return summarize(
      this,
      some ? new Date(this.first).toISOString() : null,
      some ? new Date(this.last).toISOString() : null,
    );
  }
}

/** The `claude_code` side of a summary from its running sums; null when there were none. */
function reportedSummary(
  reported: { requests: number; cost: number; tokens: TokenCounts } | undefined,
): ReportedUsage | null {
  if (reported === undefined || reported.requests === 0) return null;
  const counts = {} as TokenCounts;
  for (const field of TOKEN_FIELDS) counts[field] = reported.tokens[field];
  return {
    requests: reported.requests,
    ...counts,
    total_tokens: totalTokens(reported.tokens),
    cost_usd: roundUsd(reported.cost),
  };
}

/** The running sums a {@linkcode UsageSummary} is made of. */
export interface UsageSums {
  tokens: TokenCounts;
  /** Responses counted. */
  messages: number;
  /** Responses among them with a price. */
  priced: number;
  costs: FieldCosts;
  unknown: ReadonlySet<string>;
  models: ReadonlySet<string>;
  /** Claude Code's own reports counted alongside, if any. */
  reported?: { requests: number; cost: number; tokens: TokenCounts };
}

/** The summary of `sums`; its costs are null when none of its responses has a price. */
export function summarize(
  sums: UsageSums,
  firstTs: string | null,
  lastTs: string | null,
): UsageSummary {
  const none = sums.messages > 0 && sums.priced === 0;
  const cost = (usd: number) => none ? null : roundUsd(usd);
  const counts = {} as TokenCounts;
  for (const field of TOKEN_FIELDS) counts[field] = sums.tokens[field];
  const { input, output, cache_creation, cache_read } = sums.costs;
  return {
    messages: sums.messages,
    ...counts,
    total_tokens: totalTokens(sums.tokens),
    cost_usd: cost(input + output + cache_creation + cache_read),
    cost_by_field_usd: {
      input: cost(input),
      output: cost(output),
      cache_creation: cost(cache_creation),
      cache_read: cost(cache_read),
    },
    cost_complete: sums.priced === sums.messages,
    unpriced_messages: sums.messages - sums.priced,
    unknown_models: [...sums.unknown].sort(),
    models: [...sums.models].sort(),
    first_ts: firstTs,
    last_ts: lastTs,
    ...withReported(
      reportedSummary(sums.reported),
      none ? null : roundUsd(input + output + cache_creation + cache_read),
      sums.messages,
    ),
  };
}

function withReported(
  claudeCode: ReportedUsage | null,
  computed: number | null,
  messages: number,
): Pick<UsageSummary, "claude_code" | "cost_difference_usd"> {
  const comparable = claudeCode !== null && computed !== null && messages > 0;
  return {
    claude_code: claudeCode,
    cost_difference_usd: comparable ? roundUsd(claudeCode.cost_usd - computed) : null,
  };
}

function compareKeys(a: (string | null)[], b: (string | null)[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === y) continue;
    if (x === null) return -1;
    if (y === null) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/** The echo of the filters applied, as the answer shows them. */
export function appliedFilters(query: UsageQuery): Record<string, string> {
  const filters: Record<string, string> = { ...query.filters } as Record<string, string>;
  if (query.project_ids?.length === 1 && filters.project_id === undefined) {
    filters.project_id = query.project_ids[0]!;
  }
  if (query.since !== undefined) filters.since = new Date(query.since).toISOString();
  if (query.until !== undefined) filters.until = new Date(query.until).toISOString();
  return filters;
}

/** The answer to `query` from `records` (all readings of every response that may match). */
export function usageReport(
  records: readonly UsageRecord[],
  { query, prices }: { query: UsageQuery; prices: Prices },
): UsageReport {
  const totals = new Accumulator();
  const groups = new Map<string, { key: (string | null)[]; acc: Accumulator }>();
  for (const response of countResponses(records)) {
    if (!matches(response, query)) continue;
    totals.add(response, prices);
    const key = query.group_by.map((d) => dimensionValue(response, d, query.utc_offset_minutes));
    const id = JSON.stringify(key);
    let group = groups.get(id);
    if (group === undefined) groups.set(id, group = { key, acc: new Accumulator() });
    group.acc.add(response, prices);
  }
  const sorted = [...groups.values()].sort((a, b) => compareKeys(a.key, b.key));
  const summary = totals.summary();
  return {
    group_by: query.group_by,
    filters: appliedFilters(query),
    utc_offset: formatOffset(query.utc_offset_minutes),
    prices: priceTableInfo(prices),
    totals: summary,
    groups: sorted.slice(0, query.limit).map(({ key, acc }) => ({
      key: Object.fromEntries(query.group_by.map((d, i) => [d, key[i] ?? null])),
      ...acc.summary(),
    })),
    truncated: sorted.length > query.limit,
    unknown_models: summary.unknown_models,
  };
}
