/**
 * The shared live feed: while at least one `GET /live` client is connected, polls the store for
 * event records written by the OTHER bridges sharing it and publishes them to the hub
 * (`live.ts`), so a dashboard on any bridge sees every bridge's events, through the same filters
 * and project restriction as this bridge's own (which the ingest route publishes).
 *
 * A poll reads the ids of the records stamped in the last `lookbackMs` (one range on the write
 * sequence number, ids only, in one call), then the stamp and envelope of the ids it has
 * not seen, and publishes those another bridge wrote, in write order. The lookback is there
 * because a stamp is taken when a write starts and its records become visible when it ends: a
 * write that takes longer than the lookback (or a bridge whose clock is behind by more) is missed
 * by the feed (still in `GET /query`, as any event a stream missed). Seen ids (the ones read, and
 * every event the hub published, this bridge's own included) are kept while the window holds
 * them, so nothing is published twice and memory stays bounded.
 *
 * Bounds: no poll at all while no client listens (the hub says when the first joins and the last
 * leaves); polls never overlap, one every `pollMs` after the previous one ends; at most
 * `maxRecordsPerPoll` ids read per poll and twice that remembered (beyond either, the next poll
 * looks back no further than this one's start, and `zo_live_feed_polls_total{outcome="truncated"}`
 * counts it). A failed poll is retried after a doubling delay (up to `maxBackoffMs`) and never
 * stops the feed or the bridge.
 *
 * @module
 */
import client from "prom-client";
import type { Event } from "../shared/schema.ts";
import { WriteSequence } from "./chroma/writer_stamp.ts";
import type { StoredWrites } from "./store.ts";

/** Default `ZO_LIVE_POLL_MS`: another bridge's events reach this bridge's streams within ~1 s. */
export const DEFAULT_LIVE_POLL_MS = 1_000;
/**
 * Default look-back behind the clock: longer than a write normally takes from its stamp to its
 * add (a few hundred ms; seconds with a remote embedding provider), plus clock skew between the
 * bridges' hosts.
 */
export const DEFAULT_LIVE_LOOKBACK_MS = 10_000;
/** Default most ids read per poll: 2,000 events a second over a 10 s look-back (62 ms to read). */
export const DEFAULT_LIVE_MAX_RECORDS_PER_POLL = 20_000;
/** Default longest delay between failed polls. */
export const DEFAULT_LIVE_MAX_BACKOFF_MS = 30_000;
/** Unseen records read per round trip: about 30 ms of Chroma for 500 (bench/live_feed_bench.ts). */
const RECORDS_PER_READ = 500;

/** How a poll ended: the only values of `zo_live_feed_polls_total{outcome}`. */
export type PollOutcome = "ok" | "truncated" | "failed";

/** Options of {@linkcode createLiveFeed}. */
export interface LiveFeedOptions {
  /** Gives the feed's events to the hub (`LiveHub.publish`). */
  publish: (events: readonly Event[]) => void;
  /** Milliseconds between the end of a poll and the next one; default 1,000. */
  pollMs?: number;
  /** How far behind the clock a poll reads, in ms; default 10,000. */
  lookbackMs?: number;
  /** Most ids read per poll; default 20,000. */
  maxRecordsPerPoll?: number;
  /** Longest delay after failed polls, in ms; default 30,000. */
  maxBackoffMs?: number;
  /** Told of every failed poll (the bridge logs it); the feed retries by itself. */
  onError?: (error: unknown) => void;
  /** Where the feed's metrics are registered, if anywhere. */
  registry?: client.Registry;
  /** The wall clock in ms; tests pass their own. */
  now?: () => number;
}

/** The feed; see the module doc. */
export interface LiveFeed {
  /** Starts polling (`true`: a first client joined) or stops (`false`: the last one left). */
  setActive(active: boolean): void;
  /**
   * Marks events the hub published (this bridge's, from the ingest route) as seen, so a poll
   * neither reads them back nor publishes them again (the hub's `onPublish`).
   */
  notePublished(events: readonly Event[]): void;
  /** True while the feed polls. */
  readonly active: boolean;
  /** Polls run since the feed was made, by outcome. */
  readonly polls: Readonly<Record<PollOutcome, number>>;
  /** Events of other bridges published since the feed was made. */
  readonly published: number;
  /** Stops polling and waits for a poll in flight (call before the store goes away). */
  close(): Promise<void>;
}

function positive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`Cannot use ${name}=${value}: it must be a positive number`);
  }
  return value;
}

