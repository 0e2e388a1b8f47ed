/**
 * Group commit: coalesces the events of concurrent ingest requests into batched
 * `EventStore.write` calls, because Chroma's cost is per call far more than per record (one
 * record a call manages ~70/s, 500 a call thousands). Each submission resolves only when all of
 * its events are durable, so an acknowledgement still means "stored".
 *
 * A batch goes out when it is full (`maxBatch`), or when nothing is being written and its oldest
 * event has waited `lingerMs`, counted from its arrival or from the end of the last write,
 * whichever is later: the clients a write just acknowledged are about to send their next events,
 * and letting them join makes the next write bigger (Chroma's cost is mostly per call). At most
 * `maxInFlight` writes run at once; an event whose `event_id`, `hash` or API response (a usage
 * event's message) is in a write still in flight waits for that write, so concurrent writes
 * never race on the same event, and a usage delta is computed against what the earlier write
 * stored. This is the bridge's one write-conflict guard: the store itself has none. The queue is
 * bounded in events (queued plus in flight): beyond it, {@linkcode QueueFullError} (HTTP 429).
 *
 * One client's data never fails another's request: when the store refuses a write for what its
 * records hold ({@linkcode StoreRejectedError}), the write is halved and each half written again,
 * down to single events, so every event the store accepts is stored and acknowledged and only
 * the event it refuses alone is answered {@linkcode StoreRefusal} (the request's `rejected[]`,
 * which the relay dead-letters). A store that is down fails the whole write: every client retries.
 *
 * @module
 */
import type { Event } from "../shared/schema.ts";
import { usageDataOf } from "../shared/usage/usage_event.ts";
import { type EventStore, StoreRejectedError, type WriteResult } from "./store.ts";
import { messageKey } from "./usage/records.ts";
import { wholeNumberOption } from "./_util.ts";

/** Tuning of {@linkcode createGroupCommitter}. */
export interface GroupCommitOptions {
  /** Most events per `store.write` call. Default 1,000. */
  maxBatch?: number;
  /**
   * Longest an event waits for company while nothing is being written, in ms, from its arrival
   * or the end of the last write, whichever is later. Default 15.
   */
  lingerMs?: number;
  /** Most `store.write` calls running at once. Default 1. */
  maxInFlight?: number;
  /** Most events queued or being written; beyond, submissions fail fast. Default 20,000. */
  maxQueuedEvents?: number;
  /** Called after every write, failed or not, for metrics. */
  onWrite?: (info: { size: number; seconds: number }) => void;
  /**
   * Called after each write that succeeded, with its events and the store's result, before any
   * of its submissions resolve (the app feeds the agent_state updater from it).
   */
  onStored?: (events: readonly Event[], result: WriteResult) => void;
}

/** An event the store refused on its own: why, as the store said it. */
export interface StoreRefusal {
  refused: string;
}

/** What became of one submitted event. */
export type EventOutcome = "stored" | "duplicate" | StoreRefusal;

/** The queue is full: retry after `retryAfterSeconds` (HTTP 429). */
export class QueueFullError extends Error {
  override name = "QueueFullError";
  /** Seconds a client should wait before retrying. */
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds = 1) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Coalesces submissions into batched writes; see the module doc. */
export interface GroupCommitter {
  /**
   * Queues events for writing; resolves with one outcome per event (in order) once all are
   * durable or refused by the store on their own; rejects with the store's error if a write fails
   * otherwise (some may be stored even so: the client retries and those become duplicates). Throws {@linkcode QueueFullError} at once when
   * the queue cannot take them.
   */
  submit(events: readonly Event[]): Promise<EventOutcome[]>;
  /** Events queued or being written. */
  readonly depth: number;
  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void>;
}

interface Entry {
  outcomes: EventOutcome[];
  remaining: number;
  failed: boolean;
  resolve(outcomes: EventOutcome[]): void;
  reject(error: unknown): void;
}

interface Item {
  entry: Entry;
  index: number;
  event: Event;
  enqueuedAt: number;
}

function positive(name: string, value: number): number {
  return wholeNumberOption(name, value, 1);
}

/**
 * What two writes in flight must not share: the event id (of any project: both would claim the
 * same record id), its hash within its project, a usage event's response.
 */
