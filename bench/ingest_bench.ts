/**
 * Ingest throughput of the bridge against the store's own speed, in one run on one Chroma server
 * (the project's embedded one):
 *
 * - raw: batched adds straight into Chroma, 500 records a call, of the same records the bridge
 *   writes (the envelope as document, `eventMetadata()` from `chroma/event_records.ts`, the placeholder
 *   vector on `events` and the offline 256-dimension vector of `indexable_text` on
 *   `embeddings`), into collections of their own;
 * - bridge (a): `bridge/main.ts` as a subprocess on that server, fed by 64 concurrent clients
 *   posting one event each;
 * - bridge (b): the same bridge, fed by 4 clients posting 200-event batches.
 *
 * Phases are interleaved over several rounds and medians reported, with the ratios to raw
 * (target: at least 0.8) and the bridge's peak resident memory under the load (from its own
 * `/metrics`; target: at most 200 MB).
 *
 * ```sh
 * deno run --allow-run=deno --allow-net=127.0.0.1 --allow-read --allow-write bench/ingest_bench.ts [--events=6000] [--rounds=3] [ZO_INGEST_...=value ...]
 * ```
 *
 * `ZO_INGEST_*=value` arguments go to the bridge's environment, for tuning group commit.
 *
 * @module
 */
import { type Collection } from "chromadb";
import { chromaClient, PLACEHOLDER_EMBEDDING } from "../bridge/chroma/connection.ts";
import { eventMetadata } from "../bridge/chroma/event_records.ts";
import { startEmbeddedChroma } from "../bridge/embedded_chroma.ts";
import { offlineProvider } from "../bridge/embeddings.ts";
import { spawnBridge } from "../bridge/testing/bridge.ts";
import { runLoad } from "../bridge/testing/load.ts";
import { eventFromHookPayload } from "../hooks/pipeline/envelope.ts";
import { createRedactor } from "../shared/redact.ts";
import type { Event } from "../shared/schema.ts";

const RAW_BATCH = 500;

