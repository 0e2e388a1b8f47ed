/**
 * The bridge's {@linkcode EventStore} on ChromaDB (chromadb 3.x client): `events` (the redacted
 * envelope as document, filter fields as metadata), `artifacts`, `embeddings` (vectors of
 * `indexable_text`) and `agent_state`. Writes are idempotent (event_id and hash), batched into a
 * few round trips, and resolve only once Chroma holds the events, embeddings and artifacts; any
 * Chroma failure is a {@linkcode StoreUnavailableError}. `agent_state` is derived from the stored
 * events and updated shortly after each write by `agent_state_updater.ts` (eventually
 * consistent; {@linkcode ChromaStore.flushAgentState} waits for it). A fifth collection, `usage`,
 * holds one immutable record per reading of an API response (`usage_records.ts`), written with
 * the events, for `GET /usage`.
 *
 * @module
 */
import {
  ChromaClient,
  ChromaNotFoundError,
  type Collection,
  type Metadata,
  type Where,
  type WhereDocument,
} from "chromadb";
import { ConfigError } from "../shared/config.ts";
import { uuidV7Time } from "../shared/ids.ts";
import type { Event } from "../shared/schema.ts";
import { usageDataOf } from "../shared/usage/usage_event.ts";
import {
  type AgentState,
  parseState,
  stateMetadata,
  type StateUsage,
  zeroUsage,
} from "./agent_state.ts";
import {
  type AgentStateUpdater,
  type AgentStateUpdaterOptions,
  createAgentStateUpdater,
  type StoredState,
} from "./agent_state_updater.ts";
import {
  EmbeddingError,
  type EmbeddingProvider,
  offlineProvider,
  providerDimension,
} from "./embeddings.ts";
import { type Cursor, decodeCursor, encodeCursor } from "./query_params.ts";
import {
  type CollectionName,
  COLLECTIONS,
  type EventStore,
  QUERY_FILTER_FIELDS,
  QueryError,
  type QueryParams,
  type QueryResult,
  StoreUnavailableError,
  type UsageFilter,
  type WriteResult,
} from "./store.ts";
import { raiseTokens, TOKEN_FIELDS, type TokenCounts, zeroTokens } from "../shared/usage/tokens.ts";
import {
  messageKey,
  recordFromMetadata,
  recordMetadata,
  USAGE_COLLECTION,
  type UsageRecord,
  usageRecordOf,
} from "./usage/records.ts";

/** How the auth token travels: Chroma Cloud reads `x-chroma-token`, token-auth servers either. */
export type ChromaAuthHeader = "x-chroma-token" | "authorization" | "both";

/** Where and how to reach Chroma. */
export interface ChromaConnection {
  /** Base URL, e.g. `http://127.0.0.1:8000` or `https://api.trychroma.com`. */
  url: string;
  /** Default "default_tenant" (Chroma Cloud: your tenant id). */
  tenant?: string;
  /** Default "default_database". */
  database?: string;
  /** Token for Chroma Cloud or a server with token auth. */
  authToken?: string;
  /** Which header carries `authToken`; default both `x-chroma-token` and `Authorization: Bearer`. */
  authHeader?: ChromaAuthHeader;
}

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
  /** Tuning of the agent_state updater (tests shorten its retries). */
  agentState?: AgentStateUpdaterOptions;
}

