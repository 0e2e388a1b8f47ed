/**
 * What any bridge stored since a point, read from the `events` collection by the write stamps
 * every record carries (`writer_stamp.ts`): the source of the shared live feed (`live_feed.ts`).
 *
 * Reading is in two steps because Chroma's cost is in the records it returns, not in matching
 * (the range is served from Chroma's `(key, int_value)` index): {@linkcode idsWrittenSince} is
 * one range on `write_seq` returning ids only (15 ms for a window of 2,000 records among 100,000,
 * against 133 ms with their metadata, `bench/live_feed_bench.ts`), so a feed that looks back over the same seconds again
 * and again pays little for it; then {@linkcode writesByIds} reads the stamp and envelope of just
 * the records the caller has not seen. The range is the whole `where`, and the caller tells
 * writers apart: a conjunction with `writer != me` would need the metadata of every record in the
 * range.
 *
 * @module
 */
import type { Collection } from "chromadb";
import type { Event } from "../../shared/schema.ts";
import type { StoredWrite } from "../store.ts";
import type { ChromaCall } from "./connection.ts";
import { WRITE_SEQ_KEY, WRITER_KEY } from "./writer_stamp.ts";

/**
 * Ids of the records whose `write_seq` is at least `seq`, at most `limit` of them (records
 * written before stamps existed never match). One call, never paged: Chroma re-reads the range
 * for every `offset`, so 20,000 ids in pages of 1,000 took 864 ms against 62 ms in one call.
 */
export async function idsWrittenSince(
  events: Collection,
  options: { call: ChromaCall; seq: number; limit: number },
): Promise<string[]> {
  const { call, seq, limit } = options;
  const result = await call(
    "read recent writes",
    () => events.get({ where: { [WRITE_SEQ_KEY]: { $gte: seq } }, limit, include: [] }),
  );
  return result.ids;
}

function envelopeOf(id: string, document: string | null | undefined): Event | undefined {
  try {
    const parsed = JSON.parse(document ?? "null");
    // The bridge stores the validated envelope as the document: a record that is not one was
    // not written by a bridge, and has nothing to show on a live stream.
    if (typeof parsed === "object" && parsed !== null && parsed.event_id === id) {
      return parsed as Event;
    }
  } catch { /* not JSON: see above */ }
  return undefined;
}

/** The stamps and envelopes of `ids` (at most 5,000), in the order given; unknown ids left out. */
export async function writesByIds(
  events: Collection,
  options: { call: ChromaCall; ids: readonly string[] },
): Promise<StoredWrite[]> {
  if (options.ids.length === 0) return [];
  const result = await options.call(
    "read recent events",
    () => events.get({ ids: [...options.ids], include: ["metadatas", "documents"] }),
  );
  const byId = new Map<string, StoredWrite>();
  result.ids.forEach((id, i) => {
    const metadata = result.metadatas[i];
    const writer = metadata?.[WRITER_KEY];
    const seq = metadata?.[WRITE_SEQ_KEY];
    byId.set(id, {
      id,
      writer: typeof writer === "string" ? writer : "",
      seq: typeof seq === "number" ? seq : 0,
      event: envelopeOf(id, result.documents[i]),
    });
  });
  return options.ids.flatMap((id) => byId.get(id) ?? []);
}
