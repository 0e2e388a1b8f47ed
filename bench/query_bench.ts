/**
 * Storage benchmark: writes 100,000 events through `ChromaStore.write()` in 500-event batches,
 * the first 20,000 interleaved with raw batched adds of the very same records (one record per
 * event: document, metadata and 256-dimension vector) straight into Chroma, then times queries
 * with a session filter, alone and with an event type or a tool, against the 50 ms p50 target.
 * One run, one embedded Chroma server on a temp directory; figures are medians.
 *
 * ```sh
 * deno run --allow-run=deno --allow-net=127.0.0.1 --allow-read --allow-write bench/query_bench.ts [events]
 * ```
 *
 * @module
 */
import { ChromaClient, type Collection } from "chromadb";
import { eventFromHookPayload } from "../hooks/pipeline/envelope.ts";
import { uuidV7 } from "../shared/ids.ts";
import { createRedactor } from "../shared/redact.ts";
import type { Event } from "../shared/schema.ts";
import { eventRecordMetadata } from "../bridge/chroma/event_records.ts";
import { ChromaStore } from "../bridge/chroma_store.ts";
import { offlineProvider } from "../bridge/embeddings.ts";
import { startEmbeddedChroma } from "../bridge/embedded_chroma.ts";
import { parseQueryParams } from "../bridge/query_params.ts";
import { median } from "./_stats.ts";

const BATCH = 500;
/** Events written interleaved with raw adds of the same records (then store writes only). */
const INTERLEAVED = 20_000;
const SESSION_EVENTS = 500;
const QUERY_TARGET_MS = 50;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * `count` realistic envelopes: the fixture payloads sealed once, then copied with their own
 * event_id, ts, hash, session and run, 500 events per session, interleaved in time.
 */
