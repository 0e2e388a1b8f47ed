/**
 * Per-response usage records, the exact source of `GET /usage`: one record per distinct reading
 * of an API response, kept in the `usage` collection next to the four named ones. Its id is a
 * hash of (project, message id, model, the four counts), so the same reading stored again (a
 * redelivery, a second bridge, a resumed session's re-read) adds nothing, while a different
 * reading of the same response (a partial streaming count, then the final one) is kept beside
 * it. Reports group the records by message and take the maximum of each field: a response
 * counts once however often, and wherever, it was seen.
 *
 * Claude Code's own account of an API request (the `claude_code.api_request` record of its
 * OpenTelemetry export, stored as a `telemetry` event) becomes a record too, marked
 * `source: "claude_code"`, counted once per request id, with the cost Claude Code reported. Reports
 * keep those apart from the transcript's responses and show both costs side by side.
 *
 * Records are immutable: any number of bridges may add them concurrently and the answer stays
 * exact (no read-modify-write).
 *
 * @module
 */
import type { Metadata } from "chromadb";
import { sha256Hex } from "../../shared/ids.ts";
import type { Event } from "../../shared/schema.ts";
import { TOKEN_FIELDS, type TokenCounts } from "../../shared/usage/tokens.ts";
import { usageDataOf } from "../../shared/usage/usage_event.ts";

/** The collection of usage records. */
export const USAGE_COLLECTION = "usage";

/** One reading of one API response. */
export interface UsageRecord extends TokenCounts {
  /** Record id: see the module doc. */
  id: string;
  /** `[project_id or null, message_id]` as JSON: the response, as counted. */
  message_key: string;
  message_id: string;
  model: string;
  project_id?: string;
  worker_id?: string;
  run_id: string;
  session_id: string;
  agent_id?: string;
  /** The response's time (the usage event's `ts`), Unix ms. */
  ts_ms: number;
  /** When a bridge stored this reading, Unix ms: the first stored reading names the owner. */
  stored_ms: number;
  /** The usage event it came from. */
  event_id: string;
  /** Set on Claude Code's own account of a request; absent on a transcript reading. */
  source?: "claude_code";
  /** The cost Claude Code reported for the request (its `cost_usd`), in USD. */
  reported_cost_usd?: number;
}

/** The key under which a response is counted: one per project and message id. */
export function messageKey(projectId: string | undefined, messageId: string): string {
  return JSON.stringify([projectId ?? null, messageId]);
}

/** The name of the OpenTelemetry log record in which Claude Code reports one API request. */
export const API_REQUEST_RECORD = "claude_code.api_request";