/** A feed over `source`, idle until told a client listens. Checks its options once, here. */
export function createLiveFeed(source: StoredWrites, options: LiveFeedOptions): LiveFeed {
  const pollMs = positive("pollMs", options.pollMs ?? DEFAULT_LIVE_POLL_MS);
  const lookbackMs = positive("lookbackMs", options.lookbackMs ?? DEFAULT_LIVE_LOOKBACK_MS);
  const maxRecords = positive(
    "maxRecordsPerPoll",
    options.maxRecordsPerPoll ?? DEFAULT_LIVE_MAX_RECORDS_PER_POLL,
  );
  const maxBackoffMs = positive(
    "maxBackoffMs",
    options.maxBackoffMs ?? DEFAULT_LIVE_MAX_BACKOFF_MS,
  );
  const now = options.now ?? Date.now;
  const polls: Record<PollOutcome, number> = { ok: 0, truncated: 0, failed: 0 };
  let published = 0;

  let pollCounter: client.Counter<"outcome"> | undefined;
  let eventCounter: client.Counter | undefined;
  if (options.registry) {
    pollCounter = new client.Counter({
      name: "zo_live_feed_polls_total",
      help: "Polls of the store for other bridges' events (only while GET /live has clients), " +
        "by outcome: ok, truncated (more records in the look-back than a poll reads), failed.",
      labelNames: ["outcome"],
      registers: [options.registry],
    });
    eventCounter = new client.Counter({
      name: "zo_live_feed_events_total",
      help: "Events stored by other bridges that the shared live feed published.",
      registers: [options.registry],
    });
  }

  let active = false;
  /** Bumped on every start and stop: a poll of an earlier activation schedules nothing. */
  let generation = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** Polls running now (one, but a stopped activation's may still be finishing). */
  const inFlight = new Set<Promise<void>>();
  let failures = 0;
  /** Records before this write sequence number are older than the activation: never published. */
  let startSeq = 0;
  /** After a truncated poll, the next one starts here (past what it read). */
  let skipTo = 0;
  /** Ids already read or published, with their seq or a later one (trimmed by the window). */
  const seen = new Map<string, number>();
  const maxSeen = 2 * maxRecords;

  /** Forgets the ids stamped before `seq`; past the hard bound, the oldest remembered too. */
  function forgetBefore(seq: number): void {
    for (const [id, stamped] of seen) {
      if (stamped < seq || seen.size > maxSeen) seen.delete(id);
    }
  }

  function count(outcome: PollOutcome): void {
    polls[outcome]++;
    pollCounter?.inc({ outcome });
  }

  async function poll(ofGeneration: number): Promise<PollOutcome> {
    const startedSeq = WriteSequence.seqAt(now());
    const floor = Math.max(startedSeq - lookbackMs * 1_000, startSeq, skipTo);
    const inWindow = await source.idsWrittenSince(floor, maxRecords);
    const truncated = inWindow.length >= maxRecords;
    const ids = inWindow.filter((id) => !seen.has(id));
    for (let i = 0; i < ids.length; i += RECORDS_PER_READ) {
      const writes = await source.writesByIds(ids.slice(i, i + RECORDS_PER_READ));
      // Stopped meanwhile: a client joining since must not get events from before it came.
      if (generation !== ofGeneration) return "ok";
      const events: Event[] = [];
      for (const write of writes.sort((a, b) => a.seq - b.seq)) {
        seen.set(write.id, write.seq);
        if (write.writer !== source.writerId && write.event) events.push(write.event);
      }
      if (events.length === 0) continue;
      published += events.length;
      eventCounter?.inc(events.length);
      options.publish(events);
    }
    // What the window no longer holds cannot come back: forget it.
    forgetBefore(floor);
    if (!truncated && seen.size <= maxSeen) return "ok";
    // More than a poll reads or remembers: look back no further than this poll's start (what
    // is forgotten is then out of reach, so nothing comes twice).
    skipTo = Math.max(skipTo, startedSeq);
    forgetBefore(skipTo);
    return "truncated";
  }

  async function run(ofGeneration: number): Promise<void> {
    try {
      count(await poll(ofGeneration));
      failures = 0;
    } catch (error) {
      failures++;
      count("failed");
      options.onError?.(error);
    }
    if (!active || generation !== ofGeneration) return;
    schedule(
      failures === 0 ? pollMs : Math.min(maxBackoffMs, pollMs * 2 ** Math.min(failures, 30)),
      ofGeneration,
    );
  }

  function schedule(delayMs: number, ofGeneration: number): void {
    timer = setTimeout(() => {
      timer = undefined;
      const running = run(ofGeneration);
      inFlight.add(running);
      void running.finally(() => inFlight.delete(running));
    }, delayMs);
  }

  function stop(): void {
    active = false;
    generation++;
    clearTimeout(timer);
    timer = undefined;
    seen.clear();
  }

  return {
    notePublished(events) {
      if (!active) return;
      const seq = WriteSequence.seqAt(now());
      for (const event of events) if (!seen.has(event.event_id)) seen.set(event.event_id, seq);
    },
    setActive(on) {
      if (on === active) return;
      if (!on) return stop();
      active = true;
      generation++;
      failures = 0;
      skipTo = 0;
      seen.clear();
      // Only what is stamped from now on: a joining client gets no replay of the last seconds.
      startSeq = WriteSequence.seqAt(now());
      schedule(pollMs, generation);
    },
    get active() {
      return active;
    },
    get polls() {
      return { ...polls };
    },
    get published() {
      return published;
    },
    async close() {
      stop();
      await Promise.all(inFlight);
    },
  };
}
