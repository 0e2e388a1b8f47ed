/**
 * Scale-out: ingest through 1 bridge and through 2 bridges on one Chroma server, the same client
 * load split evenly across the bridges, in one run:
 *
 * - (a) 64 concurrent clients posting one event each;
 * - (b) 4 clients posting 200-event batches.
 *
 * Each setup gets a fresh Chroma (the project's embedded server, as `bridge/testing/fleet.ts`
 * starts it) and fresh `bridge/main.ts` subprocesses with their own `ZO_BRIDGE_ID`, so neither
 * inherits the other's collection size. A phase runs for `--seconds` (default 30). Reported per
 * load and setup: acknowledged events/s (wall time of the phase), acknowledgement latency p50
 * and p99, the ratio of 2 bridges to 1, and the CPU the Chroma server and the bridges used (cores:
 * CPU seconds over wall seconds, from `ps`; shows which one is the limit). After
 * both loads, a check that agent_state counted every stored event once (the sum of the project
 * records equals the stored events).
 *
 * ```sh
 * deno run --allow-run=deno,ps --allow-net=127.0.0.1 --allow-read --allow-write bench/scale_out_bench.ts [--seconds=30]
 * ```
 *
 * @module
 */
import type { AgentState } from "../bridge/agent_state.ts";
import type { SpawnedBridge } from "../bridge/testing/bridge.ts";
import { makeEvent } from "../bridge/testing/fakes.ts";
import { startFleet } from "../bridge/testing/fleet.ts";
import { type LoadReport, runLoad } from "../bridge/testing/load.ts";
import { log, option, percentile } from "./_stats.ts";

/** A client load: how many clients in all, and events per request. */
interface Load {
  name: string;
  clients: number;
  eventsPerRequest: number;
}

const LOADS: readonly Load[] = [
  { name: "(a) 64 clients x 1 event", clients: 64, eventsPerRequest: 1 },
  { name: "(b) 4 clients x 200 events", clients: 4, eventsPerRequest: 200 },
];

/** What one load on one setup measured. */
interface Figures {
  eventsPerSecond: number;
  p50: number;
  p99: number;
  acknowledged: number;
  /** Cores the Chroma server used during the phase, and all the bridges together. */
  chromaCores: number;
  bridgeCores: number;
}

/**
 * CPU seconds (user + system) process `pid` has used, whole seconds (`ps -o times=`: Deno reads
 * `/proc/<pid>/stat` only with --allow-all); 0 where ps cannot say. Over a 60 s phase, whole
 * seconds are precise enough to tell which process is busy.
 */
async function cpuSeconds(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  try {
    const { stdout } = await new Deno.Command("ps", {
      args: ["-o", "times=", "-p", String(pid)],
      stdout: "piped",
      stderr: "null",
    }).output();
    return Number(new TextDecoder().decode(stdout).trim()) || 0;
  } catch {
    return 0;
  }
}

/** Runs `load` for `seconds`, its clients split evenly across `bridges`. */
async function runPhase(
  bridges: readonly SpawnedBridge[],
  options: { load: Load; seconds: number; chromaPid: number | undefined },
): Promise<Figures> {
  const { load, seconds, chromaPid } = options;
  const cpu = async () => ({
    chroma: await cpuSeconds(chromaPid),
    bridges: (await Promise.all(bridges.map((b) => cpuSeconds(b.pid)))).reduce((a, b) => a + b),
  });
  const cpuBefore = await cpu();
  const signal = AbortSignal.timeout(seconds * 1_000);
  const project = `bench-${crypto.randomUUID().slice(0, 8)}`;
  const make = (n: number) =>
    Promise.all(Array.from({ length: n }, () => makeEvent({ project_id: project })));
  const started = performance.now();
  const reports: LoadReport[] = await Promise.all(bridges.map((bridge, i) =>
    runLoad({
      url: bridge.ingestUrl,
      key: bridge.apiKey,
      // 64 over 2 is 32 each; 4 over 2 is 2 each.
      clients: Math.floor(load.clients / bridges.length) +
        (i < load.clients % bridges.length ? 1 : 0),
      eventsPerRequest: load.eventsPerRequest,
      signal,
      makeEvents: make,
    })
  ));
  const wall = (performance.now() - started) / 1_000;
  const cpuAfter = await cpu();
  const latencies = reports.flatMap((r) => r.latenciesMs);
  const acknowledged = reports.reduce((sum, r) => sum + r.acknowledged.length, 0);
  return {
    eventsPerSecond: acknowledged / wall,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    acknowledged,
    chromaCores: (cpuAfter.chroma - cpuBefore.chroma) / wall,
    bridgeCores: (cpuAfter.bridges - cpuBefore.bridges) / wall,
  };
}

/** The sum of the `events` counts of every project record, read through `bridge`. */
async function countedEvents(bridge: SpawnedBridge): Promise<number> {
  const response = await fetch(
    `${bridge.url}/query?collection=agent_state&scope=project&limit=1000`,
    { headers: { authorization: `Bearer ${bridge.apiKey}` } },
  );
  const page = await response.json() as { results: AgentState[] };
  return page.results.reduce((sum, state) => sum + state.counts.events, 0);
}

async function storedEvents(bridge: SpawnedBridge): Promise<number> {
  const response = await fetch(`${bridge.url}/health`);
  const health = await response.json() as { counts: { events: number } };
  return health.counts.events;
}

async function main(): Promise<void> {
  const seconds = option("seconds", 30);
  const results = new Map<number, Figures[]>();
  for (const count of [1, 2]) {
    await using fleet = await startFleet({ bridges: count });
    const figures: Figures[] = [];
    for (const load of LOADS) {
      figures.push(
        await runPhase(fleet.bridges, { load, seconds, chromaPid: fleet.chroma.server.pid }),
      );
      // Settled between loads, so the next one does not pay for this one's flushes.
      await fleet.settled({ timeoutMs: 120_000 });
    }
    const [stored, counted] = await Promise.all([
      storedEvents(fleet.bridges[0]!),
      countedEvents(fleet.bridges.at(-1)!),
    ]);
    log(
      `${count} bridge${
        count > 1 ? "s" : ""
      }: ${stored} events stored, agent_state counts ${counted}` +
        (stored === counted ? " (each once)" : " (MISMATCH)"),
    );
    results.set(count, figures);
  }
  log(`\nscale-out, ${seconds} s per phase, one Chroma (embedded server), this machine:`);
  log(
    "load                         bridges  events/s  ack p50 ms  ack p99 ms  vs 1 bridge" +
      "  Chroma cores  bridge cores",
  );
  LOADS.forEach((load, i) => {
    const one = results.get(1)![i]!;
    for (const count of [1, 2]) {
      const f = results.get(count)![i]!;
      log(
        `${load.name.padEnd(29)}${String(count).padStart(7)}  ${
          f.eventsPerSecond.toFixed(0).padStart(8)
        }  ${f.p50.toFixed(0).padStart(10)}  ${f.p99.toFixed(0).padStart(10)}  ${
          (f.eventsPerSecond / one.eventsPerSecond).toFixed(2).padStart(10)
        }x  ${f.chromaCores.toFixed(2).padStart(12)}  ${f.bridgeCores.toFixed(2).padStart(12)}`,
      );
    }
  });
}

if (import.meta.main) {
  await main();
}
