/**
 * `bridge/main.ts` as a real subprocess with the flags of `deno task bridge`: refusals at start,
 * a clean SIGTERM, and a SIGKILL under load that loses nothing acknowledged and leaves no Chroma
 * server behind.
 *
 * @module
 */
import assert from "node:assert/strict";
import { chromaClient } from "./chroma/connection.ts";
import { startEmbeddedChroma } from "./embedded_chroma.ts";
import { chromaAnswers, mainArgs, spawnBridge } from "./testing/bridge.ts";
import { runLoad } from "./testing/load.ts";

/** Runs main.ts to its exit with `env`; for configurations it must refuse. */
async function runMain(
  env: Record<string, string>,
  args: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command("deno", {
    args: [...mainArgs(), ...args],
    env: {
      PORT: "0",
      HOSTNAME: "127.0.0.1",
      CHROMA_URL: "",
      ZO_API_KEY: "",
      ZO_API_KEYS: "",
      ZO_API_KEYS_FILE: "",
      DENO_DEPLOYMENT_ID: "",
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

function portIsFree(url: string): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port: Number(new URL(url).port) }).close();
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`Timed out waiting for: ${what}`);
}

Deno.test("main.ts refuses to listen beyond loopback without an API key", async () => {
  const { code, stderr } = await runMain({ HOSTNAME: "0.0.0.0" });
  assert.equal(code, 1);
  assert.match(stderr, /Cannot listen on HOSTNAME=0\.0\.0\.0 without an API key/);
});

Deno.test("main.ts --help lists its variables and starts nothing; another argument is refused", async () => {
  const help = await runMain({}, ["--help"]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: deno task bridge/);
  assert.match(help.stdout, /ZO_API_KEYS_FILE/);
  assert.equal(help.stderr, "", "nothing started");
  const bad = await runMain({}, ["--port=9"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Cannot start the bridge: it takes no arguments/);
});

Deno.test("main.ts reports a bad HOSTNAME as such, not as a missing key", async () => {
  const { code, stderr } = await runMain({ HOSTNAME: "999.1.1.1" });
  assert.equal(code, 1);
  assert.match(stderr, /Cannot listen on HOSTNAME=999\.1\.1\.1: it is not an IP address/);
  assert.doesNotMatch(stderr, /API key/);
});

Deno.test("main.ts with its port taken says so in one line; its start log counts the keys", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { code, stderr } = await runMain({
    PORT: String(taken.addr.port),
    // A Chroma that is not there: the bridge warns and goes on to listen (no embedded server).
    CHROMA_URL: "http://127.0.0.1:9",
    ZO_API_KEYS:
      "ingest@acme:ingest-key-0123456789,read:read-key-0123456789ab,read:read-key-2-0123456789",
  });
  assert.equal(code, 1);
  const lines = stderr.trim().split("\n").map((line) => JSON.parse(line));
  const keys = lines.find((line) => line.msg === "API keys configured");
  assert.deepEqual(
    { ingest: keys.ingest, read: keys.read, admin: keys.admin, bound: keys.project_bound },
    { ingest: 1, read: 2, admin: 0, bound: 1 },
  );
  const last = lines.at(-1);
  assert.match(
    last.msg,
    new RegExp(`Cannot listen on 127\\.0\\.0\\.1:${taken.addr.port}: the port is in use`),
  );
  assert.doesNotMatch(stderr, /ingest-key-0123456789| {4}at /);
});

Deno.test("main.ts on Deno Deploy needs CHROMA_URL", async () => {
  const { code, stderr } = await runMain({
    DENO_DEPLOYMENT_ID: "test-deployment",
    ZO_API_KEY: "deploy-key-0123456789abcdef",
  });
  assert.equal(code, 1);
  assert.match(stderr, /Cannot run on Deno Deploy without CHROMA_URL/);
  assert.ok(!stderr.includes("deploy-key-0123456789abcdef"));
});

Deno.test("main.ts refuses a bad key without echoing it", async () => {
  const { code, stderr } = await runMain({ ZO_API_KEYS: "ingest:tooshort" });
  assert.equal(code, 1);
  assert.match(stderr, /Cannot use ZO_API_KEYS\[0\]: a key needs at least 16 characters/);
  assert.ok(!stderr.includes("tooshort"));
});

Deno.test("main.ts stops cleanly on SIGTERM and takes its Chroma with it", async () => {
  const bridge = await spawnBridge();
  try {
    const health = await fetch(`${bridge.url}/health`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
    // A live stream open at SIGTERM is told why it ends, through the front door's pipes.
    const live = await fetch(`${bridge.url}/live`, {
      headers: { authorization: `Bearer ${bridge.apiKey}` },
    });
    assert.equal(live.status, 200);
    const reader = live.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("event: ready")) text += (await reader.read()).value ?? "";
    bridge.kill("SIGTERM");
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      text += chunk.value;
    }
    assert.match(text, /event: closing\ndata: \{"reason":"shutdown"\}/);
    const status = await bridge.status;
    assert.equal(status.code, 0);
    assert.equal(await chromaAnswers(bridge.chromaUrl), false);
  } finally {
    await bridge.stop();
  }
});

