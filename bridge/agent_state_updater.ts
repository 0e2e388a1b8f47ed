/**
 * Keeps the `agent_state` records up to date off the acknowledgement path. They are derived from
 * the events, so an ingest write hands its freshly stored events over and returns; this updater
 * folds them into one pending delta per record and applies the deltas soon after (read the
 * current records, merge, upsert), one flush at a time. State is therefore eventually consistent:
 * it trails the acknowledged events by about `delayMs` plus a flush (about a second).
 *
 * Guarantee: never counts an event twice. Each flush stamps its records with an update id and
 * keeps that id while it retries, so a retry after a write whose answer was lost skips the records
 * the write did reach. A crash loses the deltas not yet applied; `records.recover()` (run first,
 * at start) folds them in again from the stored events (`chroma/agent_state_records.ts`). With
 * several bridges, each updater writes only its own bridge's records (see StateRecords).
 * Memory is bounded by the number of distinct records pending (events are folded, not kept),
 * capped by `maxKeys`.
 *
 * @module
 */
import type { Event } from "../shared/schema.ts";
import type { WriteResult } from "./store.ts";
import {
  addUsage,
  type AgentState,
  applyEvents,
  type StateUsage,
  zeroUsage,
} from "./agent_state.ts";

/** A stored record and the update that last wrote it. */
export interface StoredState {
  state: AgentState;
  updateId?: string;
}

/**
 * Where the records live: the store's `agent_state` collection (tests: a fake). With several
 * bridges on one store, each bridge's updater reads and writes only records of its own (its
 * partial records, summed when read: `chroma/merged_state.ts`), so no two updaters ever
 * read-modify-write the same record.
 */
export interface StateRecords {
  /** This bridge's current records of the state ids `ids` that exist. */
  read(ids: readonly string[]): Promise<Map<string, StoredState>>;
  /**
   * Upserts `states`, each stamped with `updateId`; `watermark`, when given, is the write
   * sequence number through which this bridge's stored events are all folded in.
   */
  write(states: readonly AgentState[], updateId: string, watermark?: number): Promise<void>;
  /**
   * Folds in what an earlier run of this bridge stored but did not apply (a crash): run once,
   * retried until it succeeds, before the first flush. Optional.
   */
  recover?(): Promise<void>;
}

/** Tuning of {@linkcode createAgentStateUpdater}. */
export interface AgentStateUpdaterOptions {
  /**
   * How long deltas gather before a flush starts, in ms; default 1,000. A flush upserts about as
   * many records as there are sessions and workers in it, and Chroma runs it in the same queue as
   * the ingest writes. Ingest bench, 64 one-event clients: 118 events/s with 20 ms, 148-174 with
   * 1 s; with flushes held off entirely, about 8% more than with 1 s.
   */
  delayMs?: number;
  /** First wait after a failed flush, in ms, doubling per failure; default 100. */
  retryMinMs?: number;
  /** Longest wait between retries, in ms; default 5,000. */
  retryMaxMs?: number;
  /** Most records with a pending delta; deltas for further records are dropped. Default 100,000. */
  maxKeys?: number;
  /** Called when a flush fails (it is retried) or deltas are dropped. */
  onError?: (error: unknown) => void;
}

/** The updater; see the module doc. */
export interface AgentStateUpdater {
  /**
   * Folds freshly stored events (each passed once, after it is durable) into pending deltas;
   * `usage` holds, by event id, how much a usage event raised usage (see `applyEvents`);
   * `watermark` the write sequence number through which this bridge's writes are accounted for
   * (`WriteResult.watermark`), written with the records of the flush that applies them.
   */
  add(
    events: readonly Event[],
    usage?: ReadonlyMap<string, StateUsage>,
    watermark?: number,
  ): void;
  /** Records with a delta not yet applied (plus one while the start-up recovery has not run). */
  readonly pending: number;
  /**
   * Starts a flush now and resolves when every delta handed over so far is applied (retrying
   * through failures: it does not resolve while the records cannot be written).
   */
  flush(): Promise<void>;
  /**
   * Flushes for at most `timeoutMs` (default 5,000), then stops: nothing is retried or accepted
   * afterwards. Resolves true when nothing was left unapplied.
   */
  close(options?: { timeoutMs?: number }): Promise<boolean>;
}

