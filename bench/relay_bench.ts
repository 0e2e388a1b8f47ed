/**
 * The relay's two targets of issue #3, measured in one run:
 *
 * 1. Loopback http hook: a Claude Code `PostToolUse` payload POSTed to the relay's `"type":
 *    "http"` endpoint (spooled and answered), p50 against the 2 ms target, interleaved with the
 *    same request to an empty `Deno.serve` handler (the floor of a loopback round trip).
 * 2. Drain: 50,000 spooled events shipped by `hooks/relay.ts` (a subprocess, as a hook starts
 *    it) into a real bridge (`bridge/main.ts` subprocess, embedded Chroma), against what the
 *    bridge ingests from its own load generator (`bridge/testing/load.ts`: 4 clients posting
 *    200-event batches) in the same run, rounds interleaved (load, relay, relay, load, ...).
 *    Target: relay at least 0.8x the load generator (medians).
 *
 * ```sh
 * deno run --allow-read --allow-write --allow-net=127.0.0.1 --allow-run=deno --allow-env bench/relay_bench.ts [--events=50000] [--rounds=2] [--requests=2000]
 * ```
 *
 * @module
 */
import { spawnBridge } from "../bridge/testing/bridge.ts";
import { makeEvent } from "../bridge/testing/fakes.ts";
import { runLoad } from "../bridge/testing/load.ts";
import { relayCommand } from "../hooks/pipeline/relay_launcher.ts";
import { listSegments, segmentName } from "../hooks/pipeline/spool.ts";
import { loadVmConfig } from "../hooks/pipeline/vm_config.ts";
import type { Event } from "../shared/schema.ts";

// deno-lint-ignore no-console -- a benchmark prints its figures
const print = (line: string) => console.log(line);

function flag(name: string, fallback: number): number {
  const arg = Deno.args.find((a) => a.startsWith(`--${name}=`));
  return arg ? Number(arg.slice(name.length + 3)) : fallback;
}

const EVENTS = flag("events", 50_000);
const ROUNDS = flag("rounds", 2);
const REQUESTS = flag("requests", 2_000);
const LOAD_CLIENTS = 4;
const LOAD_BATCH = 200;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url);
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

/** The relay's command line and environment for `logDir`. */
function relayProcess(logDir: string, env: Record<string, string>, extra: string[]) {
  const all = { ZO_LOG_DIR: logDir, ...env };
  const config = loadVmConfig((name) => all[name as keyof typeof all]);
  const [program, ...args] = relayCommand(config, "deno");
  return new Deno.Command(program!, {
    args: [...args, ...extra],
    env: all,
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  });
}

async function benchHttpHook(): Promise<void> {
  const logDir = await Deno.makeTempDir({ prefix: "zo-relay-bench-" });
  const relayPort = freePort();
  const relay = relayProcess(logDir, { ZO_RELAY_PORT: String(relayPort) }, ["--service"])
    .spawn();
  const floorPort = freePort();
  const floor = new Deno.Command("deno", {
    args: [
      "eval",
      `Deno.serve({ hostname: "127.0.0.1", port: ${floorPort}, onListen() {} }, async (req) => {
        await req.arrayBuffer();
        return new Response(null);
      });`,
    ],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  try {
    const relayUrl = `http://127.0.0.1:${relayPort}/hook`;
    const floorUrl = `http://127.0.0.1:${floorPort}/`;
    await waitUntil(() => answers(`http://127.0.0.1:${relayPort}/health`), 30_000, "the relay");
    await waitUntil(() => answers(floorUrl), 30_000, "the floor server");
    const payload = await Deno.readTextFile(
      new URL("../testdata/claude-code/payloads/post_tool_use.json", import.meta.url),
    );
    const post = async (url: string) => {
      const started = performance.now();
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: payload,
      });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`HTTP ${response.status} from ${url}`);
      return performance.now() - started;
    };
    for (let i = 0; i < 200; i++) await post(i % 2 ? relayUrl : floorUrl); // warm-up
    const relayMs: number[] = [];
    const floorMs: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      relayMs.push(await post(relayUrl));
      floorMs.push(await post(floorUrl));
    }
    const spooled = (await Promise.all(
      (await listSegments(logDir)).map(async (name) =>
        (await Deno.readTextFile(`${logDir}/spool/${name}`)).split("\n").length - 1
      ),
    )).reduce((a, b) => a + b, 0);
    print(`http hook (${REQUESTS} PostToolUse payloads, ${payload.length} bytes, keep-alive):`);
    print(
      `  relay  p50 ${median(relayMs).toFixed(3)} ms  p95 ${
        percentile(relayMs, 0.95).toFixed(3)
      } ms  p99 ${percentile(relayMs, 0.99).toFixed(3)} ms  (target p50 <= 2 ms: ${
        median(relayMs) <= 2 ? "met" : "MISSED"
      })`,
    );
    print(
      `  floor  p50 ${median(floorMs).toFixed(3)} ms  p95 ${
        percentile(floorMs, 0.95).toFixed(3)
      } ms  p99 ${percentile(floorMs, 0.99).toFixed(3)} ms  (empty Deno.serve handler)`,
    );
    print(`  ratio relay/floor at p50: ${(median(relayMs) / median(floorMs)).toFixed(2)}x`);
    print(`  spooled lines: ${spooled} (expected ${REQUESTS + 100})`);
  } finally {
    relay.kill("SIGTERM");
    floor.kill("SIGTERM");
    await relay.status;
    await floor.status;
    await Deno.remove(logDir, { recursive: true });
  }
}

