/**
 * The bridge's {@linkcode EventStore} on ChromaDB (chromadb 3.x client): `events` (one record per
 * event: the redacted envelope as document, filter fields as metadata, the vector of its
 * `indexable_text`; the query API's `embeddings` is a view of it), `artifacts` and
 * `agent_state`, plus `usage` (one immutable record per reading of an API
 * response, `usage/records.ts`). A plain sink, put together from one module per job in
 * `chroma/`: the connection and per-call deadlines (`connection.ts`), opening collections
 * (`collections.ts`), the idempotent write (`writes.ts`), the ordered-page query planner
 * (`query_planner.ts`), semantic search (`semantic.ts`), reads by write stamp (`stored_since.ts`),
 * usage records (`usage_records.ts`), artifacts (`artifacts.ts`), agent_state persistence
 * (`agent_state_records.ts`, one bridge's partial records) and its merged reads
 * (`merged_state.ts`); which adds are this bridge's own when bridges share a Chroma
 * (`write_claims.ts`). Chroma refusing a write for its records' content is a
 * `StoreRejectedError` (the group committer splits the write); any other Chroma failure is a
 * {@linkcode StoreUnavailableError}.
 *
 * @module
 */
import type { ChromaClient } from "chromadb";
import type { Event } from "../shared/schema.ts";
import type { StateRecords } from "./agent_state_updater.ts";
import { chromaStateRecords } from "./chroma/agent_state_records.ts";
import { type Collections, openCollections } from "./chroma/collections.ts";
import {
  type ChromaCall,
  chromaClient,
  type ChromaConnection,
  createChromaCall,
} from "./chroma/connection.ts";
import { IrregularIds } from "./chroma/irregular_ids.ts";
import { orderedPage, visibleProjects } from "./chroma/query_planner.ts";
import { semanticPage } from "./chroma/semantic.ts";
import { DEFAULT_USAGE_INDEX_RECORDS, UsageIndex } from "./chroma/usage_index.ts";
import { idsWrittenSince, writesByIds } from "./chroma/stored_since.ts";
import { usageRecordsFor } from "./chroma/usage_records.ts";
import { mergedStatePage } from "./chroma/merged_state.ts";
import { claimedEvents, WriteLedger } from "./chroma/write_claims.ts";
import { writeEvents } from "./chroma/writes.ts";
import { randomWriterId, WriteSequence } from "./chroma/writer_stamp.ts";
import { type EmbeddingProvider, offlineProvider } from "./embeddings.ts";
import { decodeCursor } from "./query_params.ts";
import {
  type EventStore,
  QueryError,
  type QueryParams,
  type QueryResult,
  STORED_COLLECTIONS,
  type StoredCollection,
  type StoredWrites,
  type UsageFilter,
  type WriteResult,
} from "./store.ts";
import type { UsageRecord } from "./usage/records.ts";
import { selectUsageRecords } from "./usage/select.ts";

export type { ChromaConnection } from "./chroma/connection.ts";

/** Options of {@linkcode ChromaStore}. */
export interface ChromaStoreOptions extends ChromaConnection {
  /** Vectors of `indexable_text`; default the offline provider. */
  embeddings?: EmbeddingProvider;
  /** Longest wait for one Chroma call before the store reports itself unavailable; default 30 s. */
  timeoutMs?: number;
  /**
   * Matches read per round trip while ordering a page (Chroma cannot sort); default 1,000 or
   * twice the page, whichever is more. Tests set it low to exercise the narrowing.
   */
  queryProbe?: number;
  /**
   * This bridge's id, stamped on every event record it adds (`ZO_BRIDGE_ID`); default a random
   * one. Bridges sharing one Chroma must not share an id.
   */
  writerId?: string;
  /**
   * Most records the usage index of `GET /usage` holds (`chroma/usage_index.ts`); beyond it, or
   * at 0, every request scans Chroma. Default 200,000.
   */
  usageIndexRecords?: number;
  /** Warnings (the usage index dropped past its bound); default: dropped. */
  log?: (message: string, extra: Record<string, unknown>) => void;
}

/** The EventStore on ChromaDB. Create one per bridge; it connects lazily and reconnects. */
export class ChromaStore implements EventStore {
  readonly #client: ChromaClient;
  readonly #embedder: EmbeddingProvider;
  readonly #probe: number;
  readonly #call: ChromaCall;
  readonly #irregularIds = new IrregularIds();
  readonly #sequence: WriteSequence;
  readonly #ledger = new WriteLedger();
  #collections: Promise<Collections> | undefined;
  readonly #usageIndex: UsageIndex;
  /** The `agent_state` collection, for the updater the app runs (`agent_state_updater.ts`). */
  readonly agentStateRecords: StateRecords;
  /** What every bridge on this Chroma stored, by write stamp (for `live_feed.ts`). */
  readonly storedWrites: StoredWrites;

