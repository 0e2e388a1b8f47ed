/**
 * `GET /usage` over 30,000 usage records, from the usage index against the old scan of Chroma,
 * in one run on one embedded Chroma server: two real bridges share it, one with the index
 * (the default), one scanning on every request (`ZO_USAGE_INDEX_RECORDS=0`). Each is asked by a
 * key bound to one project of ten (the whole fleet too, for the index): the cold first request
 * (the index loads every record then), then warm requests one at a time, then 8 at once. Prints
 * p50 and p95 of each and the scan's p50 over the index's.
 *
 * ```sh
 * deno task bench:usage
 * deno run --v8-flags=--expose-gc --allow-run=deno --allow-net=127.0.0.1 --allow-read --allow-write bench/usage_bench.ts [--records=30000] [--requests=40] [--scan-requests=5]
 * ```
 *
 * @module
 */
import { startTestChroma } from "../bridge/testing/chroma.ts";
import { startTestBridge, type TestBridge, testKey } from "../bridge/testing/bridge.ts";
import { storeUsageRecords, syntheticUsageRecords } from "../bridge/testing/usage_records.ts";
import { log, median, option } from "./_stats.ts";

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function timedUsage(bridge: TestBridge, path: string, key: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${bridge.url}${path}`, {
    headers: { authorization: `Bearer ${key}` },
  });
  const body = await response.json();
  if (response.status !== 200) {
    throw new Error(`Cannot time /usage: ${response.status} ${JSON.stringify(body)}`);
  }
  return performance.now() - started;
}

async function sequential(bridge: TestBridge, path: string, key: string, n: number) {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) ms.push(await timedUsage(bridge, path, key));
  return ms;
}

async function concurrent(bridge: TestBridge, path: string, key: string, rounds: number) {
  const ms: number[] = [];
  for (let r = 0; r < rounds; r++) {
    ms.push(...await Promise.all(Array.from({ length: 8 }, () => timedUsage(bridge, path, key))));
  }
  return ms;
}

/** Live heap after a full collection (the task exposes `gc`), else as it stands. */
function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Deno.memoryUsage().heapUsed;
}

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
const line = (label: string, ms: readonly number[]) =>
  log(
    `  ${label.padEnd(36)} p50 ${fmt(median(ms)).padStart(10)}  p95 ${
      fmt(percentile(ms, 0.95)).padStart(10)
    }  (${ms.length} requests)`,
  );

async function main(): Promise<void> {
  const count = option("records", 30_000);
  const requests = option("requests", 40);
  const scanRequests = option("scan-requests", 5);
  await using chroma = await startTestChroma();
  const readP0 = testKey("read");
  const keys = `read@p0:${readP0}`;
  await using indexed = await startTestBridge({ chroma, keys });
  await using scanning = await startTestBridge({
    chroma,
    keys,
    store: { usageIndexRecords: 0 },
  });
  const loadStart = performance.now();
  await storeUsageRecords(chroma.client, await syntheticUsageRecords({ count }));
  log(
    `${count} usage records (10 projects) stored in ${
      ((performance.now() - loadStart) / 1000).toFixed(1)
    } s\n`,
  );
  const project = "/usage?group_by=day";
  const fleet = "/usage?group_by=project,model";

  log("usage index (default):");
  const heapBefore = heapUsed();
  line("cold first request, project key", [await timedUsage(indexed, project, readP0)]);
  const heapMb = (heapUsed() - heapBefore) / 1e6;
  const warm = await sequential(indexed, project, readP0, requests);
  line("warm, one at a time, project key", warm);
  const warmConcurrent = await concurrent(indexed, project, readP0, Math.ceil(requests / 8));
  line("warm, 8 at once, project key", warmConcurrent);
  line(
    "warm, one at a time, whole fleet",
    await sequential(indexed, fleet, indexed.adminKey, requests),
  );
  log(
    `  records held: ${indexed.store.usageIndexSize}; heap grew ${
      heapMb.toFixed(0)
    } MB with the load`,
  );

  log("\nscan (ZO_USAGE_INDEX_RECORDS=0, the old path):");
  line("first request, project key", [await timedUsage(scanning, project, readP0)]);
  const scan = await sequential(scanning, project, readP0, scanRequests);
  line("one at a time, project key", scan);
  const scanConcurrent = await concurrent(scanning, project, readP0, 1);
  line("8 at once, project key", scanConcurrent);

  log(
    `\nscan p50 / index p50: one at a time ${(median(scan) / median(warm)).toFixed(0)}x, ` +
      `8 at once ${(median(scanConcurrent) / median(warmConcurrent)).toFixed(0)}x`,
  );
}

if (import.meta.main) {
  await main();
}
