/**
 * The relay against the real bridge and a real Chroma: killed mid-batch, bridge away for a
 * while, corrupt spool lines. Every spooled event_id must end up stored, once.
 */
import assert from "node:assert/strict";
import { spawnBridge, startTestBridge } from "../../../bridge/testing/bridge.ts";
import { makeEvent } from "../../../bridge/testing/fakes.ts";
import { relayCommand } from "../relay_launcher.ts";
import { listSegments } from "../spool.ts";
import { runRelay } from "./relay.ts";
import { readJsonl, segmentAgo, testConfig, writeSegment } from "../../testing/relay.ts";
import { withLogDir as withTempLogDir } from "../../testing/log_dir.ts";

const withLogDir = (fn: (logDir: string) => Promise<void>) =>
  withTempLogDir(fn, { prefix: "zo-relay-it-" });

/**
 * Spools `count` valid envelopes spread over `segments` (default: two closed ones and the open
 * one); returns their ids.
 */
async function spoolEvents(
  logDir: string,
  count: number,
  runId: string,
  segments: readonly string[] = [segmentAgo(20), segmentAgo(10), segmentAgo(0)],
): Promise<string[]> {
  const events = await Promise.all(
    Array.from({ length: count }, (_, i) => makeEvent({ run_id: runId, msg: `step ${i}` })),
  );
  const share = Math.ceil(count / segments.length);
  for (const [i, name] of segments.entries()) {
    await writeSegment(logDir, name, events.slice(i * share, (i + 1) * share), { append: true });
  }
  return events.map((e) => e.event_id);
}