async function makeEvents(count: number): Promise<Event[]> {
  const dir = new URL("../testdata/claude-code/payloads/", import.meta.url);
  const redactor = await createRedactor({ mode: "strict", salt: "bench" });
  const templates: Event[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const payload = JSON.parse(await Deno.readTextFile(new URL(entry.name, dir)));
    templates.push(
      await eventFromHookPayload(payload, { run_id: "run", project_id: "bench", worker_id: "vm" }, {
        redactor,
      }),
    );
  }
  const sessions = Math.ceil(count / SESSION_EVENTS);
  const start = Date.parse("2026-11-24T00:00:00.000Z");
  const events: Event[] = [];
  for (let i = 0; i < count; i++) {
    const template = templates[i % templates.length]!;
    const session = i % sessions;
    const tsMs = start + i * 37;
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

/** Adds one batch the way the store lays it out, without dedupe or state: the raw baseline. */
async function rawAdd(events: Collection, batch: Event[], vectors: number[][]): Promise<void> {
  await events.add({
    ids: batch.map((e) => e.event_id),
    documents: batch.map((e) => JSON.stringify(e)),
    metadatas: batch.map(eventRecordMetadata),
    embeddings: vectors,
  });
}

async function main(): Promise<void> {
  const total = Number(Deno.args[0] ?? 100_000);
  const path = await Deno.makeTempDir({ prefix: "zo-query-bench-" });
  const chroma = await startEmbeddedChroma({ path });
  try {
    const url = new URL(chroma.url);
    const client = new ChromaClient({ host: url.hostname, port: Number(url.port) });
    const store = new ChromaStore({ url: chroma.url });
    await store.init();
    const rawEvents = await client.getOrCreateCollection({
      name: "raw_events",
      embeddingFunction: null,
      configuration: { hnsw: { space: "cosine" } },
    });
    const embedder = offlineProvider();

    const made = performance.now();
    const events = await makeEvents(total);
    const rawCopies = events.map((e) => ({ ...e, event_id: `raw-${e.event_id}` }));
    log(`Made ${total} events in ${((performance.now() - made) / 1000).toFixed(1)} s`);

    const rawRates: number[] = [];
    const storeRates: number[] = [];
    let storeMs = 0;
    for (let i = 0; i < total; i += BATCH) {
      const batch = events.slice(i, i + BATCH);
      const raw = rawCopies.slice(i, i + BATCH);
      // Alternate which goes first so neither always meets a freshly compacted server.
      const runRaw = async () => {
        const t0 = performance.now();
        const vectors = await embedder.embed(raw.map((e) => e.indexable_text ?? ""));
        await rawAdd(rawEvents, raw, vectors);
        const ms = performance.now() - t0;
        rawRates.push(raw.length / ms * 1000);
      };
      const runStore = async () => {
        const t0 = performance.now();
        const result = await store.write(batch);
        const ms = performance.now() - t0;
        if (result.stored.length !== batch.length) throw new Error("Cannot bench: events lost");
        storeMs += ms;
        if (i < INTERLEAVED) storeRates.push(batch.length / ms * 1000);
      };
      if (i >= INTERLEAVED) await runStore();
      else if ((i / BATCH) % 2 === 0) {
        await runRaw();
        await runStore();
      } else {
        await runStore();
        await runRaw();
      }
      if ((i / BATCH) % 40 === 39) {
        log(`  ${i + BATCH} events stored`);
      }
    }
    const counts = await store.counts();

    const sessions = Math.ceil(total / SESSION_EVENTS);
    const timings: Record<string, number[]> = {
      "session filter, first page (limit 100)": [],
      "session filter, next page (cursor)": [],
      "session + event_type filter": [],
      "session + tool_name filter": [],
      "no filter, first page (limit 100)": [],
    };
    const timeQuery = async (name: string, search: string) => {
      const parsed = parseQueryParams(new URLSearchParams(search));
      if (!parsed.ok) throw new Error(parsed.error);
      const t0 = performance.now();
      const page = await store.query(parsed.params);
      timings[name]!.push(performance.now() - t0);
      return page;
    };
    for (let i = 0; i < 60; i++) {
      const session = `session-${Math.floor(Math.random() * sessions)}`;
      const first = await timeQuery(
        "session filter, first page (limit 100)",
        `session_id=${session}`,
      );
      if (first.results.length !== Math.min(100, SESSION_EVENTS)) {
        throw new Error(`Cannot bench: expected a full page, got ${first.results.length}`);
      }
      await timeQuery(
        "session filter, next page (cursor)",
        `session_id=${session}&cursor=${first.next_cursor}`,
      );
      const typed = await timeQuery(
        "session + event_type filter",
        `session_id=${session}&event_type=tool_invocation`,
      );
      const tooled = await timeQuery(
        "session + tool_name filter",
        `session_id=${session}&tool_name=Bash`,
      );
      if (typed.results.length === 0 || tooled.results.length === 0) {
        throw new Error("Cannot bench: a session holds no tool_invocation or no Bash event");
      }
      if (i < 10) await timeQuery("no filter, first page (limit 100)", "");
    }

    const rawRate = median(rawRates);
    const storeRate = median(storeRates);
    const lines = [
      "",
      `Storage benchmark: ${total} events, ${BATCH} per call, one embedded Chroma (${chroma.url})`,
      `counts: ${JSON.stringify(counts)}`,
      "",
      `Write throughput, events/s (one record each; first ${
        Math.min(total, INTERLEAVED)
      } events interleaved):`,
      `  raw Chroma batched adds     median ${rawRate.toFixed(0)}/s`,
      `  ChromaStore.write()         median ${storeRate.toFixed(0)}/s   (all ${total}: ${
        (total / storeMs * 1000).toFixed(0)
      }/s overall)`,
      `  ratio store / raw           ${(storeRate / rawRate).toFixed(2)}x (median)`,
      "",
      `Query latency over ${total} events (${sessions} sessions of ${SESSION_EVENTS}), ms:`,
      ...Object.entries(timings).map(([name, values]) =>
        `  ${name.padEnd(42)} p50 ${median(values).toFixed(1).padStart(6)}   p90 ${
          percentile(values, 0.9).toFixed(1).padStart(6)
        }   (n=${values.length})`
      ),
      ...[
        "session filter, first page (limit 100)",
        "session + event_type filter",
        "session + tool_name filter",
      ].map((name) =>
        `  ${name} p50 / ${QUERY_TARGET_MS} ms target: ${
          (median(timings[name]!) / QUERY_TARGET_MS).toFixed(2)
        }x (at most 1.00 meets it)`
      ),
    ];
    log(lines.join("\n"));
  } finally {
    await chroma.stop();
    await Deno.remove(path, { recursive: true });
  }
}

function log(text: string): void {
  // deno-lint-ignore no-console -- printing the figures is the point of a benchmark
  console.log(text);
}

if (import.meta.main) {
  await main();
}
