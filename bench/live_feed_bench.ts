/**
 * Cost of one poll of the shared live feed (`bridge/live_feed.ts`) over a store holding many
 * events: loads `events` (default 100,000) stamped an hour ago by this bridge (its history,
 * outside the look-back), then a window of recent records, half this bridge's and half another
 * bridge's, and times what a poll reads: the ids of the window (one range on `write_seq`, ids
 * only, one call), and the stamps and envelopes of the other bridge's records (a poll that meets
 * them all at once; later polls read only the ids). For comparison it times the ids read in
 * pages, and the window read as a conjunction with `writer != self` or with documents, as a poll
 * without the two steps would. One embedded Chroma on a temp directory;
 * figures are medians of 15.
 *
 * ```sh
 * deno run --allow-run=deno --allow-net=127.0.0.1 --allow-read --allow-write bench/live_feed_bench.ts [events] [--window=2000,20000]
 * ```
 *
 * @module
 */
import { ChromaClient, type Collection, type Where } from "chromadb";
import { eventFromHookPayload } from "../hooks/pipeline/envelope.ts";
import { uuidV7 } from "../shared/ids.ts";
import { createRedactor } from "../shared/redact.ts";
import type { Event } from "../shared/schema.ts";
import { eventRecordMetadata } from "../bridge/chroma/event_records.ts";
import { WRITE_SEQ_KEY, WRITER_KEY, WriteSequence } from "../bridge/chroma/writer_stamp.ts";
import { ChromaStore } from "../bridge/chroma_store.ts";
import { offlineProvider } from "../bridge/embeddings.ts";
import { startEmbeddedChroma } from "../bridge/embedded_chroma.ts";
import { DEFAULT_LIVE_MAX_RECORDS_PER_POLL } from "../bridge/live_feed.ts";
import type { StoredWrites } from "../bridge/store.ts";
import { log, median } from "./_stats.ts";

const SELF = "bridge-self";
const OTHER = "bridge-other";
const BATCH = 1_000;
const RUNS = 15;

async function templates(): Promise<Event[]> {
  const dir = new URL("../testdata/claude-code/payloads/", import.meta.url);
  const redactor = await createRedactor({ mode: "strict", salt: "bench" });
  const out: Event[] = [];
  for (const name of [...Deno.readDirSync(dir)].map((e) => e.name).sort()) {
    const payload = JSON.parse(await Deno.readTextFile(new URL(name, dir)));
    out.push(
      await eventFromHookPayload(payload, { run_id: "run", project_id: "bench", worker_id: "vm" }, {
        redactor,
      }),
    );
  }
  return out;
}

/** Adds `count` records from `from` on, stamped by `sequence`, as the store lays them out. */
async function add(
  events: Collection,
  options: { base: Event[]; from: number; count: number; sequence: WriteSequence },
): Promise<void> {
  const embedder = offlineProvider();
  for (let i = options.from; i < options.from + options.count; i += BATCH) {
    const batch: Event[] = [];
    for (let j = i; j < Math.min(i + BATCH, options.from + options.count); j++) {
      const template = options.base[j % options.base.length]!;
      const tsMs = Date.now() - 3_600_000 + j;
      batch.push({ ...template, event_id: uuidV7(tsMs), ts: new Date(tsMs).toISOString() });
    }
    const stamp = options.sequence.next();
    await events.add({
      ids: batch.map((e) => e.event_id),
      documents: batch.map((e) => JSON.stringify(e)),
      metadatas: batch.map((event) => eventRecordMetadata(event, stamp)),
      embeddings: await embedder.embed(batch.map((e) => e.indexable_text ?? "")),
    });
  }
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await run();
    samples.push(performance.now() - t0);
  }
  return median(samples);
}

/** Every page of 1,000 of a `get` with `where` (how a poll must not read); the records read. */
async function readPaged(
  events: Collection,
  where: Where,
  include: ("metadatas" | "documents")[],
): Promise<number> {
  let read = 0;
  for (let offset = 0;; offset += 1_000) {
    const page = await events.get({ where, limit: 1_000, offset, include });
    read += page.ids.length;
    if (page.ids.length < 1_000) return read;
  }
}