function option(name: string, fallback: number): number {
  const arg = Deno.args.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? fallback : Number(arg.slice(name.length + 3));
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Realistic events: the Claude Code fixtures, each occurrence made distinct. */
async function makeEvents(count: number, runId: string): Promise<Event[]> {
  const dir = new URL("../testdata/claude-code/payloads/", import.meta.url);
  const payloads = [...Deno.readDirSync(dir)].map((entry) =>
    JSON.parse(Deno.readTextFileSync(new URL(entry.name, dir))) as Record<string, unknown>
  );
  const redactor = await createRedactor({ mode: "strict", hostNames: ["bench-vm"], salt: "b" });
  const base = Date.now();
  const events: Event[] = [];
  for (let i = 0; i < count; i++) {
    const payload = {
      ...payloads[i % payloads.length]!,
      session_id: `${runId}-session-${i % 64}`,
    };
    events.push(
      await eventFromHookPayload(payload, {
        run_id: runId,
        project_id: "bench",
        worker_id: `vm-${i % 16}`,
        agent_role: "worker",
      }, { redactor, now: base + i }),
    );
  }
  return events;
}

/** The raw baseline: what the bridge adds for each event, 500 a call, nothing else. */
async function rawAdds(events: Event[], cols: { events: Collection; embeddings: Collection }) {
  const embedder = offlineProvider();
  const started = performance.now();
  for (let i = 0; i < events.length; i += RAW_BATCH) {
    const part = events.slice(i, i + RAW_BATCH);
    const indexable = part.filter((e) => (e.indexable_text ?? "").trim() !== "");
    const vectors = await embedder.embed(indexable.map((e) => e.indexable_text!));
    await Promise.all([
      cols.events.add({
        ids: part.map((e) => e.event_id),
        documents: part.map((e) => JSON.stringify(e)),
        metadatas: part.map(eventMetadata),
        embeddings: part.map(() => [...PLACEHOLDER_EMBEDDING]),
      }),
      indexable.length === 0 ? undefined : cols.embeddings.add({
        ids: indexable.map((e) => e.event_id),
        documents: indexable.map((e) => e.indexable_text!),
        metadatas: indexable.map(eventMetadata),
        embeddings: vectors,
      }),
    ]);
  }
  return events.length / ((performance.now() - started) / 1000);
}

/** Peak `process_resident_memory_bytes` of the bridge while `during` runs. */
async function peakRss<T>(metricsUrl: string, key: string, during: Promise<T>) {
  let peak = 0;
  let done = false;
  const sampler = (async () => {
    while (!done) {
      try {
        const text = await (await fetch(metricsUrl, {
          headers: { authorization: `Bearer ${key}` },
        })).text();
        const rss = Number(/^process_resident_memory_bytes (\d+)/m.exec(text)?.[1] ?? 0);
        peak = Math.max(peak, rss);
      } catch { /* the bridge is busy; try again */ }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const result = await during;
  done = true;
  await sampler;
  return { result, peak };
}

/** The bridge's write counters from its `/metrics`: writes, events written, seconds writing. */
interface WriteStats {
  writes: number;
  events: number;
  seconds: number;
}

const zeroWrites = (): WriteStats => ({ writes: 0, events: 0, seconds: 0 });

async function writeStats(url: string, key: string): Promise<WriteStats> {
  const metrics = await (await fetch(`${url}/metrics`, {
    headers: { authorization: `Bearer ${key}` },
  })).text();
  const metric = (name: string) =>
    Number(new RegExp(`^${name} (\\S+)`, "m").exec(metrics)?.[1] ?? 0);
  return {
    writes: metric("zo_ingest_batch_events_count"),
    events: metric("zo_ingest_batch_events_sum"),
    seconds: metric("zo_chroma_write_duration_seconds_sum"),
  };
}

/** Adds the writes between two readings of the counters to `into`. */
function addWrites(into: WriteStats, before: WriteStats, after: WriteStats): void {
  into.writes += after.writes - before.writes;
  into.events += after.events - before.events;
  into.seconds += after.seconds - before.seconds;
}

async function main(): Promise<void> {
  const perPhase = option("events", 6_000);
  const rounds = option("rounds", 3);
  const bridgeEnv = Object.fromEntries(
    Deno.args.filter((a) => a.startsWith("ZO_INGEST_")).map((a) => a.split("=", 2)),
  );
  const dataDir = await Deno.makeTempDir({ prefix: "zo-ingest-bench-" });
  await using chroma = await startEmbeddedChroma({ path: dataDir });
  const client = chromaClient({ url: chroma.url });
  const cols = {
    events: await client.getOrCreateCollection({ name: "raw_events", embeddingFunction: null }),
    embeddings: await client.getOrCreateCollection({
      name: "raw_embeddings",
      embeddingFunction: null,
      configuration: { hnsw: { space: "cosine" } },
    }),
  };
  const bridge = await spawnBridge({ chromaUrl: chroma.url, env: bridgeEnv });
  const log = (text: string) => {
    // deno-lint-ignore no-console -- printing the figures is the point of a benchmark
    console.log(text);
  };
  try {
    log(`Preparing ${(rounds * 3 + 1) * perPhase} events from the fixtures...`);
    const pool = await makeEvents((rounds * 3 + 1) * perPhase, `bench-${Date.now()}`);
    const take = (n: number) => pool.splice(0, n);
    const feed = (clients: number, eventsPerRequest: number, events: Event[]) =>
      runLoad({
        url: bridge.ingestUrl,
        key: bridge.apiKey,
        clients,
        eventsPerRequest,
        totalEvents: events.length,
        makeEvents: (n) => Promise.resolve(events.splice(0, n)),
      });

    // Warm-up: collections, JIT, connections.
    const warm = take(perPhase);
    await rawAdds(warm.slice(0, perPhase / 2), cols);
    await feed(8, 50, warm.slice(perPhase / 2));

    const raw: number[] = [];
    const single: number[] = [];
    const batched: number[] = [];
    const writes = { a: zeroWrites(), b: zeroWrites() };
    let peak = 0;
    for (let round = 1; round <= rounds; round++) {
      raw.push(await rawAdds(take(perPhase), cols));
      let before = await writeStats(bridge.url, bridge.apiKey);
      const a = await peakRss(`${bridge.url}/metrics`, bridge.apiKey, feed(64, 1, take(perPhase)));
      const after = await writeStats(bridge.url, bridge.apiKey);
      addWrites(writes.a, before, after);
      before = after;
      const b = await peakRss(`${bridge.url}/metrics`, bridge.apiKey, feed(4, 200, take(perPhase)));
      addWrites(writes.b, before, await writeStats(bridge.url, bridge.apiKey));
      for (const [report, into] of [[a.result, single], [b.result, batched]] as const) {
        const other = Object.entries(report.statuses).filter(([code]) => code !== "200");
        if (other.length > 0) throw new Error(`Bridge answered ${JSON.stringify(report.statuses)}`);
        into.push(report.acknowledged.length / report.seconds);
      }
      peak = Math.max(peak, a.peak, b.peak);
      log(
        `round ${round}: raw ${raw.at(-1)!.toFixed(0)}/s, bridge (a) ${
          single.at(-1)!.toFixed(0)
        }/s, bridge (b) ${batched.at(-1)!.toFixed(0)}/s`,
      );
    }
    const [r, a, b] = [median(raw), median(single), median(batched)];
    log("");
    log(`events per phase ${perPhase}, rounds ${rounds}, medians:`);
    log(`raw Chroma adds (500 a call):        ${r.toFixed(0)} events/s`);
    log(
      `bridge (a) 64 clients x 1 event:    ${a.toFixed(0)} events/s  ratio ${
        (a / r).toFixed(2)
      } (target >= 0.8)`,
    );
    log(
      `bridge (b) 4 clients x 200 events:  ${b.toFixed(0)} events/s  ratio ${
        (b / r).toFixed(2)
      } (target >= 0.8)`,
    );
    log(
      `bridge peak RSS under load:          ${(peak / 1024 / 1024).toFixed(0)} MB (target <= 200)`,
    );
    for (const [phase, w] of Object.entries(writes)) {
      log(
        `group commit (${phase}): ${w.writes} writes, mean ${
          (w.events / w.writes).toFixed(0)
        } events, mean ${(w.seconds / w.writes * 1000).toFixed(0)} ms a write`,
      );
    }
  } finally {
    await bridge.stop();
    await chroma.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  await main();
}
