/**
 * The dashboard's two speed targets, measured in one run on one embedded Chroma server:
 *
 * 1. First render of the fleet overview with 100,000 stored events (200 sessions, 20 runs, 10
 *    workers, one project): headless Chromium opens `/dashboard/#/fleet` with a read key in a
 *    fresh profile each time (nothing cached), and the time from navigation start to the
 *    overview showing the fleet's records (`performance.mark("zo:fleet-rendered")`) is taken.
 *    Target: at most 1 s (median).
 * 2. Ingest with 50 live dashboards connected against none: 50 `GET /live` streams following
 *    the whole fleet as the fleet overview does (`fields=summary`; `--live-query=` follows whole
 *    envelopes instead), read to the end by a process of their own (`_live_readers.ts`, at nice
 *    19: stand-ins for browsers on other machines); `bridge/main.ts` as a subprocess fed by 64 clients
 *    posting one event each, and by 4 clients posting 200-event batches, the two conditions
 *    interleaved over several rounds. Target: the median with 50 dashboards at least 0.9 of the
 *    median without.
 *
 * ```sh
 * deno task bench:dashboard
 * deno run --allow-read=.,/tmp,/usr/bin/chromium --allow-write=/tmp --allow-net=127.0.0.1 --allow-run=deno,/usr/bin/chromium --allow-env --allow-sys=homedir,uid bench/dashboard_bench.ts [--events=100000] [--renders=7] [--ingest-events=3000] [--rounds=3] [--dashboards=50] [--live-query=fields=summary]
 * ```
 *
 * @module
 */
import { ChromaStore } from "../bridge/chroma_store.ts";
import { TestStore } from "../bridge/testing/store.ts";
import { fixtureSession } from "../bridge/testing/dashboard_session.ts";
import { startEmbeddedChroma } from "../bridge/embedded_chroma.ts";
import { spawnBridge } from "../bridge/testing/bridge.ts";
import { runLoad } from "../bridge/testing/load.ts";
import { eventHash, uuidV7 } from "../shared/ids.ts";
import type { Event } from "../shared/schema.ts";
import { launchChromium } from "../e2e/browser.ts";
import { log, median, option } from "./_stats.ts";

const SESSION_EVENTS = 500;

/**
 * `count` events shaped like the fixture session's, 500 per session, sessions interleaved in
 * time and ending just now (so the overview shows them as recent).
 */
async function fleetEvents(count: number, template: Event[]): Promise<Event[]> {
  const sessions = Math.ceil(count / SESSION_EVENTS);
  const step = 20;
  const start = Date.now() - count * step;
  const events: Event[] = [];
  for (let i = 0; i < count; i++) {
    const session = i % sessions;
    const base = template[Math.floor(i / sessions) % template.length]!;
    const tsMs = start + i * step;
    const event: Event = {
      ...base,
      event_id: uuidV7(tsMs),
      ts: new Date(tsMs).toISOString(),
      session_id: `bench-session-${session}`,
      run_id: `bench-run-${session % 20}`,
      worker_id: `bench-vm-${session % 10}`,
      project_id: "bench",
    };
    delete event.parent_event_id;
    event.hash = await eventHash(event);
    events.push(event);
  }
  return events;
}

/** The view that has rendered its data, as the page marks it. */
const READY = `document.getElementById("view")?.dataset.ready ?? ""`;