async function makeEvents(count: number, runId: string): Promise<Event[]> {
  const events: Event[] = [];
  for (let i = 0; i < count; i += 1000) {
    events.push(
      ...await Promise.all(
        Array.from(
          { length: Math.min(1000, count - i) },
          (_, j) => makeEvent({ run_id: runId, msg: `step ${i + j}` }),
        ),
      ),
    );
  }
  return events;
}

/** Spools `events` into closed segments of 1,000 (as hooks would have over past minutes). */
async function spool(logDir: string, events: readonly Event[]): Promise<void> {
  await Deno.mkdir(`${logDir}/spool`, { recursive: true, mode: 0o700 });
  const segments = Math.ceil(events.length / 1000);
  for (let s = 0; s < segments; s++) {
    const name = segmentName(Date.now() - (10 + segments - s) * 60_000);
    const text = events.slice(s * 1000, (s + 1) * 1000).map((e) => JSON.stringify(e) + "\n")
      .join("");
    await Deno.writeTextFile(`${logDir}/spool/${name}`, text, { mode: 0o600 });
  }
}

async function eventCount(url: string): Promise<number> {
  const response = await fetch(`${url}/health`);
  return Number((await response.json()).counts.events);
}

async function benchDrain(): Promise<void> {
  const chromaDbPath = await Deno.makeTempDir({ prefix: "zo-relay-bench-chroma-" });
  const bridge = await spawnBridge({ chromaDbPath });
  const loadRates: number[] = [];
  const relayRates: number[] = [];
  try {
    // Warm the bridge and Chroma (collections, first writes) outside the measurements.
    await runLoad({
      url: bridge.ingestUrl,
      key: bridge.apiKey,
      clients: LOAD_CLIENTS,
      eventsPerRequest: LOAD_BATCH,
      totalEvents: 2_000,
    });
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? ["load", "relay"] : ["relay", "load"];
      for (const kind of order) {
        const events = await makeEvents(EVENTS, `bench-${kind}-${round}`);
        const before = await eventCount(bridge.url);
        let seconds: number;
        if (kind === "load") {
          let next = 0;
          const report = await runLoad({
            url: bridge.ingestUrl,
            key: bridge.apiKey,
            clients: LOAD_CLIENTS,
            eventsPerRequest: LOAD_BATCH,
            totalEvents: EVENTS,
            // Pre-made, like the relay's: only sending is timed.
            makeEvents: (n) => Promise.resolve(events.slice(next, next += n)),
          });
          seconds = report.seconds;
          loadRates.push(report.acknowledged.length / seconds);
        } else {
          const logDir = await Deno.makeTempDir({ prefix: "zo-relay-bench-" });
          await spool(logDir, events);
          const started = performance.now();
          const relay = relayProcess(logDir, {
            ZO_EVENT_ENDPOINT: bridge.ingestUrl,
            ZO_API_KEY: bridge.apiKey,
            ZO_RELAY_IDLE_SECONDS: "0",
          }, ["--service", "--no-http"]).spawn();
          // Shipped segments are deleted right after the bridge's 2xx: an empty spool is done.
          await waitUntil(async () => (await listSegments(logDir)).length === 0, 600_000, "drain");
          seconds = (performance.now() - started) / 1000;
          relay.kill("SIGTERM");
          await relay.status;
          relayRates.push(EVENTS / seconds);
          await Deno.remove(logDir, { recursive: true });
        }
        const stored = (await eventCount(bridge.url)) - before;
        print(
          `  round ${round + 1} ${kind.padEnd(5)} ${EVENTS} events in ${seconds.toFixed(2)} s = ${
            Math.round(EVENTS / seconds)
          } events/s (stored ${stored})`,
        );
        if (stored !== EVENTS) throw new Error(`Cannot trust the round: ${stored} stored`);
      }
    }
    const ratio = median(relayRates) / median(loadRates);
    print(
      `drain: relay ${Math.round(median(relayRates))} events/s vs load generator ${
        Math.round(median(loadRates))
      } events/s (${LOAD_CLIENTS} clients x ${LOAD_BATCH}-event batches): ratio ${
        ratio.toFixed(2)
      }x (target >= 0.8x: ${ratio >= 0.8 ? "met" : "MISSED"})`,
    );
  } finally {
    await bridge.stop();
    await Deno.remove(chromaDbPath, { recursive: true }).catch(() => {});
  }
}

async function main(): Promise<void> {
  await benchHttpHook();
  print(`drain of ${EVENTS} spooled events into a real bridge (rounds interleaved):`);
  await benchDrain();
}

if (import.meta.main) {
  await main();
}