Deno.test("main.ts warns at start that its embedded Chroma answers anyone on the host, which is so", async () => {
  await using bridge = await spawnBridge();
  const warning = bridge.logTail.map((line) => JSON.parse(line)).find((entry) =>
    entry.level === "warn" && /embedded Chroma answers anyone on this host/.test(entry.msg)
  );
  assert.ok(warning, `no warning in: ${bridge.logTail.join(" | ")}`);
  assert.equal(warning.url, bridge.chromaUrl);
  // What the warning says: a client with no key at all (any local user) reads the store directly.
  const events = await chromaClient({ url: bridge.chromaUrl }).getCollection({ name: "events" });
  assert.equal(typeof (await events.count()), "number");
});

Deno.test("main.ts under idle and slow connections keeps answering, and stops within its bound", async () => {
  const bridge = await spawnBridge({
    env: { ZO_MAX_CONNECTIONS: "20", ZO_HEADER_TIMEOUT_MS: "500" },
  });
  const port = Number(new URL(bridge.url).port);
  const held: Deno.Conn[] = [];
  try {
    // Three times the cap in idle connections, and one trickling its header.
    for (let i = 0; i < 60; i++) held.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    const slow = await Deno.connect({ hostname: "127.0.0.1", port });
    held.push(slow);
    await slow.write(new TextEncoder().encode("GET /health HTTP/1.1\r\nhost: x\r\n"));
    for (let i = 0; i < 5; i++) {
      const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
      const health = await fetch(`${bridge.url}/health`, { client });
      assert.equal(health.status, 200);
      await health.body?.cancel();
      client.close();
    }
    // A stalled upload is in progress when SIGTERM comes: the bridge still stops, cutting it.
    const stalled = await Deno.connect({ hostname: "127.0.0.1", port });
    held.push(stalled);
    await stalled.write(new TextEncoder().encode(
      `POST /ingest HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${bridge.apiKey}\r\n` +
        "content-type: application/x-ndjson\r\ncontent-length: 100000\r\n\r\n{",
    ));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    bridge.kill("SIGTERM");
    const status = await bridge.status;
    const seconds = (Date.now() - started) / 1000;
    assert.equal(status.code, 0);
    // 10 s by design (5 s grace, 1 s for what is cut, 2 s agent_state); loose against CI noise.
    assert.ok(seconds < 20, `stopping took ${seconds} s`);
  } finally {
    for (const conn of held) {
      try {
        conn.close();
      } catch { /* closed by the bridge */ }
    }
    await bridge.stop();
  }
});

Deno.test("main.ts killed with SIGKILL under load: every acknowledged event is stored, no orphan", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "zo-bridge-kill-" });
  try {
    const bridge = await spawnBridge({ chromaDbPath: dataDir });
    const stop = new AbortController();
    const load = runLoad({
      url: bridge.ingestUrl,
      key: bridge.apiKey,
      clients: 16,
      eventsPerRequest: 10,
      signal: stop.signal,
      maxAttempts: 1,
      timeoutMs: 10_000,
    });
    // Killed once 300 events are stored, however loaded the machine (a fixed 1.5 s gave 20
    // under a load average of 28): at most 160 are in flight, so over 100 were acknowledged.
    await waitFor("300 events stored", async () => {
      try {
        const health = await (await fetch(`${bridge.url}/health`)).json();
        return (health.counts?.events ?? 0) >= 300;
      } catch {
        return false;
      }
    }, 120_000);
    bridge.kill("SIGKILL");
    // Stop the clients only once the bridge is dead, so they go on posting past the kill: a
    // fast bridge may have answered every request in flight before this process reads the
    // answers, and the batches posted after it must then fail rather than be acknowledged.
    await bridge.status;
    await new Promise((r) => setTimeout(r, 200));
    stop.abort();
    const report = await load;
    await bridge.stop();
    assert.ok(report.acknowledged.length > 100, `only ${report.acknowledged.length} acknowledged`);
    assert.ok(report.unacknowledged.length > 0, "no request failed after the kill");

    await waitFor(
      "the orphaned Chroma to exit",
      async () => !(await chromaAnswers(bridge.chromaUrl)) && portIsFree(bridge.chromaUrl),
    );

    await using chroma = await startEmbeddedChroma({ path: dataDir, restart: false });
    const client = chromaClient({ url: chroma.url });
    const events = await client.getCollection({ name: "events" });
    const stored = new Set<string>();
    for (let i = 0; i < report.acknowledged.length; i += 1_000) {
      const page = await events.get({ ids: report.acknowledged.slice(i, i + 1_000), include: [] });
      page.ids.forEach((id) => stored.add(id));
    }
    const lost = report.acknowledged.filter((id) => !stored.has(id));
    assert.deepEqual(lost, [], `${lost.length} acknowledged events are lost`);
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
