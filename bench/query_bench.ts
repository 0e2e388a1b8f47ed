/**
 * Storage benchmark: writes 100,000 events through `ChromaStore.write()` in 500-event batches,
 * the first 20,000 interleaved with raw batched adds of the very same records (one record per
 * event: document, metadata and 256-dimension vector) straight into Chroma, then times queries
 * with a session filter, alone and with an event type or a tool, against the 50 ms p50 target.
 * One run, one embedded Chroma server on a temp directory; figures are medians.
 *
 * With `--grow-to=300000` it then writes on to that many events and times the queries again, to
 * show how they grow. `--data=DIR` keeps Chroma's files in DIR (kept afterwards) and writes only
 * what DIR lacks, so a second run times queries without loading again.
 *
 * ```sh
 * deno run --allow-run=deno --allow-net=127.0.0.1 --allow-read --allow-write bench/query_bench.ts [events] [--grow-to=300000] [--data=DIR]
 * ```
 *
 * @module
 */
import { ChromaClient, type Collection, type Where } from "chromadb";
import { eventFromHookPayload } from "../hooks/pipeline/envelope.ts";
import { uuidV7 } from "../shared/ids.ts";
import { createRedactor } from "../shared/redact.ts";
import type { Event } from "../shared/schema.ts";
import { compositeValue, eventRecordMetadata } from "../bridge/chroma/event_records.ts";
import { WriteSequence } from "../bridge/chroma/writer_stamp.ts";
import { ChromaStore } from "../bridge/chroma_store.ts";
import { offlineProvider } from "../bridge/embeddings.ts";
import { startEmbeddedChroma } from "../bridge/embedded_chroma.ts";
import { parseQueryParams } from "../bridge/query_params.ts";
import { log, median } from "./_stats.ts";

const BATCH = 500;
/** Events written interleaved with raw adds of the same records (then store writes only). */
const INTERLEAVED = 20_000;
const SESSION_EVENTS = 500;
/** Sessions are interleaved in time within blocks of this many events (200 sessions a block). */
const BLOCK = 100_000;
const QUERY_TARGET_MS = 50;
const START_MS = Date.parse("2026-11-24T00:00:00.000Z");

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The fixture payloads, sealed once. */
async function templates(): Promise<Event[]> {
  const dir = new URL("../testdata/claude-code/payloads/", import.meta.url);
  const redactor = await createRedactor({ mode: "strict", salt: "bench" });
  const out: Event[] = [];
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  for (const name of names) {
    const payload = JSON.parse(await Deno.readTextFile(new URL(name, dir)));
    out.push(
      await eventFromHookPayload(payload, { run_id: "run", project_id: "bench", worker_id: "vm" }, {
        redactor,
      }),
    );
  }
  return out;
}

/** The session of the `i`-th event: 500 events each, interleaved in time within a block. */
function sessionOf(i: number): number {
  const perBlock = BLOCK / SESSION_EVENTS;
  return Math.floor(i / BLOCK) * perBlock + (i % perBlock);
}

/**
 * Events `from` to `from + count`: templates copied with their own event_id, ts, hash, session
 * and run, made a batch at a time so 300,000 never sit in memory at once.
 */
async function makeEvents(base: Event[], from: number, count: number): Promise<Event[]> {
  const events: Event[] = [];
  for (let i = from; i < from + count; i++) {
    const template = base[i % base.length]!;
    const session = sessionOf(i);
    const tsMs = START_MS + i * 37;
    // A UUID v7 of its ts, as every producer in this codebase mints them.
    const eventId = uuidV7(tsMs);
    events.push({
      ...template,
      event_id: eventId,
      ts: new Date(tsMs).toISOString(),
      session_id: `session-${session}`,
      run_id: `run-${session % 20}`,
      worker_id: `vm-${session % 10}`,
      hash: await sha256Hex(eventId),
      data: { ...template.data, session_id: `session-${session}` },
    });
  }
  return events;
}

const rawSequence = new WriteSequence("bench-raw");

/** Adds one batch the way the store lays it out, without dedupe or state: the raw baseline. */
async function rawAdd(events: Collection, batch: Event[], vectors: number[][]): Promise<void> {
  const stamp = rawSequence.next();
  await events.add({
    ids: batch.map((e) => e.event_id),
    documents: batch.map((e) => JSON.stringify(e)),
    metadatas: batch.map((event) => eventRecordMetadata(event, stamp)),
    embeddings: vectors,
  });
}

interface WriteFigures {
  raw: number[];
  store: number[];
  storeMs: number;
  written: number;
}

