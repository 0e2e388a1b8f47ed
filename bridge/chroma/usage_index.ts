/**
 * The usage index: every usage record in memory, so `GET /usage` filters and counts without
 * scanning Chroma (8 concurrent scans over 30,000 records took 26-29 s each; see
 * `bench/usage_bench.ts`). Loaded from Chroma, page by page, on first use; then, before each
 * answer, brought up to date by reading only what Chroma holds beyond the records read so far,
 * so records any bridge sharing this Chroma stored before the request are counted.
 *
 * That read relies on Chroma listing a collection in the order it stored the records (its
 * single-node server does: `usage_index_test.ts`). Each refresh checks it: the last record read
 * must come back at its place, else the index reads every record again from an empty index. A
 * deletion (old records by age, docs/DEPLOYMENT.md) moves that record, so it is caught too.
 *
 * Concurrent requests share one refresh (never two at once per bridge, and at least
 * {@linkcode USAGE_REFRESH_GAP_MS} apart). Past its bound the index
 * is dropped for good and every request scans, as before, with one warning in the log.
 *
 * @module
 */
import type { Collection } from "chromadb";
import { recordFromMetadata, type UsageRecord } from "../usage/records.ts";
import type { UsageSource } from "../usage/select.ts";
import { type ChromaCall, MAX_BATCH } from "./connection.ts";

/**
 * Least time between the starts of two refreshes when requests queue for the next one, in ms: a
 * flood of requests then costs Chroma at most ten small reads a second (a read per request
 * slowed another tenant's ingest 1.5 to 2 times: `tenant_isolation_test.ts`), while a request
 * that finds no refresh under way starts one at once.
 */
export const USAGE_REFRESH_GAP_MS = 100;

/** Default bound of the index (`ZO_USAGE_INDEX_RECORDS`): some 430 bytes of heap a record (bench:usage), 90 MB. */
export const DEFAULT_USAGE_INDEX_RECORDS = 200_000;

/** Options of {@linkcode UsageIndex}. */
export interface UsageIndexOptions {
  /** The `usage` collection (looked up again after a reconnect). */
  collection: () => Promise<Collection>;
  call: ChromaCall;
  /** Most records held; beyond it the index is dropped and requests scan. 0: never index. */
  maxRecords: number;
  /** Told once when the index is dropped. */
  log?: (message: string, extra: Record<string, unknown>) => void;
}

/** Every usage record of one Chroma, in memory; see the module doc. */
export class UsageIndex {
  readonly #options: UsageIndexOptions;
  /** By id, in the order Chroma listed them: the scan's order, so sums add up the same way. */
  #records = new Map<string, UsageRecord>();
  /** The same records by project, so that a project's answer passes over its own only. */
  #byProject = new Map<string, UsageRecord[]>();
  #over: boolean;
  /** How many records of Chroma's listing were read, and the id of the last. */
  #read = 0;
  #lastId: string | undefined;
  /** The refresh under way, shared by every request that arrived before it began. */
  #running: Promise<void> | undefined;
  #lastStart = -Infinity;
  /** True once the refresh under way has begun reading. */
  #reading = false;

  /** Holds nothing until first used. */
  constructor(options: UsageIndexOptions) {
    this.#options = options;
    this.#over = options.maxRecords <= 0;
  }

  /** Records held (0 before the load, or when off or past its bound). */
  get size(): number {
    return this.#records.size;
  }

  /** Forgets everything (Chroma's collections vanished: a wiped or different server). */
  reset(): void {
    this.#records = new Map();
    this.#byProject = new Map();
    this.#read = 0;
    this.#lastId = undefined;
  }

  /**
   * Every record Chroma held when this call began; undefined when the index is off or past its
   * bound (scan instead). Throws what Chroma throws.
   */
  async records(): Promise<UsageSource | undefined> {
    if (this.#over) return undefined;
    const running = this.#running;
    if (running === undefined) await this.#refresh(0);
    else if (!this.#reading) await running; // still waiting out the gap: begins after this request
    else {
      // Begun before this request: what was stored since would be missed. Wait, then share the
      // next one (the first to wake starts it), begun no sooner than the gap after this one.
      const due = this.#lastStart + USAGE_REFRESH_GAP_MS;
      await running.catch(() => {});
      if (this.#over) return undefined;
      await (this.#running ?? this.#refresh(due - performance.now()));
    }
    if (this.#over) return undefined;
    const records = this.#records;
    const byProject = this.#byProject;
    return {
      // Iterable more than once (a Map iterator is not): the caller may pass over them twice.
      all: () => ({ [Symbol.iterator]: () => records.values() }),
      ofProject: (projectId) => byProject.get(projectId) ?? [],
    };
  }

  /** Starts a refresh in `waitMs` (now when 0 or less); requests arriving meanwhile share it. */
  #refresh(waitMs: number): Promise<void> {
    this.#reading = false;
    return this.#running = (async () => {
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      this.#lastStart = performance.now();
      this.#reading = true;
      await this.#readNew();
    })().finally(() => this.#running = undefined);
  }

  /** Reads what Chroma lists beyond the records read so far (from one before, as a check). */
  async #readNew(): Promise<void> {
    const collection = await this.#options.collection();
    let offset = Math.max(0, this.#read - 1);
    let check = this.#lastId;
    while (!this.#over) {
      const page = await this.#options.call(
        "read usage records",
        () => collection.get({ limit: MAX_BATCH, offset, include: ["metadatas"] }),
      );
      let first = 0;
      if (check !== undefined) {
        if (page.ids[0] !== check) {
          // Records were deleted before it (old ones, by age) or the order changed: read
          // everything again, into an empty index, so deleted records are no longer counted.
          this.reset();
          check = undefined;
          offset = 0;
          continue;
        }
        first = 1;
        check = undefined;
      }
      for (let i = first; i < page.ids.length; i++) {
        const id = page.ids[i]!;
        if (this.#records.has(id)) continue;
        const record = recordFromMetadata(id, page.metadatas[i]);
        if (record === undefined) continue;
        this.#records.set(id, record);
        if (record.project_id === undefined) continue;
        const list = this.#byProject.get(record.project_id);
        if (list === undefined) this.#byProject.set(record.project_id, [record]);
        else list.push(record);
      }
      this.#read = offset + page.ids.length;
      this.#lastId = page.ids.at(-1) ?? this.#lastId;
      this.#check();
      if (page.ids.length < MAX_BATCH) break;
      offset += MAX_BATCH;
    }
  }

  #check(): void {
    if (this.#records.size <= this.#options.maxRecords) return;
    this.#over = true;
    this.reset();
    this.#options.log?.(
      "usage index past its bound: GET /usage now scans Chroma on every request; raise ZO_USAGE_INDEX_RECORDS",
      { max_records: this.#options.maxRecords },
    );
  }
}
