import assert from "node:assert/strict";
import { startTestBridge } from "../bridge/testing/bridge.ts";
import { LAUNCH_MARKER } from "./pipeline/relay_launcher.ts";
import { LAYOUT } from "./pipeline/spool.ts";
import { runHookScript } from "./testing/run_hook.ts";

const PAYLOADS = new URL("../testdata/claude-code/payloads/", import.meta.url).pathname;

/** Pids of the relays running for `logDir`, from `ps`. */
async function relayPids(logDir: string): Promise<number[]> {
  const output = await new Deno.Command("ps", { args: ["-eo", "pid=,args="], stdout: "piped" })
    .output();
  return new TextDecoder().decode(output.stdout).split("\n")
    .filter((line) => line.includes("hooks/relay.ts") && line.includes(`--allow-write=${logDir} `))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** A loopback port nothing listens on right now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("hooks with an endpoint start exactly one relay, which ships their events", async () => {
  await using bridge = await startTestBridge();
  const dir = await Deno.makeTempDir();
  const logDir = `${dir}/log`;
  const pidsSeen = new Set<number>();
  try {
    const base = JSON.parse(await Deno.readTextFile(`${PAYLOADS}pre_tool_use.json`));
    const sessionId = crypto.randomUUID();
    const env = {
      ZO_EVENT_ENDPOINT: bridge.ingestUrl,
      ZO_INGEST_KEY: bridge.ingestKey,
      ZO_RELAY_PORT: String(freePort()),
      ZO_RELAY_IDLE_SECONDS: "3",
    };
    const runs = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        runHookScript("pre_tool_use.ts", {
          logDir,
          env,
          stdin: JSON.stringify({ ...base, session_id: sessionId, tool_use_id: `toolu_${i}` }),
        })),
    );
    for (const run of runs) {
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, "");
    }
    // A launch happened: its marker, until the relay holds its lock and removes it; then the
    // relay's heartbeat.
    const launched = async (path: string) => (await Deno.stat(path).catch(() => undefined))?.isFile;
    assert.ok(
      await launched(`${logDir}/${LAUNCH_MARKER}`) ||
        await launched(`${logDir}/${LAYOUT.heartbeatFile}`),
      "no launch marker and no heartbeat",
    );

    const shipped = await until(async () => {
      const pids = await relayPids(logDir);
      pids.forEach((pid) => pidsSeen.add(pid));
      assert.ok(pids.length <= 1, "two relays at once");
      const stored = await bridge.store.counts();
      return stored.events >= 20;
    }, 30_000);
    assert.ok(shipped, "the relay did not ship the 20 events");
    assert.equal(pidsSeen.size, 1, `relays seen: ${[...pidsSeen].join(", ")}`);
    assert.ok((await Deno.stat(`${logDir}/${LAYOUT.heartbeatFile}`)).isFile);

    // More hooks while it runs start no other relay.
    const more = await runHookScript("pre_tool_use.ts", {
      logDir,
      env,
      stdin: JSON.stringify({ ...base, session_id: sessionId, tool_use_id: "toolu_more" }),
    });
    assert.equal(more.code, 0);
    (await relayPids(logDir)).forEach((pid) => pidsSeen.add(pid));
    assert.equal(pidsSeen.size, 1);
    const heartbeat = await Deno.readTextFile(`${logDir}/${LAYOUT.heartbeatFile}`);
    assert.equal(Number(heartbeat.trim()), [...pidsSeen][0]);

    // On demand, it leaves once idle.
    assert.ok(
      await until(async () => (await relayPids(logDir)).length === 0, 20_000),
      "the relay stayed",
    );
  } finally {
    for (const pid of await relayPids(logDir)) {
      if (pidsSeen.has(pid)) Deno.kill(pid, "SIGTERM");
    }
    await Deno.remove(dir, { recursive: true });
  }
});