/**
 * `base` with `delta` folded in: counts add up, `first_ts` is the earlier one, and the "last"
 * fields come from whichever saw the later event (ts, then event id, decide).
 */
export function mergeState(base: AgentState, delta: AgentState): AgentState {
  const merged: AgentState = structuredClone(base);
  for (const [name, value] of Object.entries(delta.counts)) {
    const key = name as keyof AgentState["counts"];
    merged.counts[key] = (merged.counts[key] ?? 0) + value;
  }
  if (delta.usage !== undefined) merged.usage = addUsage(merged.usage ?? zeroUsage(), delta.usage);
  // A first_ts of usage events only gives way to one of other events (see `AgentState.first_ts`),
  // whichever is earlier; and never the other way round.
  const baseUsageOnly = base.first_ts_of_usage === true;
  const deltaUsageOnly = delta.first_ts_of_usage === true;
  if (baseUsageOnly && !deltaUsageOnly) {
    merged.first_ts = delta.first_ts;
    delete merged.first_ts_of_usage;
  } else if (
    baseUsageOnly === deltaUsageOnly && Date.parse(delta.first_ts) < Date.parse(merged.first_ts)
  ) merged.first_ts = delta.first_ts;
  const later = delta.last_ts_ms > base.last_ts_ms ||
    (delta.last_ts_ms === base.last_ts_ms && delta.last_event_id > base.last_event_id);
  if (!later) return merged;
  merged.status = delta.status;
  merged.last_ts = delta.last_ts;
  merged.last_ts_ms = delta.last_ts_ms;
  merged.last_event_id = delta.last_event_id;
  merged.last_event_type = delta.last_event_type;
  for (const field of ["last_hook_event_name", "last_tool_name", "last_msg"] as const) {
    if (delta[field] === undefined) delete merged[field];
    else merged[field] = delta[field];
  }
  // The scope's own key is the same on both; the others follow the latest event that named them.
  for (const field of ["worker_id", "run_id", "session_id"] as const) {
    if (field !== `${merged.scope}_id` && delta[field] !== undefined) merged[field] = delta[field];
  }
  return merged;
}

interface Batch {
  deltas: Map<string, AgentState>;
  updateId: string;
  watermark: number | undefined;
}

