/**
 * The storage interface between the bridge's HTTP side and ChromaDB: what the app needs from a
 * store (write, query, counts), the query parameters it passes, and the one error that means
 * "the store is down" (HTTP 503). `chroma_store.ts` implements it; tests may fake it. A store is
 * a plain sink: it derives nothing after a write (the app feeds the agent_state updater), and it
 * expects no two writes sharing an event id, hash or API response to run at once (the group
 * committer holds them apart).
 *
 * @module
 */
import type { Event } from "../shared/schema.ts";
import type { StateUsage } from "./agent_state.ts";
import type { StateRecords } from "./agent_state_updater.ts";
import type { UsageRecord } from "./usage/records.ts";

/** The collections the bridge keeps, as the original system partitioned them. */
export const COLLECTIONS = ["events", "artifacts", "embeddings", "agent_state"] as const;
/** One of {@linkcode COLLECTIONS}. */
export type CollectionName = typeof COLLECTIONS[number];

/**
 * The collections a store holds records in: `embeddings` is a view of `events` (the events that
 * carry a text vector), so it has no count of its own.
 */
export const STORED_COLLECTIONS = ["events", "artifacts", "agent_state"] as const;
/** One of {@linkcode STORED_COLLECTIONS}. */
export type StoredCollection = typeof STORED_COLLECTIONS[number];

/**
 * The outcome of {@linkcode EventStore.write}: event ids stored now, and those already held. Ids
 * name events within one write: the group committer never puts events of two projects sharing an
 * event id into one write, so an id names one event here.
 */
export interface WriteResult {
  stored: string[];
  duplicates: string[];
  /**
   * By event id of a usage event stored now: how much it raised its API response's counts over
   * every reading stored before (what the agent_state updater adds; absent when none did).
   */
  usage?: ReadonlyMap<string, StateUsage>;
  /**
   * Events an earlier write of this bridge stored though it failed (its answer was lost): they
   * count now, before this write's (`chroma/write_claims.ts`). Absent when there are none.
   */
  recovered?: readonly Event[];
  /**
   * Every write of this bridge up to this write sequence number (`chroma/writer_stamp.ts`) is
   * accounted for by the results handed out so far: what agent_state's watermark records.
   */
  watermark?: number;
}

/** Thrown when Chroma cannot be reached or fails: HTTP 503. */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
}

/**
 * Thrown when Chroma refused the records of a write for what they hold (a 4xx about the request's
 * content), not because it is down: splitting the write finds the records it refuses. `stored`
 * names the events the failed write had already added (an earlier part of it), so a write of
 * them again, which finds them stored, still counts them as stored now.
 */
export class StoreRejectedError extends Error {
  override name = "StoreRejectedError";
  /** Event ids the failed write stored before Chroma refused a later part. */
  readonly stored: readonly string[];
  constructor(message: string, options: { cause?: unknown; stored?: readonly string[] } = {}) {
    super(message, { cause: options.cause });
    this.stored = options.stored ?? [];
  }
}

/** The filter fields a query may narrow on, each matched by equality. */
export const QUERY_FILTER_FIELDS = [
  "project_id",
  "run_id",
  "session_id",
  "worker_id",
  "event_type",
  "hook_event_name",
  "tool_name",
  "level",
  "prompt_id",
] as const;
/** One of {@linkcode QUERY_FILTER_FIELDS}. */
export type QueryFilterField = typeof QUERY_FILTER_FIELDS[number];

/** Filters only `agent_state` records hold: the record's scope and status. */
export const STATE_FILTER_FIELDS = ["scope", "status"] as const;
/** One of {@linkcode STATE_FILTER_FIELDS}. */
export type StateFilterField = typeof STATE_FILTER_FIELDS[number];

/**
 * A validated query, as `parseQueryParams()` in `query_params.ts` returns it. Every value is a
 * plain string or number: nothing here can become a Chroma operator.
 */
