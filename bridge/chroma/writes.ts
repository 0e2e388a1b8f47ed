/**
 * The idempotent write: a batch of valid events stored once each within its project (by
 * `event_id` and by `hash`, within the batch and against what is stored), each as one `events`
 * record carrying the vector of its `indexable_text`, plus artifacts and usage records when there
 * are any. One lookup round trip (stored ids and stored hashes, two calls at once) and one add
 * per 8 MiB of records (`request_bytes.ts`): Chroma's cost is per add far more than per lookup
 * (at 64 a call on this machine an add took ~170 ms, both lookups ~8 ms, the offline embedding
 * ~1 ms). Resolves only once Chroma holds them all. After the add, one read-back by ids says which
 * adds were this write's own (`write_claims.ts`): with several bridges on one Chroma, an event
 * another bridge added first is a duplicate here.
 *
 * Dedupe is scoped to the project, so a key of one project never learns from a "duplicate"
 * whether another project holds an event id or a hash: an event is a duplicate only of an event
 * of its own project. Its record id is its event_id, unless another project's event holds that
 * already: then its derived id (`derivedRecordId()`), and a redelivery looks up both.
 *
 * No write-conflict guard here: concurrent writes sharing an id, a hash or an API response must
 * not run at once, and the group committer (`../group_commit.ts`) is what makes sure of it.
 *
 * @module
 */
import type { Collection, Metadata } from "chromadb";
import type { Event } from "../../shared/schema.ts";
import type { StateUsage } from "../agent_state.ts";
import { EmbeddingError, type EmbeddingProvider } from "../embeddings.ts";
import { StoreRejectedError, StoreUnavailableError, type WriteResult } from "../store.ts";
import { usageDeltas } from "../usage/delta.ts";
import { type UsageRecord, usageRecordOf } from "../usage/records.ts";
import { addArtifacts } from "./artifacts.ts";
import type { Collections } from "./collections.ts";
import { type ChromaCall, chunks, MAX_BATCH } from "./connection.ts";
import {
  derivedRecordId,
  eventRecordMetadata,
  isIndexable,
  placeholderVector,
  projectTag,
} from "./event_records.ts";
import type { IrregularIds } from "./irregular_ids.ts";
import { type AddRecord, chunksByBytes, MAX_ADD_BYTES, recordBytes } from "./request_bytes.ts";
import { addUsageRecords, readUsageRecords } from "./usage_records.ts";
import { claimsOf } from "./write_claims.ts";
import type { WriterStamp } from "./writer_stamp.ts";

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

  // Within the batch, the first event of a project with an id or a hash wins.
  const seen = new Set<string>();
  const unique: Event[] = [];
  const duplicates: string[] = [];
  for (const event of events) {
    const idKey = scoped(event.project_id, `id:${event.event_id}`);
    const hashKey = event.hash === undefined ? undefined : scoped(event.project_id, event.hash);
    if (seen.has(idKey) || (hashKey !== undefined && seen.has(hashKey))) {
      duplicates.push(event.event_id);
      continue;
    }
    seen.add(idKey);
    if (hashKey !== undefined) seen.add(hashKey);
    unique.push(event);
  }
  const tags = new Map<string | undefined, string>();
  const derived = new Map<Event, string>();
  for (const event of unique) {
    let tag = tags.get(event.project_id);
    if (tag === undefined) tags.set(event.project_id, tag = await projectTag(event.project_id));
    derived.set(event, derivedRecordId(event.event_id, tag));
  }

  // One round trip: who holds the ids (plain and derived), and which projects hold the hashes.
  const [idOwners, storedHashes] = await Promise.all([
    storedRecordOwners(collections.events, {
      ids: [...new Set(unique.flatMap((e) => [e.event_id, derived.get(e)!]))],
      call,
    }),
    storedEventHashes(collections.events, {
      hashes: [...new Set(unique.flatMap((e) => e.hash === undefined ? [] : [e.hash]))],
      call,
    }),
  ]);

  const fresh: FreshEvent[] = [];
  // Events stored already by their project: redelivered. Their artifact and usage records are
  // written again (Chroma ignores an add of an existing id) in case a failed earlier write left
  // them out.
  const redelivered: Event[] = [];
  for (const event of unique) {
    const scope = scopeOf(event.project_id);
    const plainOwner = idOwners.get(event.event_id);
    if (plainOwner === scope || idOwners.get(derived.get(event)!) === scope) {
      redelivered.push(event);
      duplicates.push(event.event_id);
    } else if (event.hash !== undefined && storedHashes.has(scoped(event.project_id, event.hash))) {
      duplicates.push(event.event_id);
    } else {
      // Another project holds the plain id (stored, or taken earlier in this batch): this one is
      // kept under its derived id, so neither project learns of the other's event.
      const id = plainOwner === undefined ? event.event_id : derived.get(event)!;
      idOwners.set(id, scope);
      fresh.push({ id, event });
    }
  }
  const freshEvents = fresh.map((f) => f.event);
  const withSecondary = [...freshEvents, ...redelivered];
  await ctx.irregularIds.markFor(collections.events, { fresh: freshEvents, call });

  const usage = await batchUsage(collections.usage, {
    events: withSecondary,
    fresh: freshEvents,
    call,
  });
  const stored: string[] = [];
  const [added, ...others] = await Promise.allSettled([
    addEvents(collections.events, { records: fresh, ctx, stored }),
    addArtifacts(collections.artifacts, { events: withSecondary, call }),
    addUsageRecords(collections.usage, { records: usage.added, call }),
  ]);
  const failures = [added, ...others].flatMap((r) => r.status === "rejected" ? [r.reason] : []);
  if (failures.length > 0) {
    // Down beats refused: a write Chroma could not take at all is retried whole, not split.
    const down = failures.find((error) => !(error instanceof StoreRejectedError));
    if (down !== undefined) throw down;
    const landed = new Set(
      added.status === "fulfilled" ? freshEvents.map((e) => e.event_id) : stored,
    );
    const claims = await claimsOf(collections.events, {
      records: fresh.filter((f) => landed.has(f.event.event_id)),
      stamp: ctx.stamp,
      call,
    });
    throw new StoreRejectedError((failures[0] as Error).message, {
      cause: failures[0],
      stored: [...claims.own],
    });
  }
  // Another bridge may have added some of them first: only this write's own adds are stored here.
  const claims = await claimsOf(collections.events, { records: fresh, stamp: ctx.stamp, call });
  if (claims.collided.length > 0) {
    throw new StoreUnavailableError(
      `Cannot store events: another project's event took event id ${
        claims.collided[0]
      } at the same instant; retry (it is then stored under an id of its own)`,
    );
  }
  const result: WriteResult = {
    stored: freshEvents.flatMap((e) => claims.own.has(e.event_id) ? [e.event_id] : []),
    duplicates: [...duplicates, ...claims.lost],
  };
  const raised = new Map([...usage.raised].filter(([id]) => claims.own.has(id)));
  if (raised.size > 0) result.usage = raised;
  return result;
}