/** Part 1: navigation start to the fleet overview on screen, in a fresh profile each time. */
async function firstRender(
  bridge: { url: string; apiKey: string },
  options: { renders: number; expectedSessions: number },
): Promise<number[]> {
  const { renders, expectedSessions } = options;
  const browser = await launchChromium();
  const times: number[] = [];
  try {
    for (let i = 0; i < renders; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await context.addInitScript(
        `sessionStorage.setItem("zo-dashboard:key", ${JSON.stringify(bridge.apiKey)});`,
      );
      const page = await context.newPage();
      await page.goto(`${bridge.url}/dashboard/#/fleet`);
      // Polled with a bare expression: playwright's selector engine would be compiled into the
      // page first (some 50 ms of its main thread, counted against the dashboard otherwise).
      const deadline = Date.now() + 30_000;
      while ((await page.evaluate<string>(READY)) !== "fleet") {
        if (Date.now() > deadline) throw new Error("Cannot bench: the overview never rendered");
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const ms = await page.evaluate<number>(
        `performance.getEntriesByName("zo:fleet-rendered")[0].startTime`,
      );
      const sessions = await page.evaluate<string>(
        `[...document.querySelectorAll("caption")].map((c) => c.textContent).join(", ")`,
      );
      if (!sessions.includes(`Sessions (${expectedSessions})`)) {
        throw new Error(`Cannot bench: the overview shows ${sessions || "nothing"}`);
      }
      times.push(ms);
      log(`  render ${i + 1}: ${ms.toFixed(0)} ms (${sessions})`);
      await context.close();
    }
  } finally {
    await browser.close();
  }
  return times;
}

/**
 * `count` live dashboards in a process of their own (`_live_readers.ts`), so that reading the
 * streams never delays the load generator's event loop; resolves once every stream is open.
 */
async function dashboards(url: string, key: string, count: number, query: string) {
  const child = new Deno.Command("deno", {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-env=ZO_API_KEY",
      "--allow-sys=setPriority",
      new URL("./_live_readers.ts", import.meta.url).pathname,
      url,
      String(count),
      query,
    ],
    env: { ZO_API_KEY: key },
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const nextLine = async () => {
    while (!buffer.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error("Cannot bench: the dashboards process ended");
      buffer += value;
    }
    const at = buffer.indexOf("\n");
    const line = buffer.slice(0, at);
    buffer = buffer.slice(at + 1);
    return line;
  };
  const first = await nextLine();
  if (first !== "ready") throw new Error(`Cannot bench: the dashboards said ${first}`);
  return {
    /** Events each dashboard has received so far. */
    async counts(): Promise<number[]> {
      await writer.write(new TextEncoder().encode("count\n"));
      return JSON.parse(await nextLine());
    },
    async close(): Promise<void> {
      await writer.close();
      await lines.cancel();
      await child.status;
    },
  };
}

async function main(): Promise<void> {
  const total = option("events", 100_000);
  const renders = option("renders", 7);
  const perPhase = option("ingest-events", 3_000);
  const rounds = option("rounds", 3);
  const dashboardCount = option("dashboards", 50);
  // What a dashboard on the fleet overview follows; --live-query= (empty) for whole envelopes.
  const dashboardQuery =
    Deno.args.find((a) => a.startsWith("--live-query="))?.slice("--live-query=".length) ??
      "fields=summary";
  const path = await Deno.makeTempDir({ prefix: "zo-dashboard-bench-" });
  const chroma = await startEmbeddedChroma({ path });
  try {
    const template = await fixtureSession({ run_id: "bench", project_id: "bench" });
    log(`Storing ${total} events (${Math.ceil(total / SESSION_EVENTS)} sessions)...`);
    const store = new TestStore({ url: chroma.url });
    await store.init();
    const events = await fleetEvents(total, template);
    const t0 = performance.now();
    for (let i = 0; i < events.length; i += 1_000) {
      await store.write(events.slice(i, i + 1_000));
      if ((i / 1_000) % 20 === 19) log(`  ${i + 1_000} stored`);
    }
    await store.flushAgentState();
    await store[Symbol.asyncDispose]();
    log(
      `  stored in ${((performance.now() - t0) / 1000).toFixed(1)} s; counts ${
        JSON.stringify(await new ChromaStore({ url: chroma.url }).counts())
      }`,
    );

    // The bridge as deployed: bridge/main.ts in its own process, on the same Chroma.
    const bridge = await spawnBridge({ chromaUrl: chroma.url });
    let times: number[];
    try {
      log(`\nFirst render of the fleet overview, ${renders} times, each in a fresh profile:`);
      times = await firstRender(bridge, {
        renders,
        expectedSessions: Math.ceil(total / SESSION_EVENTS),
      });
    } catch (error) {
      await bridge.stop();
      throw error;
    }

    log(
      `\nIngest with ${dashboardCount} live dashboards (/live?${dashboardQuery}) against none (${rounds} rounds, ${perPhase} events a phase):`,
    );
    const rates: Record<string, { none: number[]; live: number[] }> = {
      "64 clients x 1 event": { none: [], live: [] },
      "4 clients x 200 events": { none: [], live: [] },
    };
    let missed = 0;
    try {
      const feed = (clients: number, eventsPerRequest: number) =>
        runLoad({
          url: bridge.ingestUrl,
          key: bridge.apiKey,
          clients,
          eventsPerRequest,
          totalEvents: perPhase,
        });
      await feed(8, 50); // warm-up
      for (let round = 1; round <= rounds; round++) {
        for (
          const [shape, clients, size] of [["64 clients x 1 event", 64, 1], [
            "4 clients x 200 events",
            4,
            200,
          ]] as const
        ) {
          // Alternate which condition goes first, so neither always meets a warmer server.
          const order = round % 2 ? ["none", "live"] as const : ["live", "none"] as const;
          for (const condition of order) {
            const live = condition === "live"
              ? await dashboards(bridge.url, bridge.apiKey, dashboardCount, dashboardQuery)
              : undefined;
            let report;
            try {
              report = await feed(clients, size);
              if (live) {
                // Every dashboard must see every event: they really were following.
                const deadline = Date.now() + 15_000;
                let counts = await live.counts();
                while (
                  counts.some((n) => n < report!.acknowledged.length) && Date.now() < deadline
                ) {
                  await new Promise((r) => setTimeout(r, 50));
                  counts = await live.counts();
                }
                missed += counts.filter((n) => n < report!.acknowledged.length).length;
              }
            } finally {
              await live?.close();
            }
            const other = Object.entries(report.statuses).filter(([code]) => code !== "200");
            if (other.length > 0) {
              throw new Error(`Bridge answered ${JSON.stringify(report.statuses)}`);
            }
            const rate = report.acknowledged.length / report.seconds;
            rates[shape]![condition].push(rate);
            log(
              `  round ${round}, ${shape}, ${
                condition === "live" ? `${dashboardCount} dashboards` : "no dashboard"
              }: ${rate.toFixed(0)} events/s`,
            );
          }
        }
      }
    } finally {
      await bridge.stop();
    }

    log("\nResults (medians):");
    log(
      `  first render with ${total} events: ${median(times).toFixed(0)} ms (min ${
        Math.min(...times).toFixed(0)
      }, max ${Math.max(...times).toFixed(0)}); target <= 1000 ms`,
    );
    for (const [shape, { none, live }] of Object.entries(rates)) {
      log(
        `  ingest ${shape}: ${median(none).toFixed(0)} events/s without, ${
          median(live).toFixed(0)
        } with ${dashboardCount} dashboards: ratio ${
          (median(live) / median(none)).toFixed(2)
        } (target >= 0.90)`,
      );
    }
    log(`  dashboards that missed events: ${missed}`);
  } finally {
    await chroma.stop();
    await Deno.remove(path, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  await main();
}