export interface QueryParams {
  /** Which collection to read; default "events". */
  collection: CollectionName;
  /** Equality filters; absent fields do not filter. */
  filters: Partial<Record<QueryFilterField | StateFilterField, string>>;
  /** Only events at or after this instant (Unix ms). */
  since?: number;
  /** Only events at or before this instant (Unix ms). */
  until?: number;
  /** Full-text match: the stored document contains this text. */
  text?: string;
  /** Semantic search over `indexable_text` (the events carrying it); ranked by distance. */
  q?: string;
  /** Page size, 1..1000; default 100. */
  limit: number;
  /** Opaque cursor from a previous page's `next_cursor`. */
  cursor?: string;
  /**
   * Set by the caller, never by the client: the only projects the caller may see (an API key
   * bound to a project). Absent means no restriction; empty means nothing is visible.
   */
  project_ids?: readonly string[];
  /**
   * Set by the caller: most bytes of serialized records a page holds (`ZO_QUERY_PAGE_BYTES`);
   * the page stops before the record that would pass it (one record at least) and its cursor
   * continues from there. Default `QUERY_LIMITS.pageBytes` (4 MiB).
   */
  maxBytes?: number;
  /**
   * Set by the caller: called with the bytes of records the store is about to read into the
   * page, before it reads them (the bridge's budget of query bytes in flight); throws to refuse.
   */
  reserve?: (bytes: number) => Promise<void>;
}

/** One page of a query: envelopes (or state records / artifacts) ordered by ts, then id. */
export interface QueryResult {
  results: unknown[];
  next_cursor: string | null;
}

/** A query that names something the store cannot serve (a bad cursor): HTTP 400. */
export class QueryError extends Error {
  override name = "QueryError";
}

/** Which usage records `GET /usage` needs (see `usage_params.ts` for the client side). */
export interface UsageFilter {
  /** Equality filters on the records; absent fields do not filter. */
  filters: Partial<
    Record<"project_id" | "worker_id" | "run_id" | "session_id" | "agent_id" | "model", string>
  >;
  /** Responses at or after this instant (Unix ms). */
  since?: number;
  /** Responses at or before this instant (Unix ms). */
  until?: number;
  /** Set by the caller: the only projects visible; absent means no restriction. */
  project_ids?: readonly string[];
}

/** One stored event record as the shared live feed reads it: its envelope and write stamp. */
export interface StoredWrite {
  /** The event id. */
  id: string;
  /** The bridge whose add stored it (`chroma/writer_stamp.ts`). */
  writer: string;
  /** Its write's sequence number (wall-clock µs at the write's start). */
  seq: number;
  /** The stored envelope; undefined when the record's document is not one. */
  event: Event | undefined;
}

/**
 * What every bridge sharing the store wrote, by write stamp: what the shared live feed reads
 * (`live_feed.ts`). Both reads throw {@linkcode StoreUnavailableError} when the store is down.
 */
export interface StoredWrites {
  /** The writer id this store stamps on the event records it adds. */
  readonly writerId: string;
  /** Ids of the event records whose write sequence number is at least `seq`, at most `limit`. */
  idsWrittenSince(seq: number, limit: number): Promise<string[]>;
  /** The records of `ids` (at most 5,000), in that order; ids not stored are left out. */
  writesByIds(ids: readonly string[]): Promise<StoredWrite[]>;
}

/** What the bridge needs from its storage. */
export interface EventStore {
  /**
   * Stores valid events; resolves only once they are durable in Chroma. Dedupes by event_id and
   * by hash within each project (within the batch and against what is stored): an event is a
   * duplicate only of an event of its own project (events without project_id are a scope of their
   * own). ≤ 5,000 events per call. Throws {@linkcode StoreRejectedError} when Chroma refuses the
   * records for their content, {@linkcode StoreUnavailableError} when it is down.
   */
  write(events: readonly Event[]): Promise<WriteResult>;
  /** One page of results; throws {@linkcode QueryError} on a bad cursor. */
  query(params: QueryParams): Promise<QueryResult>;
  /** Record count per stored collection (for /health). */
  counts(): Promise<Record<StoredCollection, number>>;
  /**
   * Every stored usage record of every API response with a reading that matches `filter` (all
   * of that response's readings, so it can be counted whole). Optional: without it, a store
   * answers no `GET /usage` (501).
   */
  usageRecords?(filter: UsageFilter): Promise<UsageRecord[]>;
  /** Where agent_state records are kept, if this store keeps them (for the updater the app runs). */
  readonly agentStateRecords?: StateRecords;
  /** What every bridge on this store wrote, if the store can tell (for the shared live feed). */
  readonly storedWrites?: StoredWrites;
}
