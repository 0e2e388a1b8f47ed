/**
 * Which of a write's events this bridge stored, when several bridges share one Chroma: two
 * bridges may both find an event new and both add it, and Chroma keeps the first add of an id
 * and silently ignores the rest. Reading the records back tells the winner: an event is stored
 * BY THIS WRITE only when its record carries this write's stamp (`writer_stamp.ts`); otherwise
 * another bridge's add landed first and here it is a duplicate (not counted, not published).
 *
 * The read-back is one get by ids per chunk after the add, metadata only: on raw Chroma on this
 * machine, 64 records a call, the add took ~40 ms and the get ~3 ms (a get filtered by the stamp
 * instead took ~18 ms). `deno task bench:ingest` measures the whole bridge.
 *
 * @module
 */
import type { Collection } from "chromadb";
import type { Event } from "../../shared/schema.ts";
import { StoreRejectedError } from "../store.ts";
import { type ChromaCall, chunks } from "./connection.ts";
import { derivedRecordId, projectTag } from "./event_records.ts";
import { WRITE_SEQ_KEY, WRITER_KEY, type WriterStamp } from "./writer_stamp.ts";

/** Whose add a stored record is: its stamp, and the project of its event. */
export interface RecordOwner {
  writer: unknown;
  seq: unknown;
  project: string | null;
}

/** The stamp and project of each stored record among `ids`, by record id. */
export async function recordOwners(
  events: Collection,
  options: { ids: readonly string[]; call: ChromaCall },
): Promise<Map<string, RecordOwner>> {
  const owners = new Map<string, RecordOwner>();
  for (const part of chunks(options.ids)) {
    const result = await options.call(
      "read back stored events",
      () => events.get({ ids: [...part], include: ["metadatas"] }),
    );
    result.ids.forEach((id, i) => {
      const metadata = result.metadatas[i];
      const project = metadata?.project_id;
      owners.set(id, {
        writer: metadata?.[WRITER_KEY],
        seq: metadata?.[WRITE_SEQ_KEY],
        project: typeof project === "string" ? project : null,
      });
    });
  }
  return owners;
}

/** Whether `owner` is the add stamped `stamp`. */
export function isOwnAdd(owner: RecordOwner | undefined, stamp: WriterStamp): boolean {
  return owner !== undefined && owner.writer === stamp.writer && owner.seq === stamp.seq;
}

/** The ids among `ids` whose stored record carries `stamp` (added by this very write). */
export async function claimedIds(
  events: Collection,
  options: { ids: readonly string[]; stamp: WriterStamp; call: ChromaCall },
): Promise<Set<string>> {
  const owners = await recordOwners(events, options);
  return new Set(
    [...owners].filter(([, owner]) => isOwnAdd(owner, options.stamp)).map(([id]) => id),
  );
}

/** How a write's adds turned out: by event id. */
export interface Claims {
  /** Added by this write: stored here. */
  own: Set<string>;
  /** Added first by another write of the same event (its project): duplicates here. */
  lost: string[];
  /**
   * Taken first by another project's event with the same event id, at the same instant: not
   * stored at all (a retry stores it under its derived id).
   */
  collided: string[];
}

/** Reads back the records this write added (`records`: record id and event) and sorts them. */
export async function claimsOf(
  collection: Collection,
  options: {
    records: readonly { id: string; event: Event }[];
    stamp: WriterStamp;
    call: ChromaCall;
  },
): Promise<Claims> {
  const owners = await recordOwners(collection, {
    ids: options.records.map((r) => r.id),
    call: options.call,
  });
  const claims: Claims = { own: new Set(), lost: [], collided: [] };
  for (const { id, event } of options.records) {
    const owner = owners.get(id);
    if (isOwnAdd(owner, options.stamp)) claims.own.add(event.event_id);
    else if (owner !== undefined && owner.project !== (event.project_id ?? null)) {
      claims.collided.push(event.event_id);
    } else claims.lost.push(event.event_id);
  }
  return claims;
}

/**
 * The event ids among `events` whose record carries `stamp`, under the event id or under the
 * derived id another project's holding of it gave the event (`event_records.ts`).
 */
export async function claimedEvents(
  collection: Collection,
  options: { events: readonly Event[]; stamp: WriterStamp; call: ChromaCall },
): Promise<Set<string>> {
  const ids = new Map<string, string>();
  for (const event of options.events) {
    ids.set(event.event_id, event.event_id);
    ids.set(derivedRecordId(event.event_id, await projectTag(event.project_id)), event.event_id);
  }
  const claimed = await claimedIds(collection, { ...options, ids: [...ids.keys()] });
  return new Set([...claimed].map((id) => ids.get(id)!));
}