/** Writes events `from`..`to` through the store, the first INTERLEAVED ones alternating with raw. */
async function load(
  ctx: { store: ChromaStore; raw: Collection; base: Event[] },
  range: { from: number; to: number },
  figures: WriteFigures,
): Promise<void> {
  const embedder = offlineProvider();
  for (let i = range.from; i < range.to; i += BATCH) {
    const batch = await makeEvents(ctx.base, i, Math.min(BATCH, range.to - i));
    const runRaw = async () => {
      const raw = batch.map((e) => ({ ...e, event_id: `raw-${e.event_id}` }));
      const t0 = performance.now();
      const vectors = await embedder.embed(raw.map((e) => e.indexable_text ?? ""));
      await rawAdd(ctx.raw, raw, vectors);
      figures.raw.push(raw.length / (performance.now() - t0) * 1000);
    };
    const runStore = async () => {
      const t0 = performance.now();
      const result = await ctx.store.write(batch);
      const ms = performance.now() - t0;
      if (result.stored.length !== batch.length) throw new Error("Cannot bench: events lost");
      figures.storeMs += ms;
      figures.written += batch.length;
      if (i < INTERLEAVED) figures.store.push(batch.length / ms * 1000);
    };
    // Alternate which goes first so neither always meets a freshly compacted server.
    if (i >= INTERLEAVED) await runStore();
    else if ((i / BATCH) % 2 === 0) {
      await runRaw();
      await runStore();
    } else {
      await runStore();
      await runRaw();
    }
    if ((i / BATCH) % 40 === 39) log(`  ${i + BATCH} events stored`);
  }
}

const QUERIES = [
  "session filter, first page (limit 100)",
  "session filter, next page (cursor)",
  "session + event_type filter",
  "session + tool_name filter",
  "session + event_type + tool_name filter",
  "no filter, first page (limit 100)",
] as const;

/** Times each query kind over random sessions of the first `total` events. */
async function timeQueries(store: ChromaStore, total: number): Promise<Record<string, number[]>> {
  const sessions = sessionOf(total - 1) + 1;
  const timings: Record<string, number[]> = Object.fromEntries(QUERIES.map((q) => [q, []]));
  const timeQuery = async (name: typeof QUERIES[number], search: string) => {
    const parsed = parseQueryParams(new URLSearchParams(search));
    if (!parsed.ok) throw new Error(parsed.error);
    const t0 = performance.now();
    const page = await store.query(parsed.params);
    timings[name]!.push(performance.now() - t0);
    return page;
  };
  for (let i = 0; i < 60; i++) {
    const session = `session-${Math.floor(Math.random() * sessions)}`;
    const first = await timeQuery(QUERIES[0], `session_id=${session}`);
    // Below 100,000 events a block's 200 sessions hold fewer events each: a session may fit on
    // one page, and then there is no next page to time.
    const perSession = Math.floor(Math.min(total, BLOCK) / (BLOCK / SESSION_EVENTS));
    if (first.results.length < Math.min(100, perSession, SESSION_EVENTS)) {
      throw new Error(`Cannot bench: expected a full page, got ${first.results.length}`);
    }
    if (first.next_cursor !== null) {
      await timeQuery(QUERIES[1], `session_id=${session}&cursor=${first.next_cursor}`);
    }
    const typed = await timeQuery(QUERIES[2], `session_id=${session}&event_type=tool_invocation`);
    const tooled = await timeQuery(QUERIES[3], `session_id=${session}&tool_name=Bash`);
    const both = await timeQuery(
      QUERIES[4],
      `session_id=${session}&event_type=tool_invocation&tool_name=Bash`,
    );
    if ([typed, tooled, both].some((page) => page.results.length === 0)) {
      throw new Error("Cannot bench: a session holds no tool_invocation or no Bash event");
    }
    if (i < 10) await timeQuery(QUERIES[5], "");
  }
  return timings;
}

/**
 * What the composite keys buy: Chroma's own `get` (ids only) for one session and event type, as
 * an `$and` of two equalities against the one equality on `session_event_type`.
 */
