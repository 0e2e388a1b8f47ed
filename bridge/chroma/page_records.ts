/**
 * The records of one query page, bounded by bytes: the planners (`query_planner.ts`,
 * `semantic.ts`) choose the ids in order, and this reads their documents until the next one would
 * take the page past its byte bound (always one at least, so a cursor advances). Event records
 * carry their size (`doc_bytes`), read first with the metadata alone, so only the documents of the
 * page are fetched; a page that would fit even if every event were 256 KB is read at once, as
 * before. An event stored before `doc_bytes` existed is assumed 256 KB (the default event bound),
 * so such pages are read a few records at a time. The `embeddings` view counts the documents it
 * reads to show each event's text. Artifacts and agent_state records are built by the bridge from
 * bounded fields (a few KB each): a page of them is read whole, then cut at the bound. The bytes
 * read are taken from the caller's budget (`reserve`) before they are read, or, for a page read
 * whole, once read.
 *
 * @module
 */
import type { Collection } from "chromadb";
import { LIMITS } from "../../shared/contract.ts";
import { utf8Bytes } from "../_util.ts";
import type { CollectionName } from "../store.ts";
import { type ChromaCall, chunks } from "./connection.ts";
import { DOC_BYTES_KEY, INTERNAL_METADATA_KEYS } from "./event_records.ts";

/** What an event record without `doc_bytes` (stored before it existed) is taken to weigh. */
export const ASSUMED_RECORD_BYTES = LIMITS.defaultMaxEventBytes;

/** A record as the API shows it, with the bytes it takes serialized. */
export interface PageRecord {
  value: unknown;
  bytes: number;
}

/** The outcome of {@linkcode readPageRecords}. */
export interface PageRecords {
  /** The records of the ids taken, in their order (an id no longer stored is skipped). */
  results: unknown[];
  /** How many of the ids the page took, from the first: the cursor continues after the last. */
  taken: number;
  /** Bytes of `results` serialized. */
  bytes: number;
}

/** What {@linkcode readPageRecords} reads with. */
export interface PageRecordsOptions {
  name: CollectionName;
  /** The page's ids, in order. */
  ids: readonly string[];
  call: ChromaCall;
  /** Most bytes of serialized records the page holds (past it only when its first record is). */
  maxBytes: number;
  /** Called with the bytes about to be read, before they are; throws to refuse the page. */
  reserve?: ((bytes: number) => Promise<void>) | undefined;
}

/** Reads the records of a page's ids, in order, stopping where the byte bound says. */
export async function readPageRecords(
  collection: Collection,
  options: PageRecordsOptions,
): Promise<PageRecords> {
  const { name, ids, call, maxBytes } = options;
  const out: PageRecords = { results: [], taken: 0, bytes: 0 };
  if (ids.length === 0) return out;
  // What the page holds is at most its bound (or its one record): it never reserves more, so a
  // key's share (at least a page) can always take it.
  let reserved = 0;
  const reserve = async (bytes: number) => {
    const more = Math.min(bytes, maxBytes - reserved);
    if (more <= 0 || options.reserve === undefined) return;
    await options.reserve(more);
    reserved += more;
  };
  const sized = name === "events" || name === "embeddings";
  if (!sized || ids.length * ASSUMED_RECORD_BYTES <= maxBytes) {
    // Small enough to read whole (events of at most 256 KB each; artifacts and agent_state
    // records of a few KB): then it takes the bytes it read.
    const records = await readRecords(collection, { name, ids, call });
    let read = 0;
    for (const record of records.values()) read += record.bytes;
    await reserve(read);
    take(out, { ids, from: 0, to: ids.length, records, maxBytes });
    return out;
  }
  const sizes = await recordSizes(collection, { ids, call });
  let start = 0;
  while (start < ids.length) {
    // The ids from `start` whose sizes fit what the page has left (one at least, on a page
    // still empty).
    let end = start;
    let planned = 0;
    while (end < ids.length) {
      const known = sizes.get(ids[end]!);
      const size = known ?? ASSUMED_RECORD_BYTES;
      // A record of unknown size may still fit what is left: it is read alone to find out.
      const alone = end === start && (out.results.length === 0 || known === undefined);
      if (!alone && out.bytes + planned + size > maxBytes) break;
      planned += size;
      end++;
    }
    if (end === start) break;
    await reserve(planned);
    const records = await readRecords(collection, { name, ids: ids.slice(start, end), call });
    let read = 0;
    for (const record of records.values()) read += record.bytes;
    // A record larger than its doc_bytes said (written by something else): held all the same.
    if (read > planned) await reserve(read - planned);
    if (!take(out, { ids, from: start, to: end, records, maxBytes })) break;
    start = end;
  }
  return out;
}

