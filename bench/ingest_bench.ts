/**
 * Ingest throughput of the bridge against raw Chroma at the same call size, side by side in one
 * run on one Chroma server (the project's embedded one), under two loads:
 *
 * - (a) 64 concurrent clients posting one event each, against raw adds of 64 records a call;
 * - (b) 4 clients posting 200-event batches, against raw adds of 500 records a call.
 *
 * Raw is what the bridge's one add per batch holds: the same records (the envelope as document,
 * `eventRecordMetadata()` from `bridge/chroma/event_records.ts`, the offline 256-dimension vector
 * of `indexable_text`, computed in the timed loop) into one collection of its own, one call
 * after another. The bridge is `bridge/main.ts` as a subprocess on that server.
 *
 * Each phase runs for `--seconds` (default 60, so a growing backlog would show). A bridge
 * phase's throughput counts from its first request until every acknowledged event is findable:
 * after the load stops, the last 8 events acknowledged are looked up by `text=`
 * (their event id) and by `q=` (their own text, which holds a word of its own) until all are found, and
 * that wait is counted too. Reported per load: events/s, the ratio to raw (target at least 0.8),
 * acknowledgement latency p50/p99, the bridge's peak resident memory (from its `/metrics`), and
 * group commit's mean write.
 *
 * ```sh
 * deno run --allow-run=deno --allow-net=127.0.0.1 --allow-read --allow-write bench/ingest_bench.ts [--seconds=60] [--raw-a=64] [--raw-b=500] [ZO_INGEST_...=value ...]
 * ```
 *
 * `ZO_INGEST_*=value` arguments go to the bridge's environment, for tuning group commit.
 *
 * @module
 */
import { type Collection } from "chromadb";
import { chromaClient } from "../bridge/chroma/connection.ts";
import { eventRecordMetadata } from "../bridge/chroma/event_records.ts";
import { WriteSequence } from "../bridge/chroma/writer_stamp.ts";
import { startEmbeddedChroma } from "../bridge/embedded_chroma.ts";
import { offlineProvider } from "../bridge/embeddings.ts";
import { spawnBridge } from "../bridge/testing/bridge.ts";
import { type LoadReport, runLoad } from "../bridge/testing/load.ts";
import { eventFromHookPayload } from "../hooks/pipeline/envelope.ts";
import { uuidV7 } from "../shared/ids.ts";
import { createRedactor } from "../shared/redact.ts";
import type { Event } from "../shared/schema.ts";
import { log, option, percentile } from "./_stats.ts";

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Realistic events without end: the Claude Code fixtures, sealed once, then copied with their
 * own id, ts, hash and session (64 of them), and a word of their own in `indexable_text` so
 * `q=` can find each one.
 */
async function eventSource(runId: string): Promise<(count: number) => Promise<Event[]>> {
  const dir = new URL("../testdata/claude-code/payloads/", import.meta.url);
  const redactor = await createRedactor({ mode: "strict", hostNames: ["bench-vm"], salt: "b" });
  const templates: Event[] = [];
  for (const entry of [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name))) {
    const payload = JSON.parse(Deno.readTextFileSync(new URL(entry.name, dir)));
    templates.push(
      await eventFromHookPayload(payload, {
        run_id: runId,
        project_id: "bench",
        worker_id: "vm",
        agent_role: "worker",
      }, { redactor }),
    );
  }
  let made = 0;
  return async (count) => {
    const events: Event[] = [];
    for (let i = 0; i < count; i++) {
      // Taken before any await: clients make their events concurrently.
      const n = made++;
      const template = templates[n % templates.length]!;
      const now = Date.now();
      // A UUID v7 of its own ts, as every producer in this codebase mints them.
      const eventId = uuidV7(now);
      const session = `${runId}-session-${n % 64}`;
      events.push({
        ...template,
        event_id: eventId,
        ts: new Date(now).toISOString(),
        session_id: session,
        worker_id: `vm-${n % 16}`,
        hash: await sha256Hex(eventId),
        indexable_text: `${(template.indexable_text ?? "").slice(0, 1_900)} ${uniqueWord(runId, n)}`
          .trim(),
        data: { ...template.data, session_id: session },
      });
    }
    return events;
  };
}

/** A word no other event's text holds (letters and digits only, so the embedder keeps it whole). */
function uniqueWord(runId: string, n: number): string {
  return `u${runId.replace(/[^a-z0-9]/gi, "")}n${n}`;
}

