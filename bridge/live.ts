/**
 * The live feed's hub: fans freshly stored events out to the open `GET /live` streams
 * (server-sent events). The ingest path publishes a request's events once the group commit has
 * stored them, so a client only ever sees events that are durable; duplicates are not published.
 * With several bridges on one Chroma, the shared feed (`live_feed.ts`) publishes what the others
 * stored, while this hub has clients (`onActive`).
 *
 * Published events are coalesced for up to `flushMs` (50 ms) and each client gets them in one
 * write, so the cost of a client is a write per flush, not per event.
 *
 * Each client has a filter and a byte-bounded queue. Publishing never waits for a client: when a
 * client's queue already holds data and the next chunk would take it past `maxBufferedBytes`,
 * the client is dropped (its stream errors, its queue is released at once), so a slow or stuck
 * reader costs at most that much memory and never slows ingest. Clients are capped at
 * `maxClients`. A heartbeat comment goes out every `heartbeatSeconds` so proxies keep idle
 * streams open and dead connections are noticed.
 *
 * Delivery is best-effort: a dropped client reconnects and reads what it missed from
 * `GET /query` (the dashboard and `deno task tail` do). There is no `Last-Event-ID` replay.
 *
 * @module
 */
import client from "prom-client";
import type { Event } from "../shared/schema.ts";
import type { QueryFilterField } from "./store.ts";
import { textForms } from "./_util.ts";

/** What a client follows: equality filters, a full-text match and the projects it may see. */
export interface LiveFilter {
  /** Equality filters on the envelope's fields (as `GET /query` has them). */
  fields?: Partial<Record<QueryFilterField, string>>;
  /** The serialised envelope contains this text (as `GET /query?text=`). */
  text?: string;
  /** Set by the bridge for a key bound to a project: only these projects' events. */
  projectIds?: readonly string[];
  /** Send {@linkcode SUMMARY_FIELDS} of each event instead of the whole envelope. */
  summary?: boolean;
}

/**
 * What a summary keeps of an envelope: who, where, what and when, without the payload (`data`,
 * `indexable_text`, ...). A fleet overview needs no more, and it is a fraction of the bytes.
 */
export const SUMMARY_FIELDS = [
  "event_id",
  "ts",
  "event_type",
  "level",
  "session_id",
  "run_id",
  "project_id",
  "worker_id",
  "agent_id",
  "parent_event_id",
  "hook_event_name",
  "tool_name",
  "tool_use_id",
  "prompt_id",
  "msg",
] as const;

/** The summary of an envelope: its {@linkcode SUMMARY_FIELDS} that are set. */
export function summaryOf(event: Event): Partial<Event> {
  const record = event as Record<string, unknown>;
  const summary: Record<string, unknown> = {};
  for (const field of SUMMARY_FIELDS) {
    if (record[field] !== undefined) summary[field] = record[field];
  }
  return summary as Partial<Event>;
}

/** Tuning of {@linkcode createLiveHub}. */
export interface LiveHubOptions {
  /** Bytes a client may have waiting before it is dropped; default 1 MiB. */
  maxBufferedBytes?: number;
  /** Most clients at once; beyond, {@linkcode LiveFullError}. Default 100. */
  maxClients?: number;
  /**
   * Most clients at once of one owner (an API key); beyond, {@linkcode LiveFullError}. Default
   * 10: one key cannot hold every slot and lock the other keys' dashboards out.
   */
  maxClientsPerOwner?: number;
  /** Seconds between heartbeat comments; default 15. */
  heartbeatSeconds?: number;
  /**
   * Longest a published event waits to be sent with the ones after it, in ms; default 50
   * (sooner when 5,000 events wait).
   */
  flushMs?: number;
  /** Where `zo_live_clients` and `zo_live_clients_dropped_total` are registered, if anywhere. */
  registry?: client.Registry;
  /**
   * Told `true` when the first client connects and `false` when the last one leaves (or the hub
   * closes): the shared feed (`live_feed.ts`) polls the store only while someone listens.
   */
  onActive?: (active: boolean) => void;
  /** Told of every batch published while clients listen (the shared feed marks them seen). */
  onPublish?: (events: readonly Event[]) => void;
}

