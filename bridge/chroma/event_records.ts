/**
 * How an event is kept in the `events` and `embeddings` collections: its scalar filter fields as
 * metadata, plus `ts_ms` to filter and sort by time.
 *
 * @module
 */
import type { Metadata } from "chromadb";
import type { Event } from "../../shared/schema.ts";
import { QUERY_FILTER_FIELDS } from "../store.ts";

/** The fields of an event stored as metadata on `events` and `embeddings`, when scalar. */
export const EVENT_METADATA_FIELDS = [
  ...QUERY_FILTER_FIELDS,
  "agent_id",
  "agent_role",
  "task_id",
  "tool_use_id",
  "hash",
  "ts",
] as const;

/** An event's metadata: its scalar filter fields, plus `ts_ms` to filter and sort by time. */
export function eventMetadata(event: Event): Metadata {
  const metadata: Metadata = { ts_ms: Date.parse(event.ts) };
  const record = event as Record<string, unknown>;
  for (const field of EVENT_METADATA_FIELDS) {
    const value = record[field];
    if (typeof value === "string" || (typeof value === "number" && Number.isFinite(value))) {
      metadata[field] = value;
    }
  }
  return metadata;
}
