/**
 * Load for the bridge in tests and benchmarks: concurrent clients that post fresh events and
 * keep, per event, whether the bridge acknowledged it (2xx). A client that gets anything else
 * backs off briefly and posts the same events again, as the relay does, so what was not
 * acknowledged is retried rather than counted as lost.
 *
 * @module
 */
import type { Event } from "../../shared/schema.ts";
import { makeEvent } from "./fakes.ts";

/** Options of {@linkcode runLoad}. */
export interface LoadOptions {
  /** The ingest URL. */
  url: string;
  key: string;
  /** Concurrent clients. */
  clients: number;
  /** Events per request. */
  eventsPerRequest: number;
  /** Stop sending new batches when this aborts (batches in progress finish or give up). */
  signal?: AbortSignal;
  /** Stop after this many acknowledged events in total. */
  totalEvents?: number;
  /** Makes the events; default {@linkcode makeEvent} with a fresh run id. */
  makeEvents?: (count: number) => Promise<Event[]>;
  /** Give up retrying a batch after this many attempts; default unlimited while not aborted. */
  maxAttempts?: number;
  /** Per-request timeout in ms; default 30 s. */
  timeoutMs?: number;
}

/** What a load run saw. */
export interface LoadReport {
  /** Ids of events the bridge acknowledged with a 2xx. */
  acknowledged: string[];
  /** Events posted but never acknowledged (the run ended first). */
  unacknowledged: string[];
  /** Count of each response status (0: network error). */
  statuses: Record<number, number>;
  /** Wall time of the run in seconds. */
  seconds: number;
  /** Milliseconds from sending each acknowledged request to its 2xx (the client's ack latency). */
  latenciesMs: number[];
}

/** Runs `clients` concurrent posting loops; see the module doc. */
export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const runId = `load-${crypto.randomUUID()}`;
  const make = options.makeEvents ??
    ((n: number) => Promise.all(Array.from({ length: n }, () => makeEvent({ run_id: runId }))));
  const acknowledged: string[] = [];
  const unacknowledged: string[] = [];
  const statuses: Record<number, number> = {};
  const latenciesMs: number[] = [];
  const started = performance.now();
  let budget = options.totalEvents ?? Infinity;
  const body = (events: Event[]) =>
    options.eventsPerRequest === 1 ? JSON.stringify(events[0]) : JSON.stringify(events);

  async function client(): Promise<void> {
    while (!options.signal?.aborted && budget > 0) {
      const count = Math.min(options.eventsPerRequest, budget);
      budget -= count;
      const events = await make(count);
      const payload = body(events);
      let attempts = 0;
      let done = false;
      while (!done) {
        attempts++;
        let status = 0;
        const sent = performance.now();
        try {
          const response = await fetch(options.url, {
            method: "POST",
            headers: {
              authorization: `Bearer ${options.key}`,
              "content-type": "application/json",
            },
            body: payload,
            signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
          });
          status = response.status;
          await response.body?.cancel();
        } catch {
          status = 0;
        }
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status >= 200 && status < 300) {
          latenciesMs.push(performance.now() - sent);
          acknowledged.push(...events.map((e) => e.event_id));
          done = true;
        } else if (
          options.signal?.aborted || attempts >= (options.maxAttempts ?? Infinity)
        ) {
          unacknowledged.push(...events.map((e) => e.event_id));
          done = true;
        } else {
          await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
        }
      }
    }
  }

  await Promise.all(Array.from({ length: options.clients }, client));
  return {
    acknowledged,
    unacknowledged,
    statuses,
    seconds: (performance.now() - started) / 1000,
    latenciesMs,
  };
}