/** Raw adds of `size` records a call for `seconds`: records per second. */
async function rawPhase(
  collection: Collection,
  options: { size: number; seconds: number; make: (count: number) => Promise<Event[]> },
): Promise<{ rate: number; calls: number; msPerCall: number }> {
  const embedder = offlineProvider();
  const deadline = performance.now() + options.seconds * 1000;
  let records = 0;
  let calls = 0;
  let busyMs = 0;
  const sequence = new WriteSequence("bench-raw");
  while (performance.now() < deadline) {
    // Making the events is the load generator's work, not Chroma's: it is left out of the time.
    const part = await options.make(options.size);
    const t0 = performance.now();
    const vectors = await embedder.embed(part.map((e) => e.indexable_text ?? ""));
    const stamp = sequence.next();
    await collection.add({
      ids: part.map((e) => e.event_id),
      documents: part.map((e) => JSON.stringify(e)),
      metadatas: part.map((event) => eventRecordMetadata(event, stamp)),
      embeddings: vectors,
    });
    busyMs += performance.now() - t0;
    records += part.length;
    calls++;
  }
  return { rate: records / (busyMs / 1000), calls, msPerCall: busyMs / calls };
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
      await new Promise((r) => setTimeout(r, 250));
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

interface BridgeRun {
  rate: number;
  loadSeconds: number;
  findableSeconds: number;
  acknowledged: number;
  p50: number;
  p99: number;
  peakRss: number;
  writes: WriteStats;
}

/** One bridge phase: the load for `seconds`, then the wait until its last events are findable. */
async function bridgePhase(
  bridge: { url: string; ingestUrl: string; apiKey: string },
  options: {
    clients: number;
    eventsPerRequest: number;
    seconds: number;
    make: (count: number) => Promise<Event[]>;
    lookups: Map<string, Lookup>;
    /** Events made before the phase starts (more are made as needed). */
    premade: number;
  },
): Promise<BridgeRun> {
  // Made before the clock starts, as the raw phase's are: the load generator shares the cores.
  const pool = await options.make(options.premade);
  const make = async (count: number) =>
    pool.length >= count
      ? pool.splice(0, count)
      : [...pool.splice(0), ...await options.make(count - pool.length)];
  const before = await writeStats(bridge.url, bridge.apiKey);
  const started = performance.now();
  const signal = AbortSignal.timeout(options.seconds * 1000);
  const load = runLoad({
    url: bridge.ingestUrl,
    key: bridge.apiKey,
    clients: options.clients,
    eventsPerRequest: options.eventsPerRequest,
    signal,
    makeEvents: make,
  });
  const { result: report, peak } = await peakRss(`${bridge.url}/metrics`, bridge.apiKey, load);
  const loadEnded = performance.now();
  checkStatuses(report);
  await waitFindable(bridge, { report, lookups: options.lookups });
  const findable = performance.now();
  const after = await writeStats(bridge.url, bridge.apiKey);
  return {
    rate: report.acknowledged.length / ((findable - started) / 1000),
    loadSeconds: (loadEnded - started) / 1000,
    findableSeconds: (findable - loadEnded) / 1000,
    acknowledged: report.acknowledged.length,
    p50: percentile(report.latenciesMs, 0.5),
    p99: percentile(report.latenciesMs, 0.99),
    peakRss: peak,
    writes: {
      writes: after.writes - before.writes,
      events: after.events - before.events,
      seconds: after.seconds - before.seconds,
    },
  };
}

function checkStatuses(report: LoadReport): void {
  const other = Object.entries(report.statuses).filter(([code]) => code !== "200");
  if (other.length > 0) throw new Error(`Bridge answered ${JSON.stringify(report.statuses)}`);
  if (report.unacknowledged.length > 0) {
    throw new Error(`Cannot bench: ${report.unacknowledged.length} events never acknowledged`);
  }
}

/**
 * What finds one event by `q=`: its own text, within its session. Its vector is the only one at
 * distance 0 (the others of its template differ by their own word), so it ranks first.
 */
interface Lookup {
  text: string;
  session: string;
}

/**
 * Waits until the last acknowledged events (a sample of 8) are found by `text=` (their id) and by
 * `q=`, each within its session; the lookups of a round run at once.
 */
async function waitFindable(
  bridge: { url: string; apiKey: string },
  options: { report: LoadReport; lookups: Map<string, Lookup> },
): Promise<void> {
  const pending = new Set(options.report.acknowledged.slice(-8));
  const found = async (id: string, search: string) => {
    const response = await fetch(`${bridge.url}/query?${search}`, {
      headers: { authorization: `Bearer ${bridge.apiKey}` },
    });
    const body = await response.json() as { results?: { event_id: string }[] };
    return body.results?.some((r) => r.event_id === id) ?? false;
  };
  const deadline = performance.now() + 300_000;
  while (pending.size > 0) {
    if (performance.now() > deadline) throw new Error(`Cannot find ${pending.size} events`);
    await Promise.all([...pending].map(async (id) => {
      const { text, session } = options.lookups.get(id)!;
      const inSession = `session_id=${encodeURIComponent(session)}`;
      const [byText, byQ] = await Promise.all([
        found(id, `text=${encodeURIComponent(id)}&${inSession}`),
        found(id, `q=${encodeURIComponent(text)}&${inSession}&limit=10`),
      ]);
      if (byText && byQ) pending.delete(id);
    }));
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 100));
  }
}