async function compositeGain(events: Collection, total: number): Promise<string[]> {
  const sessions = sessionOf(total - 1) + 1;
  const forms: Record<string, (session: string) => Where> = {
    "where session_id (one equality)": (session) => ({ session_id: { $eq: session } }),
    "where $and(session_id, event_type)": (session) => ({
      $and: [
        { session_id: { $eq: session } } as Where,
        { event_type: { $eq: "tool_invocation" } } as Where,
      ],
    }),
    "where session_event_type (composite)": (session) => ({
      session_event_type: { $eq: compositeValue(session, "tool_invocation") },
    }),
  };
  const times: Record<string, number[]> = Object.fromEntries(
    Object.keys(forms).map((k) => [k, []]),
  );
  for (let i = 0; i < 30; i++) {
    const session = `session-${Math.floor(Math.random() * sessions)}`;
    for (const [name, where] of Object.entries(forms)) {
      const t0 = performance.now();
      await events.get({ where: where(session), limit: 1_000, include: [] });
      times[name]!.push(performance.now() - t0);
    }
  }
  return [
    `Chroma get (ids only) over ${total} events, ms:`,
    ...Object.entries(times).map(([name, values]) =>
      `  ${name.padEnd(42)} p50 ${median(values).toFixed(1).padStart(6)}   p90 ${
        percentile(values, 0.9).toFixed(1).padStart(6)
      }`
    ),
  ];
}

function queryLines(total: number, timings: Record<string, number[]>): string[] {
  const sessions = sessionOf(total - 1) + 1;
  return [
    `Query latency over ${total} events (${sessions} sessions of ${SESSION_EVENTS}), ms:`,
    // No next page below 100,000 events when every session fits on one.
    ...Object.entries(timings).filter(([, values]) => values.length > 0).map(([name, values]) =>
      `  ${name.padEnd(42)} p50 ${median(values).toFixed(1).padStart(6)}   p90 ${
        percentile(values, 0.9).toFixed(1).padStart(6)
      }   (n=${values.length})`
    ),
    ...QUERIES.slice(0, 5).filter((name) => name !== QUERIES[1]).map((name) =>
      `  ${name.padEnd(42)} p50 / ${QUERY_TARGET_MS} ms target: ${
        (median(timings[name]!) / QUERY_TARGET_MS).toFixed(2)
      }x (at most 1.00 meets it)`
    ),
  ];
}

function option(name: string): string | undefined {
  return Deno.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

async function main(): Promise<void> {
  const total = Number(Deno.args.find((a) => !a.startsWith("--")) ?? 100_000);
  const growTo = Number(option("grow-to") ?? 0);
  const kept = option("data");
  const path = kept ?? await Deno.makeTempDir({ prefix: "zo-query-bench-" });
  const chroma = await startEmbeddedChroma({ path });
  try {
    const url = new URL(chroma.url);
    const client = new ChromaClient({ host: url.hostname, port: Number(url.port) });
    const store = new ChromaStore({ url: chroma.url });
    await store.init();
    const raw = await client.getOrCreateCollection({
      name: "raw_events",
      embeddingFunction: null,
      configuration: { hnsw: { space: "cosine" } },
    });
    const ctx = { store, raw, base: await templates() };
    const figures: WriteFigures = { raw: [], store: [], storeMs: 0, written: 0 };
    const stored = (await store.counts()).events;
    if (stored > 0) log(`${path} holds ${stored} events already`);
    await load(ctx, { from: Math.min(stored, total), to: total }, figures);

    const lines = [
      "",
      `Storage benchmark: ${total} events, ${BATCH} per call, one embedded Chroma (${chroma.url})`,
      `counts: ${JSON.stringify(await store.counts())}`,
    ];
    if (figures.raw.length > 0) {
      const rawRate = median(figures.raw);
      const storeRate = median(figures.store);
      lines.push(
        "",
        `Write throughput, events/s (one record each; first ${
          Math.min(total, INTERLEAVED)
        } events interleaved):`,
        `  raw Chroma batched adds     median ${rawRate.toFixed(0)}/s`,
        `  ChromaStore.write()         median ${
          storeRate.toFixed(0)
        }/s   (all ${figures.written}: ${
          (figures.written / figures.storeMs * 1000).toFixed(0)
        }/s overall)`,
        `  ratio store / raw           ${(storeRate / rawRate).toFixed(2)}x (median)`,
      );
    }
    const events = await client.getCollection({ name: "events" });
    lines.push("", ...queryLines(total, await timeQueries(store, total)));
    lines.push("", ...await compositeGain(events, total));
    log(lines.join("\n"));
    if (growTo > total) {
      const t0 = performance.now();
      await load(ctx, { from: Math.max(stored, total), to: growTo }, figures);
      log(
        `\nGrew to ${growTo} events in ${((performance.now() - t0) / 1000).toFixed(0)} s; ` +
          `counts: ${JSON.stringify(await store.counts())}`,
      );
      log(queryLines(growTo, await timeQueries(store, growTo)).join("\n"));
      log(["", ...await compositeGain(events, growTo)].join("\n"));
    }
  } finally {
    await chroma.stop();
    if (kept === undefined) await Deno.remove(path, { recursive: true });
  }
}

if (import.meta.main) {
  await main();
}