/** A fresh event and the id of its record. */
interface FreshEvent {
  id: string;
  event: Event;
}

/** The dedupe scope of a project: its id, or null for events without one. */
function scopeOf(projectId: string | undefined): string | null {
  return projectId ?? null;
}

/** `value` within the scope of `projectId`, as one key. */
function scoped(projectId: string | undefined, value: string): string {
  return JSON.stringify([scopeOf(projectId), value]);
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

/** The project scope of each of `ids` that is stored, by record id. */
async function storedRecordOwners(
  events: Collection,
  options: { ids: string[]; call: ChromaCall },
): Promise<Map<string, string | null>> {
  const owners = new Map<string, string | null>();
  for (const part of chunks(options.ids)) {
    const result = await options.call(
      "look up event ids",
      () => events.get({ ids: part, include: ["metadatas"] }),
    );
    result.ids.forEach((id, i) => {
      const project = result.metadatas[i]?.project_id;
      owners.set(id, typeof project === "string" ? project : null);
    });
  }
  return owners;
}

/**
 * The stored hashes among `hashes`, each within its project's scope ({@linkcode scoped}). One
 * `$in` on the hash, the project compared here: an `$and` with the project costs Chroma 2.5 to 4
 * times one condition.
 */
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
      if (typeof metadata?.hash !== "string") continue;
      const project = metadata.project_id;
      found.add(scoped(typeof project === "string" ? project : undefined, metadata.hash));
    }
  }
  return found;
}

/**
 * Adds the records of `records` in parts bounded by count and bytes ({@linkcode MAX_ADD_BYTES}),
 * pushing each part's event ids onto `stored` once Chroma holds it.
 */
async function addEvents(
  collection: Collection,
  options: { records: readonly FreshEvent[]; ctx: WriteContext; stored: string[] },
): Promise<void> {
  const { call, embedder, collections, stamp } = options.ctx;
  for (const part of chunks(options.records)) {
    const vectors = await embed(part.map((r) => r.event), {
      embedder,
      dimension: collections.dimension,
    });
    const records: AddRecord[] = part.map((r, i) => {
      const document = JSON.stringify(r.event);
      return {
        id: r.id,
        document,
        metadata: eventRecordMetadata(r.event, stamp, document),
        embedding: vectors[i]!,
      };
    });
    const adds = chunksByBytes(records, {
      sizeOf: recordBytes,
      maxBytes: MAX_ADD_BYTES,
      maxRecords: MAX_BATCH,
    });
    let done = 0;
    for (const add of adds) {
      await call("store events", () =>
        collection.add({
          ids: add.map((r) => r.id),
          documents: add.map((r) => r.document),
          metadatas: add.map((r) => r.metadata as Metadata),
          embeddings: add.map((r) => [...r.embedding]),
        }));
      for (const record of part.slice(done, done + add.length)) {
        options.stored.push(record.event.event_id);
      }
      done += add.length;
    }
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