/** Adds records `from`..`to` of `ids` to the page while they fit; false once one did not. */
function take(
  out: PageRecords,
  options: {
    ids: readonly string[];
    from: number;
    to: number;
    records: Map<string, PageRecord>;
    maxBytes: number;
  },
): boolean {
  for (let i = options.from; i < options.to; i++) {
    const record = options.records.get(options.ids[i]!);
    if (record !== undefined) {
      if (out.results.length > 0 && out.bytes + record.bytes > options.maxBytes) return false;
      out.results.push(record.value);
      out.bytes += record.bytes;
    }
    out.taken = i + 1;
  }
  return true;
}

/** The `doc_bytes` of the ids' records, from their metadata alone (never their documents). */
async function recordSizes(
  collection: Collection,
  options: { ids: readonly string[]; call: ChromaCall },
): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const part of chunks(options.ids)) {
    const result = await options.call(
      "read record sizes",
      () => collection.get({ ids: part, include: ["metadatas"] }),
    );
    result.ids.forEach((id, i) => {
      const bytes = result.metadatas[i]?.[DOC_BYTES_KEY];
      if (typeof bytes === "number" && Number.isSafeInteger(bytes) && bytes >= 0) {
        sizes.set(id, bytes);
      }
    });
  }
  return sizes;
}

/** The records of `ids` as the API shows them, by id, with their serialized bytes. */
export async function readRecords(
  collection: Collection,
  options: { name: CollectionName; ids: readonly string[]; call: ChromaCall },
): Promise<Map<string, PageRecord>> {
  const { name, ids } = options;
  const byId = new Map<string, PageRecord>();
  if (ids.length === 0) return byId;
  const include: ("documents" | "metadatas")[] = name === "embeddings"
    ? ["documents", "metadatas"]
    : ["documents"];
  const result = await options.call(
    "read records",
    () => collection.get({ ids: [...ids], include }),
  );
  result.ids.forEach((id, i) => {
    const document = result.documents[i];
    let parsed: unknown;
    try {
      parsed = JSON.parse(document ?? "null");
    } catch {
      // A record this store did not write: show what there is rather than fail the page.
      const value = { id, document };
      byId.set(id, { value, bytes: utf8Bytes(JSON.stringify(value)) });
      return;
    }
    if (name !== "embeddings") {
      // The document is the record's JSON as the store wrote it: the page serializes it the same.
      byId.set(id, { value: parsed, bytes: utf8Bytes(document ?? "null") });
      return;
    }
    // The embeddings view: the event's text and its filter fields, as the old collection had.
    const metadata = { ...result.metadatas[i] };
    for (const key of INTERNAL_METADATA_KEYS) delete metadata[key];
    const event = parsed as { event_id?: unknown; indexable_text?: unknown } | null;
    // The event's own id: a derived record id (`event_records.ts`) is the store's, not the event's.
    const eventId = typeof event?.event_id === "string" ? event.event_id : id;
    // Counted by the document read to show it (what the page held), more than the view's own.
    byId.set(id, {
      value: { event_id: eventId, indexable_text: event?.indexable_text, ...metadata },
      bytes: utf8Bytes(document ?? "null"),
    });
  });
  return byId;
}