function count(value: unknown): number | undefined {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * The record of a `telemetry` event holding Claude Code's `claude_code.api_request` log record:
 * its request id, model, the four token counts and `cost_usd`; undefined for anything else.
 */
export async function reportedRecordOf(
  event: Event,
  storedMs: number,
): Promise<UsageRecord | undefined> {
  if (event.event_type !== "telemetry" || event.data === undefined) return undefined;
  const data = event.data as Record<string, unknown>;
  if (data.signal !== "log" || data.name !== API_REQUEST_RECORD) return undefined;
  const a = data.attributes as Record<string, unknown> | undefined;
  if (a === null || typeof a !== "object") return undefined;
  const requestId = a.request_id;
  const model = a.model;
  if (typeof requestId !== "string" || requestId === "" || typeof model !== "string") {
    return undefined;
  }
  const cost = typeof a.cost_usd === "string" ? Number(a.cost_usd) : a.cost_usd;
  const counts = {
    input_tokens: count(a.input_tokens) ?? 0,
    output_tokens: count(a.output_tokens) ?? 0,
    cache_creation_input_tokens: count(a.cache_creation_tokens) ?? 0,
    cache_read_input_tokens: count(a.cache_read_tokens) ?? 0,
  };
  const key = messageKey(event.project_id, `claude_code:${requestId}`);
  const reported = typeof cost === "number" && Number.isFinite(cost) && cost >= 0 ? cost : 0;
  const record: UsageRecord = {
    id: await sha256Hex(
      JSON.stringify([key, model, ...TOKEN_FIELDS.map((f) => counts[f]), reported]),
    ),
    message_key: key,
    message_id: requestId,
    model,
    run_id: event.run_id,
    session_id: event.session_id,
    ts_ms: Date.parse(typeof data.time === "string" ? data.time : event.ts) || Date.parse(event.ts),
    stored_ms: storedMs,
    event_id: event.event_id,
    ...counts,
    source: "claude_code",
    reported_cost_usd: reported,
  };
  if (event.project_id !== undefined) record.project_id = event.project_id;
  if (event.worker_id !== undefined) record.worker_id = event.worker_id;
  if (event.agent_id !== undefined) record.agent_id = event.agent_id;
  return record;
}

/**
 * The record of a usage event (or of Claude Code's report of a request, see
 * {@linkcode reportedRecordOf}), or undefined for any other event.
 */
export async function usageRecordOf(
  event: Event,
  storedMs: number,
): Promise<UsageRecord | undefined> {
  if (event.event_type === "telemetry") return await reportedRecordOf(event, storedMs);
  const data = usageDataOf(event);
  if (data === undefined) return undefined;
  const key = messageKey(event.project_id, data.message_id);
  const counts = TOKEN_FIELDS.map((field) => data[field]);
  const record: UsageRecord = {
    id: await sha256Hex(JSON.stringify([key, data.model, ...counts])),
    message_key: key,
    message_id: data.message_id,
    model: data.model,
    run_id: event.run_id,
    session_id: event.session_id,
    ts_ms: Date.parse(event.ts),
    stored_ms: storedMs,
    event_id: event.event_id,
    input_tokens: data.input_tokens,
    output_tokens: data.output_tokens,
    cache_creation_input_tokens: data.cache_creation_input_tokens,
    cache_read_input_tokens: data.cache_read_input_tokens,
  };
  if (event.project_id !== undefined) record.project_id = event.project_id;
  if (event.worker_id !== undefined) record.worker_id = event.worker_id;
  if (event.agent_id !== undefined) record.agent_id = event.agent_id;
  return record;
}

/** A record as Chroma metadata (every field is a scalar; absent ones are left out). */
export function recordMetadata(record: UsageRecord): Metadata {
  const { id: _, ...fields } = record;
  return fields as unknown as Metadata;
}

const STRING_FIELDS = ["message_key", "message_id", "model", "run_id", "session_id", "event_id"];
const OPTIONAL_FIELDS = ["project_id", "worker_id", "agent_id"];
const NUMBER_FIELDS = ["ts_ms", "stored_ms", ...TOKEN_FIELDS];

/** A stored record back from its id and metadata; undefined for anything else. */
export function recordFromMetadata(
  id: string,
  metadata: Metadata | null | undefined,
): UsageRecord | undefined {
  if (metadata === null || metadata === undefined) return undefined;
  const record: Record<string, unknown> = { id };
  for (const field of STRING_FIELDS) {
    if (typeof metadata[field] !== "string") return undefined;
    record[field] = metadata[field];
  }
  for (const field of NUMBER_FIELDS) {
    const value = metadata[field];
    if (typeof value !== "number" || !Number.isFinite(value)) return undefined;
    record[field] = value;
  }
  for (const field of OPTIONAL_FIELDS) {
    if (typeof metadata[field] === "string") record[field] = metadata[field];
  }
  if (metadata.source === "claude_code") {
    const cost = metadata.reported_cost_usd;
    record.source = "claude_code";
    record.reported_cost_usd = typeof cost === "number" && Number.isFinite(cost) ? cost : 0;
  }
  return record as unknown as UsageRecord;
}