async function healthCounts(url: string): Promise<number> {
  try {
    const response = await fetch(`${url}/health`);
    const body = await response.json();
    return Number(body.counts?.events ?? -1);
  } catch {
    return -1;
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The ids of `ids` that are NOT stored in Chroma's events collection. */
async function missingIds(
  client: {
    getCollection(
      args: { name: string },
    ): Promise<{ get(a: { ids: string[] }): Promise<{ ids: string[] }> }>;
  },
  ids: readonly string[],
): Promise<string[]> {
  const collection = await client.getCollection({ name: "events" });
  const found = new Set<string>();
  for (let i = 0; i < ids.length; i += 1000) {
    for (const id of (await collection.get({ ids: ids.slice(i, i + 1000) })).ids) found.add(id);
  }
  return ids.filter((id) => !found.has(id));
}

Deno.test({
  name: "relay killed with SIGKILL mid-batch loses nothing: a restart ships the rest, each once",
  sanitizeResources: false, // the chromadb client keeps a keep-alive connection to Chroma
  async fn() {
    await using bridge = await startTestBridge();
    await withLogDir(async (logDir) => {
      const segments = [segmentAgo(20), segmentAgo(10), segmentAgo(0)];
      const ids = await spoolEvents(logDir, 4_000, `kill-${crypto.randomUUID()}`, segments);
      const config = testConfig(logDir, new URL(bridge.ingestUrl), { ZO_RELAY_PORT: "9" });
      const [program, ...args] = relayCommand(config, "deno");
      const env = {
        ZO_LOG_DIR: logDir,
        ZO_EVENT_ENDPOINT: bridge.ingestUrl,
        ZO_INGEST_KEY: bridge.ingestKey,
        ZO_RELAY_IDLE_SECONDS: "1",
      };
      const spawn = () =>
        new Deno.Command(program!, {
          args: [...args, "--no-http"],
          env,
          stdout: "null",
          stderr: "piped",
        }).spawn();

      const first = spawn();
      // Kill once the bridge holds part of the spool: batches are in flight then.
      await waitFor("the first events", async () => (await healthCounts(bridge.url)) > 0);
      first.kill("SIGKILL");
      const killed = await first.output();
      assert.equal(killed.signal, "SIGKILL");
      const storedAtKill = await healthCounts(bridge.url);
      assert.ok(storedAtKill < ids.length, `killed mid-way (${storedAtKill} stored)`);

      const second = await spawn().output();
      assert.equal(second.code, 0, new TextDecoder().decode(second.stderr));
      assert.deepEqual(await missingIds(bridge.chroma.client, ids), []);
      assert.equal(await healthCounts(bridge.url), ids.length, "each event stored once");
      // The closed segments were shipped and deleted; the open one stays until it closes.
      assert.deepEqual(await listSegments(logDir), [segments[2]]);
    });
  },
});

Deno.test({
  name: "relay keeps the backlog while the bridge is down and drains it when it is back",
  sanitizeResources: false,
  sanitizeOps: false, // the bridge subprocess's stderr reader outlives a step
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const chromaDbPath = await Deno.makeTempDir({ prefix: "zo-relay-it-chroma-" });
    await withLogDir(async (logDir) => {
      const runId = `down-${crypto.randomUUID()}`;
      const before = await spoolEvents(logDir, 300, runId);
      const endpoint = new URL(`http://127.0.0.1:${port}/ingest`);
      const key = `test-admin-${crypto.randomUUID()}`;
      const bridgeEnv = { PORT: String(port), ZO_API_KEY: key };
      let bridge = await spawnBridge({ chromaDbPath, env: bridgeEnv });
      const config = testConfig(logDir, endpoint, { ZO_INGEST_KEY: key });
      const stop = new AbortController();
      const logged: string[] = [];
      const relay = runRelay({
        config,
        httpPort: null,
        pollMs: 20,
        backoff: { baseMs: 50, capMs: 400 },
        signal: stop.signal,
        log: (line) => logged.push(line),
      });
      try {
        await waitFor("the first backlog", async () => (await healthCounts(bridge.url)) === 300);
        // The bridge goes away; hooks keep spooling.
        bridge.kill("SIGKILL");
        await bridge.status;
        // Only the open segment takes writes now (closed ones never do).
        const during = await spoolEvents(logDir, 900, runId, [segmentAgo(0)]);
        await new Promise((r) => setTimeout(r, 1_500));
        assert.ok(logged.some((l) => /bridge unreachable/.test(l)), logged.join("\n"));
        // Back, on the same port and data.
        bridge = await spawnBridge({ chromaDbPath, env: bridgeEnv });
        await waitFor("the backlog", async () => (await healthCounts(bridge.url)) === 1_200);
        // The relay logs the recovery after the bridge's answer, which may come after the count.
        await waitFor(
          "the relay to log its recovery",
          () => Promise.resolve(logged.some((l) => /^Shipping events again/.test(l))),
        );
        const client = (await import("../../../bridge/chroma/connection.ts")).chromaClient({
          url: bridge.chromaUrl,
        });
        assert.deepEqual(await missingIds(client, [...before, ...during]), []);
      } finally {
        stop.abort();
        await relay;
        await bridge.stop();
      }
    });
    await Deno.remove(chromaDbPath, { recursive: true }).catch(() => {});
  },
});

Deno.test({
  name: "relay quarantines corrupt spool lines, dead-letters invalid events, and ships the rest",
  sanitizeResources: false,
  async fn() {
    await using bridge = await startTestBridge();
    await withLogDir(async (logDir) => {
      const good = await Promise.all(Array.from({ length: 20 }, () => makeEvent()));
      const invalid = { ...good[0]!, event_id: "not-a-uuid", ts: "yesterday" };
      await writeSegment(logDir, segmentAgo(10), [
        ...good.slice(0, 10),
        "{this is not json",
        invalid,
        '"a string"',
        ...good.slice(10),
        '{"torn":',
      ], { newlineAtEnd: false });
      const result = await runRelay({
        config: testConfig(logDir, new URL(bridge.ingestUrl), { ZO_INGEST_KEY: bridge.ingestKey }),
        httpPort: null,
        idleMs: 300,
        pollMs: 20,
      });
      assert.equal(result.totals.shipped, 20);
      assert.deepEqual(await missingIds(bridge.chroma.client, good.map((e) => e.event_id)), []);
      const quarantined = await readJsonl(`${logDir}/relay/quarantine.jsonl`);
      assert.deepEqual(quarantined.map((q) => q.line), [
        "{this is not json",
        '"a string"',
        '{"torn":',
      ]);
      const dead = await readJsonl(`${logDir}/relay/dead_letter.jsonl`);
      assert.equal(dead.length, 1);
      assert.equal((dead[0]!.event as { event_id: string }).event_id, "not-a-uuid");
      assert.ok(String(dead[0]!.reason).length > 0);
      assert.deepEqual(await listSegments(logDir), [], "the closed segment is done and gone");
    });
  },
});