/** A chromadb client for `connection`; throws {@linkcode ConfigError} on a bad URL. */
export function chromaClient(connection: ChromaConnection): ChromaClient {
  let url: URL;
  try {
    url = new URL(connection.url);
  } catch {
    throw new ConfigError(`Cannot use Chroma URL "${connection.url}": it is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`Cannot use Chroma URL "${connection.url}": use http:// or https://`);
  }
  if (url.pathname !== "/" && url.pathname !== "") {
    throw new ConfigError(
      `Cannot use Chroma URL "${connection.url}": the chromadb client takes no path; give scheme, host and port`,
    );
  }
  const ssl = url.protocol === "https:";
  const headers: Record<string, string> = {};
  if (connection.authToken) {
    const how = connection.authHeader ?? "both";
    if (how !== "authorization") headers["x-chroma-token"] = connection.authToken;
    if (how !== "x-chroma-token") headers["authorization"] = `Bearer ${connection.authToken}`;
  }
  return new ChromaClient({
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port === "" ? (ssl ? 443 : 80) : Number(url.port),
    ssl,
    tenant: connection.tenant || "default_tenant",
    database: connection.database || "default_database",
    headers,
  });
}

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

/**
 * The vector of records that are not searched by similarity (events, artifacts, agent_state):
 * Chroma requires one, and one dimension costs the least to store and index.
 */
export const PLACEHOLDER_EMBEDDING: readonly number[] = [1];

/** agent_state metadata key: the updater flush that last wrote the record (see the updater). */
const UPDATE_ID = "update_id";

/** Events collection metadata key: set once an event id that is not a v7 of its ts is stored. */
const IRREGULAR_IDS = "irregular_ids";

/** Deepest a `q=` search pages: similarity ranks beyond this are noise. */
export const MAX_SEMANTIC_RESULTS = 10_000;

/** Most records per Chroma call (the server's limit is 5,461). */
const MAX_BATCH = 5_000;

/** Embeddings collection metadata recording the provider its vectors come from. */
interface EmbeddingStamp {
  embedding_provider: string;
  embedding_model: string;
  embedding_dimension: number;
}

type Collections = Record<CollectionName, Collection> & { [USAGE_COLLECTION]: Collection };

/** A candidate of an ordered page: id and sort key. */
interface Candidate {
  id: string;
  tsMs: number;
}

const bySortKey = (a: Candidate, b: Candidate) =>
  a.tsMs - b.tsMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The artifact record id: one per project and file hash. */
function artifactId(projectId: string | undefined, hash: string): string {
  return projectId === undefined ? hash : `${projectId}:${hash}`;
}

/**
 * `text=` as a document filter. Documents are JSON, where a quote inside a value is written
 * `\"`: the text matches as given (so JSON fragments like `"tool_name":"Bash"` work) or as it
 * appears inside a JSON string. The embeddings collection's documents are the plain texts.
 */
function textFilter(text: string, collection: CollectionName): WhereDocument {
  const escaped = JSON.stringify(text).slice(1, -1);
  if (collection === "embeddings" || escaped === text) return { $contains: text };
  return { $or: [{ $contains: text }, { $contains: escaped }] };
}

function chunks<T>(items: readonly T[], size = MAX_BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The EventStore on ChromaDB. Create one per bridge; it connects lazily and reconnects. */
export class ChromaStore implements EventStore {
  readonly #client: ChromaClient;
  readonly #embedder: EmbeddingProvider;
  readonly #timeoutMs: number;
  readonly #probe: number;
  #collections: Promise<Collections> | undefined;
  /** Set once an event id that is not a UUID v7 of its ts is known to be stored. */
  #irregularIds = false;
  /** The collection metadata write recording irregular ids, while one is under way. */
  #markingIrregular: Promise<void> | undefined;
  /**
   * The event ids and hashes (`hash:<hash>`) of writes in progress. Writes run concurrently, but
   * one that shares an id or hash with a write in progress waits for it, so dedupe always sees
   * the earlier write's result and no event is stored (or counted) twice.
   */
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #agentState: AgentStateUpdater;

  /** Checks the URL; connects on first use (or on {@linkcode ChromaStore.init}). */
  constructor(options: ChromaStoreOptions) {
    this.#client = chromaClient(options);
    this.#embedder = options.embeddings ?? offlineProvider();
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#probe = options.queryProbe ?? 1_000;
    this.#agentState = createAgentStateUpdater({
      read: (ids) => this.#readStates(ids),
      write: (states, updateId) => this.#upsertStates(states, updateId),
    }, options.agentState);
  }

  /**
   * Connects, creates the collections if needed and checks the embeddings collection was made
   * by the same provider. Throws {@linkcode StoreUnavailableError} when Chroma does not answer,
   * `ConfigError` on a provider mismatch.
   */
  async init(): Promise<void> {
    await this.#getCollections();
  }

  /** Runs one Chroma call with a deadline; every failure becomes StoreUnavailableError. */
  async #call<T>(what: string, run: () => Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        run(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${this.#timeoutMs} ms`)),
            this.#timeoutMs,
          );
        }),
      ]);
    } catch (error) {
      if (error instanceof StoreUnavailableError || error instanceof ConfigError) throw error;
      // A collection that vanished (a wiped or different server): look it up again next time.
      if (error instanceof ChromaNotFoundError) this.#collections = undefined;
      const reason = error instanceof Error ? error.message : String(error);
      throw new StoreUnavailableError(`Cannot ${what}: Chroma failed (${reason})`, {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  #getCollections(): Promise<Collections> {
    this.#collections ??= this.#openCollections().catch((error) => {
      this.#collections = undefined;
      throw error;
    });
    return this.#collections;
  }

  async #openCollections(): Promise<Collections> {
    let dimension: number;
    try {
      dimension = await providerDimension(this.#embedder);
    } catch (error) {
      throw new StoreUnavailableError(
        `Cannot open the embeddings collection: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const stamp: EmbeddingStamp = {
      embedding_provider: this.#embedder.name,
      embedding_model: this.#embedder.model,
      embedding_dimension: dimension,
    };
    const open = (name: CollectionName, metadata?: Metadata) =>
      this.#call(`open collection ${name}`, () =>
        this.#client.getOrCreateCollection({
          name,
          embeddingFunction: null,
          ...(metadata ? { metadata } : {}),
          ...(name === "embeddings" ? { configuration: { hnsw: { space: "cosine" } } } : {}),
        }));
    const [events, artifacts, embeddings, agentState, usage] = await Promise.all([
      open("events"),
      open("artifacts"),
      open("embeddings", { ...stamp }),
      open("agent_state"),
      this.#call(
        `open collection ${USAGE_COLLECTION}`,
        () =>
          this.#client.getOrCreateCollection({ name: USAGE_COLLECTION, embeddingFunction: null }),
      ),
    ]);
    const found = embeddings.metadata ?? {};
    const mismatch = (Object.keys(stamp) as (keyof EmbeddingStamp)[])
      .filter((key) => found[key] !== stamp[key]);
    if (mismatch.length > 0) {
      throw new ConfigError(
        `Cannot use embedding provider ${stamp.embedding_provider} (${stamp.embedding_model}, ` +
          `${dimension} dimensions): the embeddings collection holds vectors of ` +
          `${found.embedding_provider ?? "an unknown provider"} (${found.embedding_model ?? "?"}, ${
            found.embedding_dimension ?? "?"
          } dimensions). Set ZO_EMBEDDING_PROVIDER and ` +
          "ZO_EMBEDDING_MODEL back, or use a new Chroma database (CHROMA_DB_PATH)",
      );
    }
    return { events, artifacts, embeddings, agent_state: agentState, usage };
  }

  /**
   * Stores valid events once each; see {@linkcode EventStore.write}. Resolves once the events,
   * their embeddings and artifacts are in Chroma; their agent_state records follow shortly.
   */
  async write(events: readonly Event[]): Promise<WriteResult> {
    // A usage event also waits for writes of the same API response: its usage deltas are
    // computed against what those wrote.
    const keys = [
      ...new Set(
        events.flatMap((e) => {
          const own = e.hash === undefined ? [e.event_id] : [e.event_id, `hash:${e.hash}`];
          const usage = usageDataOf(e);
          return usage ? [...own, `usage:${messageKey(e.project_id, usage.message_id)}`] : own;
        }),
      ),
    ];
    while (true) {
      const conflicts = new Set(keys.flatMap((key) => this.#inFlight.get(key) ?? []));
      if (conflicts.size === 0) break;
      await Promise.all(conflicts);
    }
    const { promise: done, resolve } = Promise.withResolvers<void>();
    for (const key of keys) this.#inFlight.set(key, done);
    try {
      return await this.#write(events);
    } finally {
      for (const key of keys) {
        if (this.#inFlight.get(key) === done) this.#inFlight.delete(key);
      }
      resolve();
    }
  }

  /**
   * Resolves once the agent_state records reflect every write acknowledged so far (retrying
   * while Chroma fails). For tests, and for readers that need state and events to agree.
   */
  flushAgentState(): Promise<void> {
    return this.#agentState.flush();
  }

  /**
   * Applies the pending agent_state updates for at most `timeoutMs` (default 5,000), then stops
   * updating. Call on shutdown, before Chroma goes away. Resolves true when none were left.
   */
  close(options: { timeoutMs?: number } = {}): Promise<boolean> {
    return this.#agentState.close(options);
  }

  /** {@linkcode ChromaStore.close} with its default deadline. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #write(events: readonly Event[]): Promise<WriteResult> {
    if (events.length === 0) return { stored: [], duplicates: [] };
    const collections = await this.#getCollections();

    // Within the batch, the first event with an id or a hash wins.
    const seenIds = new Set<string>();
    const seenHashes = new Set<string>();
    const unique: Event[] = [];
    const duplicates: string[] = [];
    for (const event of events) {
      if (seenIds.has(event.event_id) || (event.hash !== undefined && seenHashes.has(event.hash))) {
        duplicates.push(event.event_id);
        continue;
      }
      seenIds.add(event.event_id);
      if (event.hash !== undefined) seenHashes.add(event.hash);
      unique.push(event);
    }

    // One round trip: stored ids and stored hashes.
    const [storedIds, storedHashes] = await Promise.all([
      this.#storedIds(collections.events, [...seenIds]),
      this.#storedHashes(collections.events, [...seenHashes]),
    ]);

    const fresh: Event[] = [];
    // Events whose id is stored already: redelivered. Their secondary records are written again
    // (Chroma ignores an add of an existing id) in case a failed earlier write left them out.
    const redelivered: Event[] = [];
    for (const event of unique) {
      if (storedIds.has(event.event_id)) {
        redelivered.push(event);
        duplicates.push(event.event_id);
      } else if (event.hash !== undefined && storedHashes.has(event.hash)) {
        duplicates.push(event.event_id);
      } else {
        fresh.push(event);
      }
    }
    const withSecondary = [...fresh, ...redelivered];
    if (!this.#irregularIds && fresh.some((e) => uuidV7Time(e.event_id) !== Date.parse(e.ts))) {
      // Recorded before the event is stored, so no reader orders it by its id. Concurrent writes
      // share one metadata write; each waits for it, and a failed one is tried again by the next.
      this.#markingIrregular ??= this.#call(
        "mark irregular event ids",
        () => collections.events.modify({ metadata: { [IRREGULAR_IDS]: true } }),
      ).then(() => {
        this.#irregularIds = true;
      }).finally(() => {
        this.#markingIrregular = undefined;
      });
      await this.#markingIrregular;
    }

    const usage = await this.#usageRecords(collections.usage, withSecondary, fresh);
    await Promise.all([
      this.#addEvents(collections.events, fresh),
      this.#addEmbeddings(collections.embeddings, withSecondary),
      this.#addArtifacts(collections.artifacts, withSecondary),
      this.#addUsage(collections.usage, usage.records),
    ]);
    // Only once the events are in, and only the fresh ones: a failed write is retried and then
    // finds them stored, so a state count may miss a batch after a failure (or a crash before the
    // updater applies it) but never counts one twice.
    this.#agentState.add(fresh, usage.raised);
    return { stored: fresh.map((e) => e.event_id), duplicates };
  }

  /**
   * The usage records of a batch's usage events that are not stored yet, and how much each
   * FRESH usage event raises its response's counts over every reading stored before it (the
   * agent_state usage deltas: a response adds its maximum once, however often it is read).
   */
  async #usageRecords(
    collection: Collection,
    events: readonly Event[],
    fresh: readonly Event[],
  ): Promise<{ records: UsageRecord[]; raised: Map<string, StateUsage> }> {
    const storedMs = Date.now();
    const records: UsageRecord[] = [];
    for (const event of events) {
      const record = await usageRecordOf(event, storedMs);
      if (record !== undefined) records.push(record);
    }
    const raised = new Map<string, StateUsage>();
    if (records.length === 0) return { records, raised };
    const stored = await this.#readUsage(collection, {
      message_key: [...new Set(records.map((r) => r.message_key))],
    });
    const known = new Set(stored.map((r) => r.id));
    const maxima = new Map<string, TokenCounts>();
    for (const record of stored) {
      maxima.set(
        record.message_key,
        raiseTokens(maxima.get(record.message_key) ?? zeroTokens(), record),
      );
    }
    const freshIds = new Set(fresh.map((e) => e.event_id));
    const added: UsageRecord[] = [];
    for (const record of records) {
      const before = maxima.get(record.message_key);
      const after = raiseTokens({ ...(before ?? zeroTokens()) }, record);
      maxima.set(record.message_key, after);
      if (!known.has(record.id)) {
        known.add(record.id);
        added.push(record);
      }
      if (!freshIds.has(record.event_id)) continue;
      const delta = zeroUsage();
      delta.messages = before === undefined ? 1 : 0;
      for (const field of TOKEN_FIELDS) delta[field] = after[field] - (before?.[field] ?? 0);
      if (delta.messages > 0 || TOKEN_FIELDS.some((field) => delta[field] > 0)) {
        raised.set(record.event_id, delta);
      }
    }
    return { records: added, raised };
  }

  async #addUsage(collection: Collection, records: readonly UsageRecord[]): Promise<void> {
    for (const part of chunks(records)) {
      await this.#call("store usage records", () =>
        collection.add({
          ids: part.map((r) => r.id),
          metadatas: part.map(recordMetadata),
          embeddings: part.map(() => [...PLACEHOLDER_EMBEDDING]),
        }));
    }
  }

  /**
   * Usage records matching equality filters: each field names the values it may take (`$in`
   * lists, a value at a time; never an operator from a client). Reads every match, page by page.
   */
  async #readUsage(
    collection: Collection,
    filters: Record<string, readonly string[]>,
    range: { since?: number; until?: number } = {},
  ): Promise<UsageRecord[]> {
    const records: UsageRecord[] = [];
    const lists = Object.entries(filters);
    // Long lists are split so that no one call names more than 500 values.
    const [field, values] = lists.find(([, v]) => v.length > 500) ?? [undefined, []];
    const parts = field === undefined ? [undefined] : chunks(values, 500);
    for (const part of parts) {
      const clauses: Where[] = [];
      for (const [name, list] of lists) {
        const use = name === field ? part! : list;
        if (use.length === 0) return records;
        clauses.push(
          use.length === 1
            ? { [name]: { $eq: use[0]! } } as Where
            : { [name]: { $in: [...use] } } as Where,
        );
      }
      if (range.since !== undefined) clauses.push({ ts_ms: { $gte: range.since } });
      if (range.until !== undefined) clauses.push({ ts_ms: { $lte: range.until } });
      const where = clauses.length === 0
        ? undefined
        : clauses.length === 1
        ? clauses[0]
        : { $and: clauses };
      for (let offset = 0;; offset += MAX_BATCH) {
        const page = await this.#call("read usage records", () =>
          collection.get({
            ...(where ? { where } : {}),
            limit: MAX_BATCH,
            offset,
            include: ["metadatas"],
          }));
        page.ids.forEach((id, i) => {
          const record = recordFromMetadata(id, page.metadatas[i]);
          if (record !== undefined) records.push(record);
        });
        if (page.ids.length < MAX_BATCH) break;
      }
    }
    return records;
  }

  /**
   * Every stored reading of every API response that may match `filter` (see
   * `EventStore.usageRecords`): the matching readings, plus, when the filter names more than the
   * project, the other readings of the same responses, so that the report can count each
   * response whole and by its owner.
   */
  async usageRecords(filter: UsageFilter): Promise<UsageRecord[]> {
    const visible = filter.project_ids;
    const wanted = filter.filters.project_id;
    let projects: readonly string[] | undefined = wanted === undefined ? visible : [wanted];
    if (visible !== undefined && wanted !== undefined && !visible.includes(wanted)) projects = [];
    if (projects !== undefined && projects.length === 0) return [];
    const { usage } = await this.#getCollections();
    const lists: Record<string, readonly string[]> = {};
    for (const [name, value] of Object.entries(filter.filters)) {
      if (typeof value === "string" && name !== "project_id") lists[name] = [value];
    }
    if (projects !== undefined) lists.project_id = projects;
    const range = { since: filter.since, until: filter.until };
    const matching = await this.#readUsage(usage, lists, range);
    const narrowed = Object.keys(lists).some((name) => name !== "project_id") ||
      range.since !== undefined || range.until !== undefined;
    if (!narrowed || matching.length === 0) return matching;
    // The other readings of these responses: their maxima and first owner may lie outside.
    const all = await this.#readUsage(usage, {
      message_key: [...new Set(matching.map((r) => r.message_key))],
    });
    return all;
  }

  async #storedIds(events: Collection, ids: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (const part of chunks(ids)) {
      const result = await this.#call(
        "look up event ids",
        () => events.get({ ids: part, include: [] }),
      );
      for (const id of result.ids) found.add(id);
    }
    return found;
  }

  async #storedHashes(events: Collection, hashes: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (const part of chunks(hashes)) {
      const result = await this.#call(
        "look up event hashes",
        () => events.get({ where: { hash: { $in: part } }, include: ["metadatas"] }),
      );
      for (const metadata of result.metadatas) {
        if (typeof metadata?.hash === "string") found.add(metadata.hash);
      }
    }
    return found;
  }

  async #readStates(ids: readonly string[]): Promise<Map<string, StoredState>> {
    const states = new Map<string, StoredState>();
    if (ids.length === 0) return states;
    const { agent_state: agentState } = await this.#getCollections();
    for (const part of chunks(ids)) {
      const result = await this.#call(
        "read agent state",
        () => agentState.get({ ids: part, include: ["documents", "metadatas"] }),
      );
      result.documents.forEach((document, i) => {
        const state = parseState(document);
        const updateId = result.metadatas[i]?.[UPDATE_ID];
        if (state === undefined) return;
        states.set(state.id, typeof updateId === "string" ? { state, updateId } : { state });
      });
    }
    return states;
  }

  async #addEvents(collection: Collection, events: readonly Event[]): Promise<void> {
    for (const part of chunks(events)) {
      await this.#call("store events", () =>
        collection.add({
          ids: part.map((e) => e.event_id),
          documents: part.map((e) => JSON.stringify(e)),
          metadatas: part.map(eventMetadata),
          embeddings: part.map(() => [...PLACEHOLDER_EMBEDDING]),
        }));
    }
  }

  async #addEmbeddings(collection: Collection, events: readonly Event[]): Promise<void> {
    const indexable = events.filter((e) => (e.indexable_text ?? "").trim() !== "");
    for (const part of chunks(indexable)) {
      const texts = part.map((e) => e.indexable_text!);
      let vectors: number[][];
      try {
        vectors = await this.#embedder.embed(texts);
      } catch (error) {
        const reason = error instanceof EmbeddingError ? error.message : String(error);
        throw new StoreUnavailableError(`Cannot embed events: ${reason}`, { cause: error });
      }
      await this.#call("store embeddings", () =>
        collection.add({
          ids: part.map((e) => e.event_id),
          documents: texts,
          metadatas: part.map(eventMetadata),
          embeddings: vectors,
        }));
    }
  }

  async #addArtifacts(collection: Collection, events: readonly Event[]): Promise<void> {
    const records = new Map<string, { document: string; metadata: Metadata }>();
    for (const event of events) {
      for (const ref of event.artifact_refs ?? []) {
        const id = artifactId(event.project_id, ref.hash);
        if (records.has(id)) continue;
        const context = eventMetadata(event);
        delete context.hash;
        const metadata: Metadata = {
          ...context,
          event_id: event.event_id,
          hash: ref.hash,
          artifact_type: ref.type,
          size_bytes: ref.size_bytes,
        };
        records.set(id, {
          document: JSON.stringify({
            ...ref,
            id,
            event_id: event.event_id,
            ts: event.ts,
            ...context,
          }),
          metadata,
        });
      }
    }
    for (const part of chunks([...records])) {
      await this.#call("store artifacts", () =>
        collection.add({
          ids: part.map(([id]) => id),
          documents: part.map(([, r]) => r.document),
          metadatas: part.map(([, r]) => r.metadata),
          embeddings: part.map(() => [...PLACEHOLDER_EMBEDDING]),
        }));
    }
  }

  async #upsertStates(states: readonly AgentState[], updateId: string): Promise<void> {
    const { agent_state: collection } = await this.#getCollections();
    for (const part of chunks(states)) {
      await this.#call("update agent state", () =>
        collection.upsert({
          ids: part.map((s) => s.id),
          documents: part.map((s) => JSON.stringify(s)),
          metadatas: part.map((s) => ({ ...stateMetadata(s), [UPDATE_ID]: updateId })),
          embeddings: part.map(() => [...PLACEHOLDER_EMBEDDING]),
        }));
    }
  }

  /** Record count per collection. */
  async counts(): Promise<Record<CollectionName, number>> {
    const collections = await this.#getCollections();
    const counts = await Promise.all(
      COLLECTIONS.map((name) => this.#call(`count ${name}`, () => collections[name].count())),
    );
    return Object.fromEntries(COLLECTIONS.map((name, i) => [name, counts[i]!])) as Record<
      CollectionName,
      number
    >;
  }

  /** One page of results; see {@linkcode QueryParams}. */
  async query(params: QueryParams): Promise<QueryResult> {
    const cursor = params.cursor === undefined ? undefined : decodeCursor(params.cursor);
    if (params.cursor !== undefined && cursor === undefined) {
      throw new QueryError("Cannot query: the cursor is not valid; start again without it");
    }
    const visible = this.#visibleProjects(params);
    if (visible === "none") return { results: [], next_cursor: null };
    const collections = await this.#getCollections();
    if (params.q !== undefined) {
      if (cursor !== undefined && !("o" in cursor)) {
        throw new QueryError("Cannot query: the cursor belongs to a query without q");
      }
      return await this.#semantic(collections, params, visible, cursor?.o ?? 0);
    }
    if (cursor !== undefined && !("t" in cursor)) {
      throw new QueryError("Cannot query: the cursor belongs to a query with q");
    }
    return await this.#ordered(collections, params, visible, cursor);
  }

  /** The project filter the caller's restriction allows: undefined = any, "none" = nothing. */
  #visibleProjects(params: QueryParams): readonly string[] | undefined | "none" {
    if (params.project_ids === undefined) return undefined;
    const wanted = params.filters.project_id;
    if (wanted !== undefined) return params.project_ids.includes(wanted) ? undefined : "none";
    return params.project_ids.length === 0 ? "none" : params.project_ids;
  }

  /** Equality filters with `$eq`, so a value can only ever be compared, never interpreted. */
  #where(
    params: QueryParams,
    visible: readonly string[] | undefined,
    range: { from?: number; to?: number },
  ): Where | undefined {
    const clauses: Where[] = [];
    for (const [field, value] of Object.entries(params.filters)) {
      if (typeof value === "string") clauses.push({ [field]: { $eq: value } } as Where);
    }
    if (visible !== undefined) clauses.push({ project_id: { $in: [...visible] } });
    const from = Math.max(params.since ?? -Infinity, range.from ?? -Infinity);
    const to = Math.min(params.until ?? Infinity, range.to ?? Infinity);
    if (Number.isFinite(from)) clauses.push({ ts_ms: { $gte: from } });
    if (Number.isFinite(to)) clauses.push({ ts_ms: { $lte: to } });
    if (clauses.length === 0) return undefined;
    return clauses.length === 1 ? clauses[0] : { $and: clauses };
  }

  /**
   * The first `count` records after the cursor, by (ts_ms, id). Chroma cannot sort, so this
   * fetches the ids of matches (at most a probe's worth at a time) and sorts them here. When
   * `idTime` is set, every id is a UUID v7 whose time is the record's ts, so ids alone give the
   * order (the cheapest read Chroma has); otherwise the ts comes from the metadata. When a probe
   * comes back full, unseen matches may sort first, but none later than the `count`-th smallest
   * ts seen: the time window shrinks to that and the probe is repeated. A window that cannot
   * shrink any more is read whole. Answers undefined when `idTime` meets an id that is not v7.
   */
  async #firstAfter(
    collection: Collection,
    params: QueryParams,
    visible: readonly string[] | undefined,
    cursor: { t: number; i: string } | undefined,
    count: number,
    idTime: boolean,
  ): Promise<Candidate[] | undefined> {
    const whereDocument = params.text === undefined
      ? undefined
      : textFilter(params.text, params.collection);
    let upper: number | undefined;
    let limit: number | undefined = Math.max(this.#probe, count * 2);
    // Chroma answers one equality clause much faster than an $and with a range: the cursor
    // joins the filter only when a probe has to narrow; until then it applies here.
    let ranged = false;
    while (true) {
      const where = this.#where(params, visible, ranged ? { from: cursor?.t, to: upper } : {});
      const result = await this.#call("query", () =>
        collection.get({
          ...(where ? { where } : {}),
          ...(whereDocument ? { whereDocument } : {}),
          ...(limit === undefined ? {} : { limit }),
          include: idTime ? [] : ["metadatas"],
        }));
      const candidates: Candidate[] = [];
      for (const [i, id] of result.ids.entries()) {
        const tsMs = idTime ? uuidV7Time(id) : result.metadatas[i]?.ts_ms;
        if (typeof tsMs !== "number") {
          if (idTime) return undefined;
          continue;
        }
        if (cursor && (tsMs < cursor.t || (tsMs === cursor.t && id <= cursor.i))) continue;
        candidates.push({ id, tsMs });
      }
      candidates.sort(bySortKey);
      if (limit === undefined || result.ids.length < limit) return candidates.slice(0, count);
      const bound = candidates[count - 1]?.tsMs;
      if (bound !== undefined && bound !== upper) {
        upper = bound;
        ranged = true;
      } else if (!ranged && cursor !== undefined) {
        ranged = true;
      } else {
        limit = undefined;
      }
    }
  }

  /**
   * True when every stored event id is a UUID v7 carrying its event's ts (as every producer in
   * this codebase makes them), so ids alone give the order. The events collection's metadata
   * says otherwise once any other id was stored, by any bridge.
   */
  async #idsCarryTime(): Promise<boolean> {
    if (this.#irregularIds) return false;
    const events = await this.#call(
      "read collection metadata",
      () => this.#client.getCollection({ name: "events" }),
    );
    if (events.metadata?.[IRREGULAR_IDS] === true) this.#irregularIds = true;
    return !this.#irregularIds;
  }

  async #ordered(
    collections: Collections,
    params: QueryParams,
    visible: readonly string[] | undefined,
    cursor: Cursor | undefined,
  ): Promise<QueryResult> {
    const collection = collections[params.collection];
    const after = cursor !== undefined && "t" in cursor ? cursor : undefined;
    const count = params.limit + 1;
    // Events and embeddings are keyed by event_id; artifacts and agent_state are not.
    const keyedByEvent = params.collection === "events" || params.collection === "embeddings";
    const candidates = (keyedByEvent && await this.#idsCarryTime() &&
      await this.#firstAfter(collection, params, visible, after, count, true)) ||
      (await this.#firstAfter(collection, params, visible, after, count, false))!;
    const page = candidates.slice(0, params.limit);
    const results = await this.#records(collection, params.collection, page.map((c) => c.id));
    const last = page.at(-1);
    return {
      results,
      next_cursor: candidates.length > params.limit && last !== undefined
        ? encodeCursor({ v: 1, t: last.tsMs, i: last.id })
        : null,
    };
  }

  /** The records of `ids`, in that order, as the API shows them. */
  async #records(collection: Collection, name: CollectionName, ids: string[]): Promise<unknown[]> {
    if (ids.length === 0) return [];
    const include: ("documents" | "metadatas")[] = name === "embeddings"
      ? ["documents", "metadatas"]
      : ["documents"];
    const result = await this.#call("read records", () => collection.get({ ids, include }));
    const byId = new Map<string, unknown>();
    result.ids.forEach((id, i) => {
      const document = result.documents[i];
      if (name === "embeddings") {
        byId.set(id, { event_id: id, indexable_text: document, ...result.metadatas[i] });
        return;
      }
      try {
        byId.set(id, JSON.parse(document ?? "null"));
      } catch {
        // A record this store did not write: show what there is rather than fail the page.
        byId.set(id, { id, document });
      }
    });
    return ids.filter((id) => byId.has(id)).map((id) => byId.get(id));
  }

  async #semantic(
    collections: Collections,
    params: QueryParams,
    visible: readonly string[] | undefined,
    offset: number,
  ): Promise<QueryResult> {
    let vector: number[];
    try {
      [vector] = await this.#embedder.embed([params.q!]) as [number[]];
    } catch (error) {
      throw new StoreUnavailableError(`Cannot embed the query: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const where = this.#where(params, visible, {});
    const end = offset + params.limit;
    if (offset >= MAX_SEMANTIC_RESULTS) return { results: [], next_cursor: null };
    let wanted = Math.min(end + 1, MAX_SEMANTIC_RESULTS);
    let ranked: { id: string; distance: number }[];
    while (true) {
      const result = await this.#call("search by similarity", () =>
        collections.embeddings.query({
          queryEmbeddings: [vector],
          nResults: wanted,
          ...(where ? { where } : {}),
          ...(params.text ? { whereDocument: { $contains: params.text } } : {}),
          include: ["distances"],
        }));
      const found = (result.ids[0] ?? []).map((id, i) => ({
        id,
        // Rounded so that equal texts tie exactly and the id decides, the same way every page.
        distance: Math.round((result.distances[0]?.[i] ?? 2) * 1e6) / 1e6,
      }));
      // Cosine distance 1 or more: nothing in common with q (no shared word, for offline).
      ranked = found.filter((r) => r.distance < 1);
      ranked.sort((a, b) => a.distance - b.distance || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const complete = found.length < wanted || ranked.length < found.length ||
        wanted >= MAX_SEMANTIC_RESULTS;
      // Matches tied with the page's edge may be left out of a k-nearest answer: widen it.
      const edge = ranked[Math.min(end, ranked.length) - 1]?.distance;
      if (complete || edge === undefined || ranked.at(-1)!.distance > edge) break;
      wanted = Math.min(wanted * 2, MAX_SEMANTIC_RESULTS);
    }
    const pageIds = ranked.slice(offset, end).map((r) => r.id);
    const source = params.collection === "embeddings" ? "embeddings" : "events";
    return {
      results: await this.#records(collections[source], source, pageIds),
      next_cursor: ranked.length > end && end < MAX_SEMANTIC_RESULTS
        ? encodeCursor({ v: 1, o: end })
        : null,
    };
  }
}
