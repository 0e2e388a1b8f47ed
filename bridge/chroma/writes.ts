/**
 * The idempotent write: a batch of valid events stored once each (by `event_id` and by `hash`,
 * within the batch and against what is stored), each as one `events` record carrying the vector
 * of its `indexable_text`, plus artifacts and usage records when there are any. One lookup round
 * trip (stored ids and stored hashes, two calls at once) and one add: Chroma's cost is per add far more than per lookup
 * (at 64 a call on this machine an add took ~170 ms, both lookups ~8 ms, the offline embedding
 * ~1 ms). Resolves only once Chroma holds them all.
 *
 * No write-conflict guard here: concurrent writes sharing an id, a hash or an API response must
 * not run at once, and the group committer (`../group_commit.ts`) is what makes sure of it.
 *
 * @module
 */
import type { Collection } from "chromadb";
import type { Event } from "../../shared/schema.ts";
import type { StateUsage } from "../agent_state.ts";
import { EmbeddingError, type EmbeddingProvider } from "../embeddings.ts";
import { StoreUnavailableError, type WriteResult } from "../store.ts";
import { usageDeltas } from "../usage/delta.ts";
import { type UsageRecord, usageRecordOf } from "../usage/records.ts";
import { addArtifacts } from "./artifacts.ts";
import type { Collections } from "./collections.ts";
import { type ChromaCall, chunks } from "./connection.ts";
import { eventRecordMetadata, isIndexable, placeholderVector } from "./event_records.ts";
import type { IrregularIds } from "./irregular_ids.ts";
import type { WriterStamp } from "./writer_stamp.ts";
import { addUsageRecords, readUsageRecords } from "./usage_records.ts";

/** What {@linkcode writeEvents} needs besides the events. */
export interface WriteContext {
  collections: Collections;
  call: ChromaCall;
  embedder: EmbeddingProvider;
  irregularIds: IrregularIds;
  /** Stamped on every event record this write adds (`writer_stamp.ts`). */
  stamp: WriterStamp;
}

/** Stores `events` once each; see the module doc and `EventStore.write`. */
export async function writeEvents(
  events: readonly Event[],
  ctx: WriteContext,
): Promise<WriteResult> {
  if (events.length === 0) return { stored: [], duplicates: [] };
  const { collections, call } = ctx;

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
    storedEventIds(collections.events, { ids: [...seenIds], call }),
    storedEventHashes(collections.events, { hashes: [...seenHashes], call }),
  ]);

  const fresh: Event[] = [];
  // Events whose id is stored already: redelivered. Their artifact and usage records are written
  // again (Chroma ignores an add of an existing id) in case a failed earlier write left them out.
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
  await ctx.irregularIds.markFor(collections.events, { fresh, call });

  const usage = await batchUsage(collections.usage, { events: withSecondary, fresh, call });
  await Promise.all([
    addEvents(collections.events, { events: fresh, ctx }),
    addArtifacts(collections.artifacts, { events: withSecondary, call }),
    addUsageRecords(collections.usage, { records: usage.added, call }),
  ]);
  const result: WriteResult = { stored: fresh.map((e) => e.event_id), duplicates };
  if (usage.raised.size > 0) result.usage = usage.raised;
  return result;
}

/**
 * The usage records of a batch's usage events that are not stored yet, and how much each FRESH
 * usage event raises its response's counts over every reading stored before it.
 */
async function batchUsage(
  collection: Collection,
  options: { events: readonly Event[]; fresh: readonly Event[]; call: ChromaCall },
): Promise<{ added: UsageRecord[]; raised: Map<string, StateUsage> }> {
  const storedMs = Date.now();
  const records: UsageRecord[] = [];
  for (const event of options.events) {
    const record = await usageRecordOf(event, storedMs);
    if (record !== undefined) records.push(record);
  }
  if (records.length === 0) return { added: [], raised: new Map() };
  const stored = await readUsageRecords(collection, {
    call: options.call,
    filters: { message_key: [...new Set(records.map((r) => r.message_key))] },
  });
  return usageDeltas(records, {
    stored,
    freshIds: new Set(options.fresh.map((e) => e.event_id)),
  });
}

async function storedEventIds(
  events: Collection,
  options: { ids: string[]; call: ChromaCall },
): Promise<Set<string>> {
  const found = new Set<string>();
  for (const part of chunks(options.ids)) {
    const result = await options.call(
      "look up event ids",
      () => events.get({ ids: part, include: [] }),
    );
    for (const id of result.ids) found.add(id);
  }
  return found;
}

async function storedEventHashes(
  events: Collection,
  options: { hashes: string[]; call: ChromaCall },
): Promise<Set<string>> {
  const found = new Set<string>();
  for (const part of chunks(options.hashes)) {
    const result = await options.call(
      "look up event hashes",
      () => events.get({ where: { hash: { $in: part } }, include: ["metadatas"] }),
    );
    for (const metadata of result.metadatas) {
      if (typeof metadata?.hash === "string") found.add(metadata.hash);
    }
  }
  return found;
}

async function addEvents(
  collection: Collection,
  options: { events: readonly Event[]; ctx: WriteContext },
): Promise<void> {
  const { call, embedder, collections, stamp } = options.ctx;
  for (const part of chunks(options.events)) {
    const vectors = await embed(part, { embedder, dimension: collections.dimension });
    await call("store events", () =>
      collection.add({
        ids: part.map((e) => e.event_id),
        documents: part.map((e) => JSON.stringify(e)),
        metadatas: part.map((event) => eventRecordMetadata(event, stamp)),
        embeddings: vectors,
      }));
  }
}

/** One vector per event: of its `indexable_text`, or the placeholder when it has none. */
async function embed(
  events: readonly Event[],
  options: { embedder: EmbeddingProvider; dimension: number },
): Promise<number[][]> {
  const indexable = events.filter(isIndexable);
  let vectors: number[][] = [];
  try {
    if (indexable.length > 0) {
      vectors = await options.embedder.embed(indexable.map((e) => e.indexable_text!));
    }
  } catch (error) {
    const reason = error instanceof EmbeddingError ? error.message : String(error);
    throw new StoreUnavailableError(`Cannot embed events: ${reason}`, { cause: error });
  }
  const placeholder = placeholderVector(options.dimension);
  let next = 0;
  return events.map((e) => isIndexable(e) ? vectors[next++]! : placeholder);
}
