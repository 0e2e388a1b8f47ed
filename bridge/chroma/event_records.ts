/**
 * How an event is kept: one record in the `events` collection, the envelope as document, its
 * scalar filter fields as metadata (plus `ts_ms` to filter and sort by time), and the vector of
 * its `indexable_text`, so one add per batch makes it findable by filter, `text=` and `q=`. The
 * record id is the event_id, or the derived id when another project's event holds that id.
 *
 * @module
 */
import type { Metadata } from "chromadb";
import { sha256Hex, uuidV7Time } from "../../shared/ids.ts";
import type { Event } from "../../shared/schema.ts";
import { utf8Bytes } from "../_util.ts";
import { QUERY_FILTER_FIELDS } from "../store.ts";
import { WRITE_SEQ_KEY, WRITER_KEY, type WriterStamp } from "./writer_stamp.ts";

/** The fields of an event stored as metadata, when scalar. */
export const EVENT_METADATA_FIELDS = [
  ...QUERY_FILTER_FIELDS,
  "agent_id",
  "agent_role",
  "task_id",
  "tool_use_id",
  "hash",
  "ts",
] as const;

/** Metadata key set (to 1) on events that carry an `indexable_text` vector: what `q=` searches. */
export const INDEXED_KEY = "indexed";

/**
 * Composite metadata keys: a session and one more field in one value, because Chroma answers
 * one equality far faster than an `$and` of two (ids of one session and event type at 100,000
 * events, on a loaded machine: 92 ms against 473 ms), and a session's timeline filters by event
 * type or tool.
 */
export const COMPOSITE_KEYS = {
  session_event_type: ["session_id", "event_type"],
  session_tool_name: ["session_id", "tool_name"],
} as const satisfies Record<string, readonly [string, string]>;

/** One of the {@linkcode COMPOSITE_KEYS}. */
export type CompositeKey = keyof typeof COMPOSITE_KEYS;

/** The value of a composite key: both values as a JSON pair, so no two pairs share one. */
export function compositeValue(first: string, second: string): string {
  return JSON.stringify([first, second]);
}

/**
 * Metadata key holding the UTF-8 bytes of the record's document, so a query page can know what
 * a record weighs before it reads it (`page_records.ts`). Records stored before it have none.
 */
export const DOC_BYTES_KEY = "doc_bytes";

/** Metadata keys the store adds for itself; the `embeddings` view does not show them. */
export const INTERNAL_METADATA_KEYS: readonly string[] = [
  INDEXED_KEY,
  DOC_BYTES_KEY,
  ...Object.keys(COMPOSITE_KEYS),
  WRITER_KEY,
  WRITE_SEQ_KEY,
];

/** An event's scalar fields as metadata, plus `ts_ms` (also the context of its artifacts). */
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

/** Whether an event has text worth a vector (and so is found by `q=`). */
export function isIndexable(event: Event): boolean {
  return (event.indexable_text ?? "").trim() !== "";
}

/**
 * The metadata of an event's record: {@linkcode eventMetadata}, the indexed flag, composites and
 * the stamp of the write that adds it and the bytes of its `document` (the envelope as JSON,
 * which the caller has made already).
 */
export function eventRecordMetadata(
  event: Event,
  stamp: WriterStamp,
  document: string = JSON.stringify(event),
): Metadata {
  const metadata = eventMetadata(event);
  metadata[WRITER_KEY] = stamp.writer;
  metadata[WRITE_SEQ_KEY] = stamp.seq;
  metadata[DOC_BYTES_KEY] = utf8Bytes(document);
  if (isIndexable(event)) metadata[INDEXED_KEY] = 1;
  for (const [key, [first, second]] of Object.entries(COMPOSITE_KEYS)) {
    const a = metadata[first];
    const b = metadata[second];
    if (typeof a === "string" && typeof b === "string") metadata[key] = compositeValue(a, b);
  }
  return metadata;
}

/**
 * The vector of an event without text: Chroma needs one of the collection's dimension. It is
 * never searched (`q=` filters on {@linkcode INDEXED_KEY}); a unit vector keeps cosine defined.
 */
export function placeholderVector(dimension: number): number[] {
  const vector = new Array<number>(dimension).fill(0);
  vector[0] = 1;
  return vector;
}

/** What separates an event_id from the project part of a derived record id (never in a UUID). */
const DERIVED_MARK = "~p";

/**
 * The record id of an event whose event_id another project's event holds already: the event_id,
 * then `~p` and the project's {@linkcode projectTag}, one per (project, event_id). A client cannot
 * forge one: the schema takes only UUIDs as event ids. It starts with the event_id, so it sorts
 * with it and carries its time.
 */
export function derivedRecordId(eventId: string, tag: string): string {
  return `${eventId}${DERIVED_MARK}${tag}`;
}

/** 16 hex digits of the SHA-256 of a project id (as JSON, so no project is the text "null"). */
export async function projectTag(projectId: string | undefined): Promise<string> {
  return (await sha256Hex(JSON.stringify(projectId ?? null))).slice(0, 16);
}

/**
 * The time a record id carries: that of the UUID v7 it is or starts with (a derived id);
 * undefined for any other id.
 */
export function recordIdTime(id: string): number | undefined {
  const mark = id.indexOf(DERIVED_MARK);
  return uuidV7Time(mark === 36 ? id.slice(0, 36) : id);
}
