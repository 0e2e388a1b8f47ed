/**
 * The relay as a VM runs it (its exact flags from `relay_launcher.ts`, `--cached-only`, reading
 * only the log dir and the protobuf module) with Claude Code's export as protobuf: decoded when
 * the install's Deno cache holds the decoder (`bootstrap --otlp-protobuf` fills it with the real
 * `cacheOtlpProtobuf()`), a 415 with the advice to use JSON when it does not, and nothing fetched.
 *
 * @module
 */
import assert from "node:assert/strict";
import { loadVmConfig } from "../vm_config.ts";
import { RELAY_RUN_FLAGS, relayPermissionFlags, relayScriptPath } from "../relay_launcher.ts";
import { listSegments, segmentPath } from "../spool.ts";
import { readJsonl } from "../../testing/relay.ts";
import { cacheOtlpProtobuf } from "../../../scripts/install/deno_cache.ts";
import { encodeExportRequest } from "./otlp_protobuf.ts";

const OTEL = new URL("../../../testdata/claude-code/otel-2.1.328/", import.meta.url);
const body = JSON.parse(await Deno.readTextFile(new URL("logs.json", OTEL)))[0];

/** The package.json files under `dir` (an npm cache), if any. */
function packagesIn(dir: string): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(path)];
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.isDirectory) walk(`${path}/${entry.name}`);
      else if (entry.name === "package.json") found.push(`${path}/${entry.name}`);
    }
  };
  walk(dir);
  return found;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Runs the relay service over a fresh log dir with `denoDir`; posts one protobuf body. */
async function postToRelay(
  denoDir: string,
): Promise<{ status: number; text: string; spooled: number }> {
  const logDir = await Deno.makeTempDir({ prefix: "zo-otlp-pb-" });
  const port = freePort();
  const env = { ZO_LOG_DIR: logDir, ZO_RELAY_PORT: String(port), HOME: logDir };
  const config = loadVmConfig((name) => env[name as keyof typeof env]);
  const relay = new Deno.Command("deno", {
    args: [
      "run",
      ...RELAY_RUN_FLAGS,
      ...relayPermissionFlags(config),
      relayScriptPath(),
      "--service",
    ],
    env: { ...env, DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    while (true) {
      const up = await fetch(`${url}/health`).then((r) => r.text().then(() => r.ok), () => false);
      if (up) break;
      if (Date.now() > deadline) throw new Error("Cannot reach the relay within 60 s");
      await new Promise((r) => setTimeout(r, 100));
    }
    const response = await fetch(`${url}/v1/logs`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf" },
      body: encodeExportRequest("logs", body) as BodyInit,
    });
    const text = await response.text();
    let spooled = 0;
    for (const name of await listSegments(logDir)) {
      spooled += (await readJsonl(segmentPath(logDir, name))).length;
    }
    return { status: response.status, text, spooled };
  } finally {
    relay.kill("SIGTERM");
    const stderr = new TextDecoder().decode((await relay.output()).stderr);
    assert.doesNotMatch(stderr, /peer dependency/, "the decoder loads without a warning");
    await Deno.remove(logDir, { recursive: true });
  }
}

Deno.test("the relay as installed decodes protobuf once --otlp-protobuf cached its decoder, else says to use JSON", async () => {
  const empty = await Deno.makeTempDir({ prefix: "zo-deno-dir-" });
  const filled = await Deno.makeTempDir({ prefix: "zo-deno-dir-" });
  try {
    const without = await postToRelay(empty);
    assert.equal(without.status, 415);
    assert.match(
      without.text,
      /Cannot decode protobuf in this install .*OTEL_EXPORTER_OTLP_PROTOCOL=http\/json/,
    );
    assert.equal(without.spooled, 0);
    assert.deepEqual(packagesIn(`${empty}/npm`), [], "a relay fetches no npm package");

    await cacheOtlpProtobuf({
      denoDir: filled,
      module: new URL("./otlp_protobuf.ts", import.meta.url).pathname,
    });
    const withDecoder = await postToRelay(filled);
    assert.equal(withDecoder.status, 200, withDecoder.text);
    assert.equal(withDecoder.text, "", "an empty protobuf success");
    let records = 0;
    for (const rl of body.resourceLogs) {
      for (const sl of rl.scopeLogs) records += sl.logRecords.length;
    }
    assert.equal(withDecoder.spooled, records);
  } finally {
    await Deno.remove(empty, { recursive: true });
    await Deno.remove(filled, { recursive: true });
  }
});