function keysOf(event: Event): string[] {
  const keys = [`id:${event.event_id}`];
  if (event.hash !== undefined) keys.push(`hash:${JSON.stringify([event.project_id, event.hash])}`);
  const usage = usageDataOf(event);
  if (usage !== undefined) keys.push(`usage:${messageKey(event.project_id, usage.message_id)}`);
  return keys;
}

/** A group committer writing into `store`. Checks its options once, here. */
export function createGroupCommitter(
  store: EventStore,
  options: GroupCommitOptions = {},
): GroupCommitter {
  const maxBatch = positive("maxBatch", options.maxBatch ?? 1_000);
  const maxInFlight = positive("maxInFlight", options.maxInFlight ?? 1);
  const maxQueued = positive("maxQueuedEvents", options.maxQueuedEvents ?? 20_000);
  const lingerMs = options.lingerMs ?? 15;
  if (!(lingerMs >= 0)) throw new RangeError(`Cannot use lingerMs=${lingerMs}: must be ≥ 0`);
  if (maxQueued < maxBatch) {
    throw new RangeError(`Cannot use maxQueuedEvents=${maxQueued}: below maxBatch=${maxBatch}`);
  }

  let queue: Item[] = [];
  let inFlightWrites = 0;
  let inFlightEvents = 0;
  const inFlightKeys = new Map<string, number>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** When the last write ended: events queued during it linger from then, not from arrival. */
  let lastWriteEnded = -Infinity;
  let idleWaiters: (() => void)[] = [];

  function notifyIdle(): void {
    if (queue.length > 0 || inFlightWrites > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    waiters.forEach((wake) => wake());
  }

  function schedule(): void {
    while (inFlightWrites < maxInFlight && queue.length > 0) {
      const waited = performance.now() - Math.max(queue[0]!.enqueuedAt, lastWriteEnded);
      // Lingering only pays while nothing is being written: a write in flight gathers company.
      // After a write, its clients' next events are on their way: they may join the next one.
      if (queue.length < maxBatch && waited < lingerMs && inFlightWrites === 0) {
        if (timer === undefined) {
          timer = setTimeout(() => {
            timer = undefined;
            schedule();
          }, Math.max(0, lingerMs - waited));
        }
        return;
      }
      const batch = takeBatch();
      clearTimerIfEmpty();
      if (batch.length === 0) return; // everything waiting conflicts with a write in flight
      void write(batch);
    }
  }

  function clearTimerIfEmpty(): void {
    if (queue.length === 0 && timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
  }

  function takeBatch(): Item[] {
    const batch: Item[] = [];
    const rest: Item[] = [];
    // A write's result names events by event id: two projects' events sharing one wait apart.
    const projectOfId = new Map<string, string | undefined>();
    for (const item of queue) {
      const { event_id: id, project_id: project } = item.event;
      if (
        batch.length < maxBatch && keysOf(item.event).every((key) => !inFlightKeys.has(key)) &&
        (!projectOfId.has(id) || projectOfId.get(id) === project)
      ) {
        batch.push(item);
        projectOfId.set(id, project);
      } else rest.push(item);
    }
    queue = rest;
    return batch;
  }

  async function write(batch: Item[]): Promise<void> {
    inFlightWrites++;
    inFlightEvents += batch.length;
    for (const item of batch) {
      for (const key of keysOf(item.event)) inFlightKeys.set(key, (inFlightKeys.get(key) ?? 0) + 1);
    }
    try {
      await writePart(batch, new Set());
    } catch (error) {
      fail(batch, error); // a bug of this module's own: never leave a client waiting
    } finally {
      for (const item of batch) {
        for (const key of keysOf(item.event)) {
          const count = inFlightKeys.get(key)! - 1;
          if (count === 0) inFlightKeys.delete(key);
          else inFlightKeys.set(key, count);
        }
      }
      inFlightWrites--;
      inFlightEvents -= batch.length;
      lastWriteEnded = performance.now();
      schedule();
      notifyIdle();
    }
  }

  /**
   * Writes the items of `part` whose submissions have not failed. When the store refuses them for
   * their content, writes each half again, down to single events, which are refused alone.
   * `carried` holds the event ids refused attempts of this batch stored on the way: a later write
   * finds them stored, yet this batch stored them.
   */
  async function writePart(part: Item[], carried: Set<string>): Promise<void> {
    const items = part.filter((item) => !item.entry.failed);
    if (items.length === 0) return;
    const events = items.map((item) => item.event);
    const started = performance.now();
    let result: WriteResult;
    try {
      result = await store.write(events);
    } catch (error) {
      options.onWrite?.({ size: items.length, seconds: (performance.now() - started) / 1000 });
      if (!(error instanceof StoreRejectedError)) return fail(items, error);
      for (const id of error.stored) carried.add(id);
      if (items.length === 1) return refuse(items[0]!, error);
      const half = Math.ceil(items.length / 2);
      await writePart(items.slice(0, half), carried);
      await writePart(items.slice(half), carried);
      return;
    }
    options.onWrite?.({ size: items.length, seconds: (performance.now() - started) / 1000 });
    if (carried.size > 0) result = claimCarried(result, carried);
    options.onStored?.(events, result);
    settle(items, result.stored, result.duplicates);
  }

  /** `result` with the carried ids it reports as duplicates counted as stored (once each). */
  function claimCarried(result: WriteResult, carried: Set<string>): WriteResult {
    const stored = [...result.stored];
    const duplicates: string[] = [];
    for (const id of result.duplicates) {
      if (carried.delete(id)) stored.push(id);
      else duplicates.push(id);
    }
    return { ...result, stored, duplicates };
  }

  /** Answers one event the store refused alone: its submission goes on without it. */
  function refuse(item: Item, error: StoreRejectedError): void {
    const entry = item.entry;
    if (entry.failed) return;
    entry.outcomes[item.index] = { refused: error.message };
    if (--entry.remaining === 0) entry.resolve(entry.outcomes);
  }

  function settle(batch: Item[], stored: string[], duplicates: string[]): void {
    const storedIds = new Set(stored);
    const duplicateIds = new Set(duplicates);
    const claimed = new Set<string>();
    const unaccounted = batch.filter((item) => {
      const id = item.event.event_id;
      return !storedIds.has(id) && !duplicateIds.has(id);
    });
    if (unaccounted.length > 0) {
      // Never acknowledge what the store did not account for.
      fail(
        batch,
        new Error(`Cannot confirm ${unaccounted.length} events: the store did not report them`),
      );
      return;
    }
    for (const item of batch) {
      const id = item.event.event_id;
      // The same event twice in one batch is stored once: the first copy claims it.
      const outcome: EventOutcome = storedIds.has(id) && !claimed.has(id) ? "stored" : "duplicate";
      if (outcome === "stored") claimed.add(id);
      const entry = item.entry;
      if (entry.failed) continue;
      entry.outcomes[item.index] = outcome;
      if (--entry.remaining === 0) entry.resolve(entry.outcomes);
    }
  }

  function fail(batch: Item[], error: unknown): void {
    let dropped = false;
    for (const item of batch) {
      if (item.entry.failed) continue;
      item.entry.failed = true;
      dropped = true;
      item.entry.reject(error);
    }
    // The failed submissions' other events need not be written: their clients will retry.
    if (dropped) queue = queue.filter((item) => !item.entry.failed);
    clearTimerIfEmpty();
  }

  return {
    submit(events) {
      if (events.length === 0) return Promise.resolve([]);
      if (queue.length + inFlightEvents + events.length > maxQueued) {
        return Promise.reject(
          new QueueFullError(
            `Cannot queue ${events.length} events: the ingest queue holds ${
              queue.length + inFlightEvents
            } of ${maxQueued}; retry shortly`,
          ),
        );
      }
      return new Promise<EventOutcome[]>((resolve, reject) => {
        const entry: Entry = {
          outcomes: new Array(events.length),
          remaining: events.length,
          failed: false,
          resolve,
          reject,
        };
        const now = performance.now();
        events.forEach((event, index) => queue.push({ entry, index, event, enqueuedAt: now }));
        schedule();
      });
    },
    get depth() {
      return queue.length + inFlightEvents;
    },
    idle() {
      if (queue.length === 0 && inFlightWrites === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
}