/** The ids of `ids` another bridge wrote. */
async function othersOf(feed: StoredWrites, ids: string[]): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < ids.length; i += 5_000) {
    const writes = await feed.writesByIds(ids.slice(i, i + 5_000));
    out.push(...writes.filter((write) => write.writer !== SELF).map((write) => write.id));
  }
  return out;
}

async function measureWindow(
  ctx: { store: ChromaStore; events: Collection; total: number; floor: number },
  window: number,
): Promise<string[]> {
  const { floor } = ctx;
  const feed = ctx.store.storedWrites;
  const ids = () => feed.idsWrittenSince(floor, DEFAULT_LIVE_MAX_RECORDS_PER_POLL);
  const all = await ids();
  if (all.length !== window) throw new Error(`Cannot bench: read ${all.length} of ${window}`);
  // This bridge's own records were marked seen when it published them: only the others' are read.
  const others = await othersOf(feed, all);
  // The cheapest call there is: what the machine's load alone costs a round trip.
  const baseline = await timed(() => ctx.events.get({ ids: [all[0]!], include: [] }));
  const steady = await timed(ids);
  const first = await timed(async () => {
    await ids();
    for (let i = 0; i < others.length; i += 500) await feed.writesByIds(others.slice(i, i + 500));
  });
  const range: Where = { [WRITE_SEQ_KEY]: { $gte: floor } };
  const conjunction: Where = { $and: [range, { [WRITER_KEY]: { $ne: SELF } } as Where] };
  const paged = await timed(() => readPaged(ctx.events, range, []));
  const conjunctionMs = await timed(() =>
    ctx.events.get({ where: conjunction, limit: window, include: ["metadatas"] })
  );
  const withDocuments = await timed(() =>
    ctx.events.get({ where: range, limit: window, include: ["metadatas", "documents"] })
  );
  const line = (name: string, ms: number) => `  ${name.padEnd(62)} ${ms.toFixed(1).padStart(8)}`;
  return [
    `Window of ${window} records (${others.length} another bridge's) over ${ctx.total} older, ms (median of ${RUNS}):`,
    line("one record by id, ids only (a round trip on this machine now)", baseline),
    line("poll, steady: ids of the window, one get", steady),
    line(`poll meeting ${others.length} new records: + their stamps and envelopes`, first),
    line("for comparison: ids of the window in pages of 1,000", paged),
    line("for comparison: window AND writer != self, with metadatas", conjunctionMs),
    line("for comparison: window with metadatas and documents", withDocuments),
  ];
}

async function main(): Promise<void> {
  const total = Number(Deno.args.find((a) => !a.startsWith("--")) ?? 100_000);
  const windows = (Deno.args.find((a) => a.startsWith("--window="))?.slice(9) ?? "2000,20000")
    .split(",").map(Number).sort((a, b) => a - b);
  const path = await Deno.makeTempDir({ prefix: "zo-live-feed-bench-" });
  const chroma = await startEmbeddedChroma({ path });
  try {
    const url = new URL(chroma.url);
    const client = new ChromaClient({ host: url.hostname, port: Number(url.port) });
    const store = new ChromaStore({ url: chroma.url, writerId: SELF });
    await store.init();
    const events = await client.getCollection({ name: "events" });
    const base = await templates();
    const t0 = performance.now();
    const past = new WriteSequence(SELF, { now: () => Date.now() - 3_600_000 });
    await add(events, { base, from: 0, count: total, sequence: past });
    log(`Loaded ${total} events in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    const lines: string[] = [];
    let held = 0;
    // Where a poll's look-back starts: every window record is written after it (loading a
    // large window takes longer than the look-back itself).
    const floor = WriteSequence.seqAt(Date.now());
    for (const window of windows) {
      // Half this bridge's, half another's, stamped now (inside the look-back).
      const half = (window - held) / 2;
      await add(events, {
        base,
        from: total + held,
        count: half,
        sequence: new WriteSequence(SELF),
      });
      await add(events, {
        base,
        from: total + held + half,
        count: half,
        sequence: new WriteSequence(OTHER),
      });
      held = window;
      lines.push("", ...await measureWindow({ store, events, total, floor }, window));
    }
    log(lines.join("\n"));
  } finally {
    await chroma.stop();
    await Deno.remove(path, { recursive: true });
  }
}

if (import.meta.main) {
  await main();
}