/** No room for another client (HTTP 503), or the hub is closing. */
export class LiveFullError extends Error {
  override name = "LiveFullError";
  /** True when the caller's own share is spent (429) rather than the whole hub (503). */
  readonly perOwner: boolean;
  constructor(message: string, options: { perOwner?: boolean } = {}) {
    super(message);
    this.perOwner = options.perOwner ?? false;
  }
}

/** The hub; see the module doc. */
export interface LiveHub {
  /** Sends freshly stored events to every client whose filter they match. Never blocks. */
  publish(events: readonly Event[]): void;
  /**
   * A new client's stream: a `ready` message, then its events, heartbeats, until it is
   * cancelled (the server cancels it when the connection closes), dropped as slow, or the hub
   * closes. Throws {@linkcode LiveFullError} when `maxClients` are connected or the hub is closed.
   */
  subscribe(filter: LiveFilter, options?: { owner?: string }): ReadableStream<Uint8Array>;
  /** Clients connected now. */
  readonly clients: number;
  /** Clients dropped for being slow, since the hub started. */
  readonly dropped: number;
  /** Ends every stream (with a `closing` message) and refuses new ones. Call before shutdown. */
  close(): void;
}

/** Default client queue bound: a few large events, or thousands of ordinary ones. */
export const DEFAULT_LIVE_BUFFER_BYTES = 1024 * 1024;
/** Default most clients: memory stays under `maxClients × maxBufferedBytes`. */
export const DEFAULT_LIVE_CLIENTS = 100;
/** Default most clients of one key: a team's dashboards and tails, a tenth of the slots. */
export const DEFAULT_LIVE_CLIENTS_PER_OWNER = 10;
/** Events waiting for a flush beyond which it happens at once (one ingest request holds ≤ 1,000). */
const MAX_PENDING_EVENTS = 5_000;
/** Default coalescing delay: well within the dashboard's one second, a write per client per flush. */
export const DEFAULT_LIVE_FLUSH_MS = 50;
/** Default heartbeat period, in seconds: below the idle timeouts of common proxies (60 s). */
export const DEFAULT_HEARTBEAT_SECONDS = 15;

const encoder = new TextEncoder();

/** One server-sent event as text: optional `id` and `event` lines, then `data`. */
export function formatSse(message: { event?: string; id?: string; data: string }): string {
  let text = "";
  if (message.id !== undefined) text += `id: ${message.id}\n`;
  if (message.event !== undefined) text += `event: ${message.event}\n`;
  // A data line may not hold a line break: each line of the payload gets its own.
  for (const line of message.data.split(/\r\n|\r|\n/)) text += `data: ${line}\n`;
  return `${text}\n`;
}

/**
 * True when `event` passes `filter`. `json` is the event serialised (or makes it: only a `text`
 * filter needs it).
 */
export function matchesLive(
  filter: LiveFilter,
  event: Event,
  json: string | (() => string),
): boolean {
  if (filter.projectIds !== undefined) {
    if (event.project_id === undefined || !filter.projectIds.includes(event.project_id)) {
      return false;
    }
  }
  const record = event as Record<string, unknown>;
  for (const [field, value] of Object.entries(filter.fields ?? {})) {
    if (value !== undefined && record[field] !== value) return false;
  }
  if (filter.text !== undefined) {
    // As the store matches `text=`.
    const text = typeof json === "string" ? json : json();
    if (!textForms(filter.text).some((form) => text.includes(form))) return false;
  }
  return true;
}

function positive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`Cannot use ${name}=${value}: it must be a positive number`);
  }
  return value;
}

