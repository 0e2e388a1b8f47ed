/**
 * Several bridges on one Chroma, for tests and benchmarks: one Chroma server
 * (`testing/chroma.ts`) and N `bridge/main.ts` subprocesses (`testing/bridge.ts`) on loopback,
 * each with its own `ZO_BRIDGE_ID`, as `docs/DEPLOYMENT.md` scales out. A bridge can be killed
 * (SIGKILL, a crash) and started again under the same id.
 *
 * Needs `--allow-run=deno --allow-net=127.0.0.1 --allow-read --allow-write` (as `testing/bridge.ts`).
 *
 * ```ts
 * await using fleet = await startFleet({ bridges: 2 });
 * await post(fleet.bridges[0]!, events);
 * await fleet.settled();
 * ```
 *
 * @module
 */
import { spawnBridge, type SpawnedBridge } from "./bridge.ts";
import { startTestChroma, type TestChroma } from "./chroma.ts";

/** Options of {@linkcode startFleet}. */
export interface FleetOptions {
  /** How many bridges; default 2. */
  bridges?: number;
  /** More environment for every bridge (e.g. group commit tuning). */
  env?: Record<string, string>;
}

/** One Chroma and the bridges on it. */
export interface Fleet {
  readonly chroma: TestChroma;
  /** The bridges, by index; {@linkcode Fleet.restart} replaces one. */
  readonly bridges: SpawnedBridge[];
  /** The `ZO_BRIDGE_ID` of each bridge, by index. */
  readonly ids: readonly string[];
  /** Kills bridge `index` (SIGKILL) and waits for its exit. */
  kill(index: number): Promise<void>;
  /** Starts bridge `index` again under the same `ZO_BRIDGE_ID` (after {@linkcode Fleet.kill}). */
  restart(index: number): Promise<SpawnedBridge>;
  /**
   * Resolves once every running bridge has nothing queued for writing and nothing pending for
   * agent_state (its recovery included), as its `/metrics` say; rejects after `timeoutMs`
   * (default 60 s).
   */
  settled(options?: { timeoutMs?: number }): Promise<void>;
  /** Stops the bridges, then Chroma. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The value of a gauge without labels in a Prometheus text page; NaN when absent. */
export function gauge(metrics: string, name: string): number {
  const line = metrics.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.slice(name.length + 1));
}

/** Starts one Chroma and `bridges` bridges on it, each with its own id. */
export async function startFleet(options: FleetOptions = {}): Promise<Fleet> {
  const count = options.bridges ?? 2;
  const chroma = await startTestChroma();
  // Unique per fleet: ids must differ between bridges sharing a Chroma, and this one is fresh.
  const ids = Array.from({ length: count }, (_, i) => `fleet-${i}`);
  const start = (index: number) =>
    spawnBridge({
      chromaUrl: chroma.url,
      env: { ...options.env, ZO_BRIDGE_ID: ids[index]! },
      startTimeoutMs: 120_000,
    });
  const bridges: SpawnedBridge[] = [];
  try {
    // One at a time: each start type-checks and loads the bridge, heavy on a loaded machine.
    for (let i = 0; i < count; i++) bridges.push(await start(i));
  } catch (error) {
    await Promise.all(bridges.map((b) => b.stop()));
    await chroma.stop();
    throw error;
  }

  async function isSettled(bridge: SpawnedBridge): Promise<boolean> {
    try {
      const response = await fetch(`${bridge.url}/metrics`, {
        headers: { authorization: `Bearer ${bridge.apiKey}` },
      });
      const text = await response.text();
      return response.ok && gauge(text, "zo_agent_state_pending_records") === 0 &&
        gauge(text, "zo_ingest_queue_events") === 0;
    } catch {
      return false;
    }
  }

  /** Bridges killed and not started again: settled() does not wait for them. */
  const down = new Set<number>();
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      await Promise.all(bridges.map((b) => b.stop()));
      await chroma.stop();
    })();
  return {
    chroma,
    bridges,
    ids,
    async kill(index) {
      const bridge = bridges[index]!;
      down.add(index);
      bridge.kill("SIGKILL");
      await bridge.status;
      await bridge.stop();
    },
    async restart(index) {
      bridges[index] = await start(index);
      down.delete(index);
      return bridges[index];
    },
    async settled({ timeoutMs = 60_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      while (true) {
        const running = bridges.filter((_, i) => !down.has(i));
        const states = await Promise.all(running.map(isSettled));
        if (states.every(Boolean)) return;
        if (Date.now() > deadline) {
          throw new Error(`Cannot settle the fleet: still pending after ${timeoutMs} ms`);
        }
        // Polling a gauge: nothing to await across processes. A flush is about a second.
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
