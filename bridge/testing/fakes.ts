/**
 * In-process stand-ins for unit tests of the bridge's HTTP side: an {@linkcode EventStore} that
 * keeps events in memory (deduping by event_id and hash, across projects, unlike the real one)
 * and can be made slow, unavailable or refusing given events, and a maker of valid envelopes. Integration tests use the real store.
 *
 * @module
 */
import { eventHash, formatTimestamp, uuidV7 } from "../../shared/ids.ts";
import type { Event } from "../../shared/schema.ts";
import {
  type EventStore,
  type QueryParams,
  type QueryResult,
  type StoredCollection,
  StoreRejectedError,
  StoreUnavailableError,
  type WriteResult,
} from "../store.ts";

/** A valid, sealed-looking envelope; `overrides` replace fields (the hash is computed after). */
export async function makeEvent(overrides: Partial<Event> = {}): Promise<Event> {
  const now = Date.now();
  const event: Event = {
    event_id: uuidV7(now),
    ts: formatTimestamp(now),
    schema_version: "1.0",
    session_id: "session-1",
    run_id: "run-1",
    event_type: "progress",
    level: "info",
    project_id: "proj-a",
    msg: "step done",
    data: { n: crypto.randomUUID() },
    ...overrides,
  };
  if (!("hash" in overrides)) event.hash = await eventHash(event);
  return event;
}

/** An in-memory {@linkcode EventStore}; see the module doc. */
export class FakeStore implements EventStore {
  /** Stored events by event_id, in write order. */
  readonly events = new Map<string, Event>();
  readonly hashes = new Set<string>();
  /** Size of every `write` call, in order. */
  readonly writes: number[] = [];
  /** The event ids of every `write` call, in order. */
  readonly batches: string[][] = [];
  /**
   * Event ids refused for their content: a write holding one throws
   * {@linkcode StoreRejectedError}, after storing the events before it when `storeUpToRefusal`
   * is set (as a write of several adds does when a later add is refused).
   */
  readonly refused = new Set<string>();
  storeUpToRefusal = false;
  /** When true, every call throws {@linkcode StoreUnavailableError}. */
  down = false;
  /** Milliseconds each write takes. */
  writeDelayMs = 0;
  /** When set, every write waits for it too (a test holds writes back for as long as it needs). */
  writeGate?: Promise<void>;
  /** Most writes seen running at once. */
  maxConcurrentWrites = 0;
  #running = 0;

  async write(events: readonly Event[]): Promise<WriteResult> {
    this.#running++;
    this.maxConcurrentWrites = Math.max(this.maxConcurrentWrites, this.#running);
    try {
      if (this.writeDelayMs > 0) await new Promise((r) => setTimeout(r, this.writeDelayMs));
      if (this.writeGate) await this.writeGate;
      if (this.down) throw new StoreUnavailableError("Cannot reach Chroma: fake store is down");
      this.writes.push(events.length);
      this.batches.push(events.map((e) => e.event_id));
      const at = events.findIndex((e) => this.refused.has(e.event_id));
      if (at !== -1) {
        const before = this.storeUpToRefusal ? this.#store(events.slice(0, at)).stored : [];
        throw new StoreRejectedError("Cannot store events: Chroma refused them (Bad request)", {
          stored: before,
        });
      }
      return this.#store(events);
    } finally {
      this.#running--;
    }
  }

  #store(events: readonly Event[]): WriteResult {
    const result: WriteResult = { stored: [], duplicates: [] };
    for (const event of events) {
      if (this.events.has(event.event_id) || (event.hash && this.hashes.has(event.hash))) {
        result.duplicates.push(event.event_id);
        continue;
      }
      this.events.set(event.event_id, event);
      if (event.hash) this.hashes.add(event.hash);
      result.stored.push(event.event_id);
    }
    return result;
  }

  query(params: QueryParams): Promise<QueryResult> {
    if (this.down) {
      return Promise.reject(new StoreUnavailableError("Cannot reach Chroma: fake store is down"));
    }
    const results = [...this.events.values()].filter((event) => {
      if (params.project_ids && !params.project_ids.includes(event.project_id ?? "")) return false;
      return Object.entries(params.filters).every(([field, value]) =>
        (event as Record<string, unknown>)[field] === value
      );
    }).sort((a, b) => a.ts.localeCompare(b.ts)).slice(0, params.limit);
    return Promise.resolve({ results, next_cursor: null });
  }

  counts(): Promise<Record<StoredCollection, number>> {
    if (this.down) {
      return Promise.reject(new StoreUnavailableError("Cannot reach Chroma: fake store is down"));
    }
    return Promise.resolve({
      events: this.events.size,
      artifacts: 0,
      agent_state: 0,
    });
  }
}