/** A published event waiting for the next flush. */
interface Pending {
  event: Event;
  /** The envelope as JSON, its message, and its summary message: each made on first need. */
  json?: string;
  full?: Uint8Array;
  summary?: Uint8Array;
}

function jsonOf(item: Pending): string {
  item.json ??= JSON.stringify(item.event);
  return item.json;
}

function fullBytes(item: Pending): Uint8Array {
  item.full ??= encoder.encode(
    formatSse({ id: item.event.event_id, event: "envelope", data: jsonOf(item) }),
  );
  return item.full;
}

function summaryBytes(item: Pending): Uint8Array {
  item.summary ??= encoder.encode(formatSse({
    id: item.event.event_id,
    event: "envelope",
    data: JSON.stringify(summaryOf(item.event)),
  }));
  return item.summary;
}

interface Client {
  filter: LiveFilter;
  /** No filter at all: every event goes to it (a fleet overview). */
  takesAll: boolean;
  controller: ReadableStreamDefaultController<Uint8Array>;
  /** Who holds it (an API key's name), for the per-owner cap. */
  owner: string;
}

/** The parts in one new buffer. */
function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** A hub with the given bounds. Checks its options once, here. */
export function createLiveHub(options: LiveHubOptions = {}): LiveHub {
  const maxBytes = positive(
    "maxBufferedBytes",
    options.maxBufferedBytes ?? DEFAULT_LIVE_BUFFER_BYTES,
  );
  const maxClients = positive("maxClients", options.maxClients ?? DEFAULT_LIVE_CLIENTS);
  const maxPerOwner = positive(
    "maxClientsPerOwner",
    options.maxClientsPerOwner ?? DEFAULT_LIVE_CLIENTS_PER_OWNER,
  );
  /** Clients connected now, by owner. */
  const owners = new Map<string, number>();
  const heartbeatMs =
    positive("heartbeatSeconds", options.heartbeatSeconds ?? DEFAULT_HEARTBEAT_SECONDS) * 1000;
  const flushMs = options.flushMs ?? DEFAULT_LIVE_FLUSH_MS;
  if (!(flushMs >= 0)) throw new RangeError(`Cannot use flushMs=${flushMs}: it must be ≥ 0`);
  const clients = new Set<Client>();
  let closed = false;
  let dropped = 0;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  /** Events published since the last flush, serialised once for every client. */
  let pending: Pending[] = [];
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  const heartbeatChunk = encoder.encode(": heartbeat\n\n");

  let droppedCounter: client.Counter | undefined;
  if (options.registry) {
    new client.Gauge({
      name: "zo_live_clients",
      help: "Clients following GET /live now.",
      registers: [options.registry],
      collect() {
        this.set(clients.size);
      },
    });
    droppedCounter = new client.Counter({
      name: "zo_live_clients_dropped_total",
      help: "GET /live clients dropped because they read too slowly.",
      registers: [options.registry],
    });
  }

  function remove(entry: Client): void {
    if (!clients.delete(entry)) return;
    const left = (owners.get(entry.owner) ?? 1) - 1;
    if (left > 0) owners.set(entry.owner, left);
    else owners.delete(entry.owner);
    if (clients.size === 0 && heartbeat !== undefined) {
      clearInterval(heartbeat);
      heartbeat = undefined;
    }
    if (clients.size === 0) options.onActive?.(false);
  }

  /** Queues `chunk` for a client, or drops it when its queue is full. */
  function send(entry: Client, chunk: Uint8Array): void {
    const queued = maxBytes - (entry.controller.desiredSize ?? 0);
    // An empty queue takes any chunk, so one large event never drops a client that keeps up.
    if (queued > 0 && queued + chunk.byteLength > maxBytes) {
      remove(entry);
      dropped++;
      droppedCounter?.inc();
      try {
        // error() discards the queue now: a stuck reader holds no memory after this.
        entry.controller.error(
          new Error(`Dropped: more than ${maxBytes} bytes waiting for this client`),
        );
      } catch { /* already closed */ }
      return;
    }
    try {
      entry.controller.enqueue(chunk);
    } catch {
      remove(entry); // the stream is gone (cancelled between checks)
    }
  }

  /**
   * Sends each client, in one write, the pending events its filter matches. Coalescing makes
   * the cost per client a write per flush rather than per event: with many clients and
   * single-event ingest requests, that is the difference between a few hundred writes a second
   * and tens of thousands.
   */
  function flush(): void {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    const items = pending;
    pending = [];
    if (items.length === 0) return;
    // Clients that take every event (fleet overviews) share one buffer per form: Deno.serve
    // copies a body chunk out when it writes it, so a chunk can go to several responses.
    let allFull: Uint8Array | undefined;
    let allSummaries: Uint8Array | undefined;
    for (const entry of [...clients]) {
      const summary = entry.filter.summary === true;
      if (entry.takesAll) {
        if (summary) send(entry, allSummaries ??= concat(items.map(summaryBytes)));
        else send(entry, allFull ??= concat(items.map(fullBytes)));
        continue;
      }
      const parts: Uint8Array[] = [];
      for (const item of items) {
        if (!matchesLive(entry.filter, item.event, () => jsonOf(item))) continue;
        parts.push(summary ? summaryBytes(item) : fullBytes(item));
      }
      if (parts.length > 0) send(entry, concat(parts));
    }
  }

  return {
    publish(events) {
      if (clients.size === 0 || events.length === 0) return;
      options.onPublish?.(events);
      // Serialised at the flush, and only in the forms some client takes.
      for (const event of events) pending.push({ event });
      if (pending.length >= MAX_PENDING_EVENTS) flush();
      else flushTimer ??= setTimeout(flush, flushMs);
    },

    subscribe(filter, subscribeOptions = {}) {
      const owner = subscribeOptions.owner ?? "";
      if (closed) throw new LiveFullError("Cannot follow live events: the bridge is stopping");
      if (clients.size >= maxClients) {
        throw new LiveFullError(
          `Cannot follow live events: ${clients.size} clients are connected, the most this bridge takes; retry later`,
        );
      }
      if ((owners.get(owner) ?? 0) >= maxPerOwner) {
        throw new LiveFullError(
          `Cannot follow live events: this key already has ${maxPerOwner} live streams open, the most one key may hold; close one`,
          { perOwner: true },
        );
      }
      let entry: Client | undefined;
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          const fields = Object.values(filter.fields ?? {}).filter((v) => v !== undefined);
          const takesAll = fields.length === 0 && filter.text === undefined &&
            filter.projectIds === undefined;
          entry = { filter, takesAll, controller, owner };
          clients.add(entry);
          if (clients.size === 1) options.onActive?.(true);
          owners.set(owner, (owners.get(owner) ?? 0) + 1);
          controller.enqueue(encoder.encode(formatSse({
            event: "ready",
            data: JSON.stringify({ heartbeat_seconds: heartbeatMs / 1000 }),
          })));
          heartbeat ??= setInterval(() => {
            for (const each of [...clients]) send(each, heartbeatChunk);
          }, heartbeatMs);
        },
        cancel() {
          if (entry) remove(entry);
        },
      }, new ByteLengthQueuingStrategy({ highWaterMark: maxBytes }));
      return stream;
    },

    get clients() {
      return clients.size;
    },

    get dropped() {
      return dropped;
    },

    close() {
      flush();
      closed = true;
      const closing = encoder.encode(
        formatSse({ event: "closing", data: JSON.stringify({ reason: "shutdown" }) }),
      );
      for (const entry of [...clients]) {
        remove(entry);
        try {
          entry.controller.enqueue(closing);
          entry.controller.close();
        } catch { /* already gone */ }
      }
    },
  };
}