/** An updater writing into `records`. Checks its options once, here. */
export function createAgentStateUpdater(
  records: StateRecords,
  options: AgentStateUpdaterOptions = {},
): AgentStateUpdater {
  const delayMs = options.delayMs ?? 1_000;
  const retryMinMs = options.retryMinMs ?? 100;
  const retryMaxMs = options.retryMaxMs ?? 5_000;
  const maxKeys = options.maxKeys ?? 100_000;
  for (const [name, value] of Object.entries({ delayMs, retryMinMs, retryMaxMs, maxKeys })) {
    if (!(value >= 0) || !Number.isFinite(value)) {
      throw new RangeError(`Cannot use ${name}=${value}: it must be a number, at least 0`);
    }
  }

  let pending = new Map<string, AgentState>();
  let pendingWatermark: number | undefined;
  /** Whether `records.recover()` has run (or there is none). */
  let recovered = records.recover === undefined;
  /** The batch being written, kept (with its update id) until a write of it succeeds. */
  let batch: Batch | undefined;
  let running: Promise<void> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wakeTimer: (() => void) | undefined;
  let failures = 0;
  let closed = false;
  let idleWaiters: (() => void)[] = [];

  const idle = () => recovered && pending.size === 0 && batch === undefined;

  /** Waits `ms`; the wait ends early on flush() or close(). Never keeps a process alive alone. */
  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      wakeTimer = () => {
        clearTimeout(timer);
        timer = undefined;
        wakeTimer = undefined;
        resolve();
      };
      const id = setTimeout(wakeTimer, ms);
      if (idleWaiters.length === 0) Deno.unrefTimer(id);
      timer = id;
    });
  }

  async function run(): Promise<void> {
    // Recovery first and at once (a crash early in this run is covered only once it has run).
    if (recovered) await sleep(delayMs);
    while (!closed && !idle()) {
      try {
        if (!recovered) {
          await records.recover!();
          recovered = true;
          if (idle()) break;
          await sleep(delayMs);
        }
      } catch (error) {
        options.onError?.(error);
        failures++;
        await sleep(Math.min(retryMaxMs, retryMinMs * 2 ** (failures - 1)));
        continue;
      }
      if (batch === undefined) {
        batch = { deltas: pending, updateId: crypto.randomUUID(), watermark: pendingWatermark };
        pending = new Map();
        pendingWatermark = undefined;
      }
      try {
        const current = await records.read([...batch.deltas.keys()]);
        const merged: AgentState[] = [];
        for (const [id, delta] of batch.deltas) {
          const stored = current.get(id);
          // Written by this very batch on an attempt whose answer was lost: applied already.
          if (stored?.updateId === batch.updateId) continue;
          merged.push(stored === undefined ? delta : mergeState(stored.state, delta));
        }
        if (merged.length > 0 || batch.watermark !== undefined) {
          await records.write(merged, batch.updateId, batch.watermark);
        }
        batch = undefined;
        failures = 0;
      } catch (error) {
        options.onError?.(error);
        failures++;
        await sleep(Math.min(retryMaxMs, retryMinMs * 2 ** (failures - 1)));
        continue;
      }
      if (idle()) break;
      // More arrived during the flush: let it gather a little, as the first one did.
      await sleep(delayMs);
    }
    running = undefined;
    if (idle() || closed) {
      const waiters = idleWaiters;
      idleWaiters = [];
      waiters.forEach((wake) => wake());
    }
  }

  function start(): void {
    running ??= run();
  }

  // Recovery runs at once, not at the first write: what a crash left unapplied is counted soon.
  if (!recovered) start();

  return {
    add(events, usage, watermark) {
      if (closed || events.length === 0) return;
      if (watermark !== undefined) pendingWatermark = Math.max(pendingWatermark ?? 0, watermark);
      const touched = applyEvents(pending, events, usage);
      let dropped = 0;
      for (const [id, state] of touched) {
        if (pending.has(id) || pending.size < maxKeys) pending.set(id, state);
        else dropped++;
      }
      if (dropped > 0) {
        options.onError?.(
          new RangeError(
            `Cannot update ${dropped} agent_state records: ${maxKeys} are waiting already`,
          ),
        );
      }
      start();
    },
    get pending() {
      // A recovery not yet run counts as one: the view is not settled until it has.
      return pending.size + (batch?.deltas.size ?? 0) + (recovered ? 0 : 1);
    },
    flush() {
      if (idle() || closed) return Promise.resolve();
      const done = new Promise<void>((resolve) => idleWaiters.push(resolve));
      start();
      wakeTimer?.();
      return done;
    },
    async close({ timeoutMs = 5_000 } = {}) {
      let deadline: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.flush(),
        new Promise<void>((resolve) => deadline = setTimeout(resolve, timeoutMs)),
      ]);
      clearTimeout(deadline);
      closed = true;
      wakeTimer?.();
      await running;
      return idle();
    },
  };
}

/**
 * Hands `updater` what one write stored now: the events an earlier failed write stored
 * (`result.recovered`, first: they have the earlier write sequence numbers), then the events
 * `result.stored` names (the first copy of each, so an event twice in a batch counts once), and
 * their usage deltas. Events a write found stored already are not passed again, so a retried
 * write never counts twice.
 */
export function addStoredEvents(
  updater: Pick<AgentStateUpdater, "add">,
  options: { events: readonly Event[]; result: WriteResult },
): void {
  const stored = new Set(options.result.stored);
  const fresh = options.events.filter((event) => stored.delete(event.event_id));
  const recovered = options.result.recovered ?? [];
  updater.add([...recovered, ...fresh], options.result.usage, options.result.watermark);
}
