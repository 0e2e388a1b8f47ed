/**
 * The `agent_state` collection as one bridge's {@linkcode StateRecords}. Each bridge writes only
 * records of its own: the partial record of state `<id>` is `<id>~<bridge id>`, holding what
 * this bridge's stored events add to it (metadata `state_id`, `bridge`). Reads sum the partials
 * of a state (`merged_state.ts`), so bridges sharing one Chroma never read-modify-write the same
 * record and no update is lost between them.
 *
 * Crashes: every partial record carries a `watermark` (a write sequence number of this bridge,
 * `writer_stamp.ts`): it holds exactly this bridge's stored events touching it with a sequence
 * number up to the watermark, because the write ledger (`write_claims.ts`) hands results over
 * gap-free in sequence order. A marker record per bridge (`marker~<bridge id>`) holds the
 * watermark of the last flush that completed. At start, {@linkcode StateRecords.recover} reads
 * the events this bridge id stored after the marker and before this run's first write, and
 * folds into each partial the ones above its own watermark: what a crash left unapplied is
 * counted, once, when the bridge starts again with the same `ZO_BRIDGE_ID`.
 *
 * @module
 */
import type { Collection, Metadata, Where } from "chromadb";
import type { Event } from "../../shared/schema.ts";
import {
  type AgentState,
  applyEvents,
  parseState,
  stateKeysOf,
  stateMetadata,
} from "../agent_state.ts";
import type { StateRecords, StoredState } from "../agent_state_updater.ts";
import { type ChromaCall, chunks, PLACEHOLDER_EMBEDDING } from "./connection.ts";
import { WRITE_SEQ_KEY, WRITER_KEY } from "./writer_stamp.ts";

/** agent_state metadata key: the updater flush that last wrote the record (see the updater). */
const UPDATE_ID = "update_id";
/** agent_state metadata key: the state a partial record is part of. */
export const STATE_ID_KEY = "state_id";
/** agent_state metadata key: the bridge that owns (alone writes) a partial record. */
export const BRIDGE_KEY = "bridge";
/** agent_state metadata key: this bridge's write sequence number the record is complete to. */
export const WATERMARK_KEY = "watermark";
/** agent_state metadata key: the record's latest event (breaks ties of ts between partials). */
export const LAST_EVENT_ID_KEY = "last_event_id";
/** The `scope` of a bridge's marker record: no state scope, so state reads never match it. */
export const MARKER_SCOPE = "bridge_marker";

/** The record id of `bridge`'s part of state `stateId`. */
export function partialId(stateId: string, bridge: string): string {
  return `${stateId}~${bridge}`;
}

/** What {@linkcode chromaStateRecords} works on. */
export interface StateRecordsOptions {
  /** The `agent_state` collection. */
  agentState: () => Promise<Collection>;
  /** The `events` collection (read at recovery). */
  events: () => Promise<Collection>;
  call: ChromaCall;
  /** This bridge's id (`ZO_BRIDGE_ID`): whose partial records these are. */
  bridge: string;
  /** The first write sequence number of this run: recovery reads what came before it. */
  startSeq: number;
}