/** A write that failed: its stamp and the events it may have added under it. */
interface FailedWrite {
  stamp: WriterStamp;
  events: readonly Event[];
}

/** What the ledger hands back with a write that succeeded. */
export interface Settled {
  /** Events an earlier, failed write of this bridge did store: count them now, before this one's. */
  recovered: Event[];
  /**
   * Every write of this bridge with a stamp up to here is accounted for (its stored events
   * passed on in a result): the agent_state watermark (`agent_state_records.ts`).
   */
  watermark: number;
}

/** Most events of failed writes kept for a check; beyond, the oldest writes are given up. */
const MAX_FAILED_EVENTS = 20_000;

/**
 * Keeps this bridge's write results in stamp order and accounts for failed writes, so that
 * agent_state folds this bridge's stored events gap-free in stamp order (what its watermark
 * promises, `agent_state_records.ts`):
 *
 * - A write's result is released only after every earlier write of this bridge has settled
 *   (with several writes in flight, a later one waits for the earlier ones).
 * - A write that failed may have added some events under its stamp (the add landed, the answer
 *   was lost). The ledger keeps its events; before the next result is released they are read
 *   back, and those carrying the failed stamp are handed back as `recovered`. A client's retry
 *   would find them stored and call them duplicates, so this is the only place they are counted.
 *   While that check cannot run (Chroma down), later writes fail too, and the check is retried.
 */
export class WriteLedger {
  #previous: Promise<unknown> = Promise.resolve();
  #failed: FailedWrite[] = [];
  #failedEvents = 0;
  /** Events of failed writes given up unchecked (beyond the bound): they may go uncounted. */
  givenUp = 0;

  /**
   * Runs `write` under `stamp` and settles it in order: resolves with its result and what the
   * ledger recovered, or rejects with the write's (or the check's) error.
   */
  run<T>(
    options: {
      stamp: WriterStamp;
      events: readonly Event[];
      write: () => Promise<T>;
      /** The event ids among a failed write's events that it stored (`claimedEvents`). */
      check: (failed: { events: readonly Event[]; stamp: WriterStamp }) => Promise<Set<string>>;
    },
  ): Promise<T & Settled> {
    const previous = this.#previous;
    const done = (async () => {
      let result: T;
      try {
        result = await options.write();
      } catch (error) {
        await previous.catch(() => {});
        // A write Chroma refused for its content reports what it stored (`StoreRejectedError`),
        // and the group committer counts that: nothing is left to find out.
        if (!(error instanceof StoreRejectedError)) {
          this.#remember({ stamp: options.stamp, events: options.events });
        }
        throw error;
      }
      await previous.catch(() => {});
      try {
        const recovered = await this.#check(options.check);
        return { ...result, recovered, watermark: options.stamp.seq };
      } catch (error) {
        // Its events are stored under its stamp but cannot be released in order: check it later.
        this.#remember({ stamp: options.stamp, events: options.events });
        throw error;
      }
    })();
    this.#previous = done;
    return done;
  }

  #remember(write: FailedWrite): void {
    this.#failed.push(write);
    this.#failedEvents += write.events.length;
    while (this.#failedEvents > MAX_FAILED_EVENTS && this.#failed.length > 1) {
      const dropped = this.#failed.shift()!;
      this.#failedEvents -= dropped.events.length;
      this.givenUp += dropped.events.length;
    }
  }

  /**
   * The stored events of every failed write, oldest first. The writes are forgotten only once
   * all were checked: a check that fails halfway leaves them all for the next (reading back is
   * idempotent), so nothing checked is lost with the error.
   */
  async #check(
    check: (failed: { events: readonly Event[]; stamp: WriterStamp }) => Promise<Set<string>>,
  ): Promise<Event[]> {
    const writes = [...this.#failed];
    const recovered: Event[] = [];
    for (const write of writes) {
      const claimed = await check({ events: write.events, stamp: write.stamp });
      for (const event of write.events) {
        if (claimed.delete(event.event_id)) recovered.push(event);
      }
    }
    this.#failed.splice(0, writes.length);
    for (const write of writes) this.#failedEvents -= write.events.length;
    return recovered;
  }
}