  /** Checks the URL; connects on first use (or on {@linkcode ChromaStore.init}). */
  constructor(options: ChromaStoreOptions) {
    this.#client = chromaClient(options);
    this.#embedder = options.embeddings ?? offlineProvider();
    this.#probe = options.queryProbe ?? 1_000;
    this.#sequence = new WriteSequence(options.writerId ?? randomWriterId());
    this.#call = createChromaCall({
      timeoutMs: options.timeoutMs ?? 30_000,
      // A collection that vanished (a wiped or different server): look it up again next time.
      onNotFound: () => {
        this.#collections = undefined;
        this.#usageIndex.reset();
      },
    });
    this.#usageIndex = new UsageIndex({
      collection: async () => (await this.#getCollections()).usage,
      call: this.#call,
      maxRecords: options.usageIndexRecords ?? DEFAULT_USAGE_INDEX_RECORDS,
      ...(options.log === undefined ? {} : { log: options.log }),
    });
    this.agentStateRecords = chromaStateRecords({
      agentState: async () => (await this.#getCollections()).agent_state,
      events: async () => (await this.#getCollections()).events,
      call: this.#call,
      bridge: this.#sequence.writer,
      // Taken before any write of this run: recovery reads the earlier runs' writes below it.
      startSeq: this.#sequence.next().seq,
    });
    const events = async () => (await this.#getCollections()).events;
    const call = this.#call;
    this.storedWrites = {
      writerId: this.#sequence.writer,
      idsWrittenSince: async (seq, limit) =>
        await idsWrittenSince(await events(), { call, seq, limit }),
      writesByIds: async (ids) => await writesByIds(await events(), { call, ids }),
    };
  }

  /** The id this store stamps on the records it adds. */
  get writerId(): string {
    return this.#sequence.writer;
  }

  /**
   * Connects, creates the collections if needed and checks the embeddings collection was made
   * by the same provider. Throws {@linkcode StoreUnavailableError} when Chroma does not answer,
   * `ConfigError` on a provider mismatch.
   */
  async init(): Promise<void> {
    await this.#getCollections();
  }

  #getCollections(): Promise<Collections> {
    this.#collections ??= openCollections(this.#client, {
      call: this.#call,
      embedder: this.#embedder,
    }).catch((error) => {
      this.#collections = undefined;
      throw error;
    });
    return this.#collections;
  }

  /**
   * Stores valid events once each; see {@linkcode EventStore.write}. Resolves once the events,
   * their embeddings, artifacts and usage records are in Chroma.
   */
  async write(events: readonly Event[]): Promise<WriteResult> {
    if (events.length === 0) return { stored: [], duplicates: [] };
    const collections = await this.#getCollections();
    const stamp = this.#sequence.next();
    // Results in stamp order, with what failed writes stored (`write_claims.ts`).
    const { recovered, ...result } = await this.#ledger.run({
      stamp,
      events,
      write: () =>
        writeEvents(events, {
          collections,
          call: this.#call,
          embedder: this.#embedder,
          irregularIds: this.#irregularIds,
          stamp,
        }),
      check: ({ events, stamp }) =>
        claimedEvents(collections.events, { events, stamp, call: this.#call }),
    });
    return recovered.length > 0 ? { ...result, recovered } : result;
  }

  /** Record count per stored collection (`embeddings` is a view of `events`). */
  async counts(): Promise<Record<StoredCollection, number>> {
    const collections = await this.#getCollections();
    const counts = await Promise.all(
      STORED_COLLECTIONS.map((name) =>
        this.#call(`count ${name}`, () => collections[name].count())
      ),
    );
    return Object.fromEntries(STORED_COLLECTIONS.map((name, i) => [name, counts[i]!])) as Record<
      StoredCollection,
      number
    >;
  }

  /** One page of results; see {@linkcode QueryParams}. */
  async query(params: QueryParams): Promise<QueryResult> {
    const cursor = params.cursor === undefined ? undefined : decodeCursor(params.cursor);
    if (params.cursor !== undefined && cursor === undefined) {
      throw new QueryError("Cannot query: the cursor is not valid; start again without it");
    }
    const visible = visibleProjects(params);
    if (visible === "none") return { results: [], next_cursor: null };
    const collections = await this.#getCollections();
    if (params.q !== undefined) {
      if (cursor !== undefined && !("o" in cursor)) {
        throw new QueryError("Cannot query: the cursor belongs to a query without q");
      }
      return await semanticPage({
        collections,
        params,
        visible,
        offset: cursor?.o ?? 0,
        embedder: this.#embedder,
        call: this.#call,
      });
    }
    if (cursor !== undefined && !("t" in cursor)) {
      throw new QueryError("Cannot query: the cursor belongs to a query with q");
    }
    if (params.collection === "agent_state") {
      // Each bridge keeps its own part of every state: merged when read (`merged_state.ts`).
      return await mergedStatePage({
        collection: collections.agent_state,
        params,
        visible,
        after: cursor,
        call: this.#call,
      });
    }
    return await orderedPage({
      // The embeddings view is the events that carry a vector (`whereOf` filters them).
      collection: collections[params.collection === "embeddings" ? "events" : params.collection],
      params,
      visible,
      after: cursor,
      probe: this.#probe,
      call: this.#call,
      idsCarryTime: () => this.#irregularIds.idsCarryTime(this.#client, this.#call),
    });
  }

  /** Loads the usage index now rather than on the first `GET /usage`. */
  async warmUsageIndex(): Promise<void> {
    await this.#usageIndex.records();
  }

  /** Usage records the usage index holds (0 before its load, or when off or past its bound). */
  get usageIndexSize(): number {
    return this.#usageIndex.size;
  }

  /**
   * Every stored reading of every API response that may match `filter`; see `EventStore`. From
   * the usage index; from a scan of Chroma when the index is off or past its bound.
   */
  async usageRecords(filter: UsageFilter): Promise<UsageRecord[]> {
    const indexed = await this.#usageIndex.records();
    if (indexed !== undefined) return selectUsageRecords(indexed, filter);
    const { usage } = await this.#getCollections();
    return await usageRecordsFor(usage, { call: this.#call, filter });
  }
}