/** This bridge's partial records in the `agent_state` collection; see the module doc. */
export function chromaStateRecords(options: StateRecordsOptions): StateRecords {
  const { call, bridge } = options;
  const markerId = `marker~${bridge}`;

  async function readOwn(
    ids: readonly string[],
  ): Promise<Map<string, StoredState & { watermark: number }>> {
    const states = new Map<string, StoredState & { watermark: number }>();
    if (ids.length === 0) return states;
    const agentState = await options.agentState();
    for (const part of chunks(ids)) {
      const result = await call(
        "read agent state",
        () =>
          agentState.get({
            ids: part.map((id) => partialId(id, bridge)),
            include: ["documents", "metadatas"],
          }),
      );
      result.documents.forEach((document, i) => {
        const state = parseState(document);
        if (state === undefined) return;
        const metadata = result.metadatas[i];
        const updateId = metadata?.[UPDATE_ID];
        const watermark = metadata?.[WATERMARK_KEY];
        states.set(state.id, {
          state,
          ...(typeof updateId === "string" ? { updateId } : {}),
          watermark: typeof watermark === "number" ? watermark : 0,
        });
      });
    }
    return states;
  }

  async function write(
    states: readonly AgentState[],
    updateId: string,
    watermark?: number,
  ): Promise<void> {
    const agentState = await options.agentState();
    for (const part of chunks(states)) {
      await call("update agent state", () =>
        agentState.upsert({
          ids: part.map((s) => partialId(s.id, bridge)),
          documents: part.map((s) => JSON.stringify(s)),
          metadatas: part.map((s) => {
            const metadata: Metadata = {
              ...stateMetadata(s),
              [STATE_ID_KEY]: s.id,
              [LAST_EVENT_ID_KEY]: s.last_event_id,
              [BRIDGE_KEY]: bridge,
              [UPDATE_ID]: updateId,
            };
            if (watermark !== undefined) metadata[WATERMARK_KEY] = watermark;
            return metadata;
          }),
          embeddings: part.map(() => [...PLACEHOLDER_EMBEDDING]),
        }));
    }
    // Last, once every record of the flush is written: the point recovery starts after.
    if (watermark === undefined) return;
    await call("update agent state", () =>
      agentState.upsert({
        ids: [markerId],
        documents: [JSON.stringify({ bridge, watermark })],
        metadatas: [{ scope: MARKER_SCOPE, [BRIDGE_KEY]: bridge, [WATERMARK_KEY]: watermark }],
        embeddings: [[...PLACEHOLDER_EMBEDDING]],
      }));
  }

  async function recover(): Promise<void> {
    const agentState = await options.agentState();
    const marker = await call(
      "read agent state marker",
      () => agentState.get({ ids: [markerId], include: ["metadatas"] }),
    );
    const from = marker.metadatas[0]?.[WATERMARK_KEY];
    if (typeof from !== "number") {
      // An id's first start: nothing before it was counted by this scheme (events stamped by a
      // bridge that kept no parts are in the records it kept), so counting starts here.
      await write([], crypto.randomUUID(), options.startSeq - 1);
      return;
    }
    const after = from;
    const unapplied = await eventsOfWriter(await options.events(), {
      writer: bridge,
      after,
      before: options.startSeq,
      call,
    });
    if (unapplied.length === 0) return;
    const ids = [...new Set(unapplied.flatMap(({ event }) => stateKeysOf(event).map((k) => k.id)))];
    const own = await readOwn(ids);
    const previous = new Map([...own].map(([id, stored]) => [id, stored.state]));
    const folded: AgentState[] = [];
    for (const id of ids) {
      // Each partial holds its events up to its own watermark: fold only those above it.
      const above = own.get(id)?.watermark ?? 0;
      const events = unapplied
        .filter(({ seq, event }) => seq > above && stateKeysOf(event).some((k) => k.id === id))
        .map(({ event }) => event);
      const state = events.length === 0 ? undefined : applyEvents(previous, events).get(id);
      if (state !== undefined) folded.push(state);
    }
    // Every event of this bridge id before this run is folded now: that is the new watermark.
    await write(folded, crypto.randomUUID(), options.startSeq - 1);
  }

  return { read: readOwn, write, recover };
}

/** Events written per page of a recovery read. */
const RECOVERY_PAGE = 1_000;

/**
 * The events `writer` stored with a write sequence number in (`after`, `before`), in sequence
 * order (then by ts, as they were folded). Paged by offset: nothing writes that range any more.
 */
async function eventsOfWriter(
  events: Collection,
  options: { writer: string; after: number; before: number; call: ChromaCall },
): Promise<{ seq: number; event: Event }[]> {
  const found: { seq: number; event: Event; tsMs: number }[] = [];
  const where: Where = {
    $and: [
      { [WRITER_KEY]: { $eq: options.writer } } as Where,
      { [WRITE_SEQ_KEY]: { $gt: options.after } } as Where,
      { [WRITE_SEQ_KEY]: { $lt: options.before } } as Where,
    ],
  };
  for (let offset = 0;; offset += RECOVERY_PAGE) {
    const page = await options.call("read events to recover", () =>
      events.get({
        where,
        limit: RECOVERY_PAGE,
        offset,
        include: ["documents", "metadatas"],
      }));
    page.documents.forEach((document, i) => {
      const seq = page.metadatas[i]?.[WRITE_SEQ_KEY];
      if (typeof document !== "string" || typeof seq !== "number") return;
      try {
        const event = JSON.parse(document) as Event;
        found.push({ seq, event, tsMs: Date.parse(event.ts) });
      } catch { /* not an event this bridge wrote */ }
    });
    if (page.ids.length < RECOVERY_PAGE) break;
  }
  found.sort((a, b) => a.seq - b.seq || a.tsMs - b.tsMs);
  return found.map(({ seq, event }) => ({ seq, event }));
}