async function main(): Promise<void> {
  const seconds = option("seconds", 60);
  const rawA = option("raw-a", 64);
  const rawB = option("raw-b", 500);
  const bridgeEnv = Object.fromEntries(
    Deno.args.filter((a) => a.startsWith("ZO_INGEST_")).map((a) => a.split("=", 2)),
  );
  const dataDir = await Deno.makeTempDir({ prefix: "zo-ingest-bench-" });
  await using chroma = await startEmbeddedChroma({ path: dataDir });
  const client = chromaClient({ url: chroma.url });
  const raw = await client.getOrCreateCollection({
    name: "raw_events",
    embeddingFunction: null,
    configuration: { hnsw: { space: "cosine" } },
  });
  const bridge = await spawnBridge({ chromaUrl: chroma.url, env: bridgeEnv });
  try {
    const runId = `bench${Date.now()}`;
    const source = await eventSource(runId);
    // The text and session of each event the bridge is sent, to look it up once acknowledged.
    const lookups = new Map<string, Lookup>();
    const tracked = async (count: number) => {
      const events = await source(count);
      for (const e of events) {
        lookups.set(e.event_id, { text: e.indexable_text!, session: e.session_id });
      }
      return events;
    };

    log(`Warming up (collections, JIT, connections)...`);
    await rawPhase(raw, { size: rawB, seconds: 5, make: source });
    await bridgePhase(bridge, {
      clients: 8,
      eventsPerRequest: 50,
      seconds: 5,
      make: tracked,
      lookups,
      premade: 2_000,
    });

    log(`Phases of ${seconds} s each, raw and bridge alternating:`);
    const rawRunA = await rawPhase(raw, { size: rawA, seconds, make: source });
    log(`  raw ${rawA} a call: ${rawRunA.rate.toFixed(0)} records/s`);
    const a = await bridgePhase(bridge, {
      clients: 64,
      eventsPerRequest: 1,
      seconds,
      make: tracked,
      lookups,
      premade: seconds * 400,
    });
    log(`  bridge 64 x 1: ${a.rate.toFixed(0)} events/s`);
    const rawRunB = await rawPhase(raw, { size: rawB, seconds, make: source });
    log(`  raw ${rawB} a call: ${rawRunB.rate.toFixed(0)} records/s`);
    const b = await bridgePhase(bridge, {
      clients: 4,
      eventsPerRequest: 200,
      seconds,
      make: tracked,
      lookups,
      premade: seconds * 400,
    });
    log(`  bridge 4 x 200: ${b.rate.toFixed(0)} events/s`);

    const counts = await (await fetch(`${bridge.url}/health`)).json();
    log("");
    log(`Ingest benchmark, one embedded Chroma, ${seconds} s a phase (${JSON.stringify(counts)})`);
    const rows: [string, BridgeRun, number, number][] = [
      ["(a) 64 clients x 1 event/POST", a, rawRunA.rate, rawA],
      ["(b) 4 clients x 200 events/POST", b, rawRunB.rate, rawB],
    ];
    for (const [name, run, rawRate, size] of rows) {
      log(`${name}:`);
      log(`  raw Chroma, ${size} a call       ${rawRate.toFixed(0)} records/s`);
      log(
        `  bridge                     ${run.rate.toFixed(0)} events/s  ratio ${
          (run.rate / rawRate).toFixed(2)
        } (target >= 0.8)   ${run.acknowledged} events, load ${
          run.loadSeconds.toFixed(1)
        } s + findable by text= and q= ${run.findableSeconds.toFixed(1)} s`,
      );
      // The lookups' own latency is in the wait: with one record per event written before the
      // ack, an acknowledged event is findable at once, and this says what the load alone gave.
      log(
        `  bridge, until the load end ${
          (run.acknowledged / run.loadSeconds).toFixed(0)
        } events/s  ratio ${(run.acknowledged / run.loadSeconds / rawRate).toFixed(2)}`,
      );
      log(
        `  ack latency                p50 ${run.p50.toFixed(0)} ms   p99 ${run.p99.toFixed(0)} ms`,
      );
      log(`  bridge peak RSS            ${(run.peakRss / 1024 / 1024).toFixed(0)} MB`);
      log(
        `  group commit               ${run.writes.writes} writes, mean ${
          (run.writes.events / run.writes.writes).toFixed(0)
        } events, mean ${(run.writes.seconds / run.writes.writes * 1000).toFixed(0)} ms a write`,
      );
    }
    log(
      `raw mean call: ${rawRunA.msPerCall.toFixed(0)} ms (${rawA}), ${
        rawRunB.msPerCall.toFixed(0)
      } ms (${rawB})`,
    );
  } finally {
    await bridge.stop();
    await chroma.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  await main();
}
