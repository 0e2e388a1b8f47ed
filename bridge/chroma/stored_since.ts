/**
 * What any bridge stored since a point, read from the `events` collection by the write stamps
 * every record carries (`writer_stamp.ts`): the source of the shared live feed (`live_feed.ts`).
 *
 * Reading is in two steps because Chroma's cost is in the metadata it returns, not in matching:
 * {@linkcode idsWrittenSince} is one range on `write_seq` returning ids only (8 ms for 2,000
 * records, against 280-380 ms with their metadata, on the loaded 2-core test machine), so a feed
 * that looks back over the same seconds again and again pays little for it; then
 * {@linkcode writesByIds} reads the stamp and envelope of just the records the caller has not
 * seen. The range is the whole `where`, and the caller tells writers apart: a conjunction with
 * `writer != me` would need the metadata of every record in the range.
 *
 * @module
 */
import type { Collection } from "chromadb";
import type { Event } from "../../shared/schema.ts";
import type { StampPage, StoredWrite } from "../store.ts";
import type { ChromaCall } from "./connection.ts";
import { WRITE_SEQ_KEY, WRITER_KEY } from "./writer_stamp.ts";

/**
 * Ids of the records whose `write_seq` is at least `seq`, one page (records written before
 * stamps existed never match).
 */
export async function idsWrittenSince(
  events: Collection,
  options: { call: ChromaCall; seq: number; page: StampPage },
): Promise<string[]> {
  const { call, seq, page } = options;
  const result = await call("read recent writes", () =>
    events.get({
      where: { [WRITE_SEQ_KEY]: { $gte: seq } },
      limit: page.limit,
      offset: page.offset,
      include: [],
    }));
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
