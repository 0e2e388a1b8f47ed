import assert from "node:assert/strict";
import { ensureRelay, LAUNCH_MARKER, relayAlive, relayCommand } from "./relay_launcher.ts";
import { HEARTBEAT_STALE_MS, LAYOUT } from "./spool.ts";
import { loadVmConfig, type VmConfig } from "./vm_config.ts";

function configFor(logDir: string, endpoint?: string): VmConfig {
  const vars: Record<string, string> = { ZO_LOG_DIR: logDir };
  if (endpoint) vars.ZO_EVENT_ENDPOINT = endpoint;
  return loadVmConfig((name) => vars[name]);
}

Deno.test("relayCommand() runs hooks/relay.ts with the relay's narrow flags", () => {
  const command = relayCommand(configFor("/var/zo", "https://t.example.com:8443/ingest"), "/d");
  assert.equal(command[0], "/d");
  assert.ok(command.at(-2)!.endsWith("/hooks/relay.ts"));
  assert.equal(command.at(-1), "--on-demand");
  assert.ok(command.includes("--allow-net=t.example.com:8443,127.0.0.1:8790"), command.join(" "));
  assert.ok(command.includes("--allow-write=/var/zo"));
});

Deno.test("relayAlive() trusts only a fresh heartbeat", async () => {
  const logDir = await Deno.makeTempDir();
  try {
    assert.equal(relayAlive(logDir), false);
    await Deno.mkdir(`${logDir}/relay`);
    await Deno.writeTextFile(`${logDir}/${LAYOUT.heartbeatFile}`, "");
    assert.equal(relayAlive(logDir), true);
    assert.equal(relayAlive(logDir, Date.now() + HEARTBEAT_STALE_MS + 1000), false);
  } finally {
    await Deno.remove(logDir, { recursive: true });
  }
});

Deno.test("ensureRelay() launches once for many callers, never without an endpoint", async () => {
  const logDir = await Deno.makeTempDir();
  try {
    // The stand-in relay appends its pid to a file, so each launch is counted.
    const script = `${logDir}/fake_relay.ts`;
    await Deno.writeTextFile(
      script,
      `await Deno.writeTextFile(${JSON.stringify(`${logDir}/launches`)}, "x", { append: true });`,
    );
    const command = ["deno", "run", `--allow-write=${logDir}`, script];
    assert.equal(ensureRelay(configFor(logDir), { command }), false);
    const config = configFor(logDir, "http://127.0.0.1:9/ingest");
    const launched = Array.from({ length: 20 }, () => ensureRelay(config, { command }));
    assert.equal(launched.filter(Boolean).length, 1);
    assert.ok((await Deno.stat(`${logDir}/${LAUNCH_MARKER}`)).isFile);
    // Generous bounded waits: on a loaded machine a stand-in deno takes seconds to start.
    const launches = async (count: number) => {
      for (let i = 0; i < 1_200; i++) {
        const text = await Deno.readTextFile(`${logDir}/launches`).catch(() => "");
        if (text.length >= count) return text;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      return await Deno.readTextFile(`${logDir}/launches`).catch(() => "");
    };
    assert.equal(await launches(1), "x");
    // A stale launch (no heartbeat ever came) is retried.
    assert.equal(ensureRelay(config, { command, nowMs: Date.now() + 60_000 }), true);
    // The second stand-in has written once it is counted: nothing writes into logDir after.
    assert.equal(await launches(2), "xx");
  } finally {
    await Deno.remove(logDir, { recursive: true });
  }
});

Deno.test("OTLP_PROTOBUF_PATH is the protobuf module otlp_body.ts loads", async () => {
  const { OTLP_PROTOBUF_MODULE } = await import("./otel/otlp_body.ts");
  const { OTLP_PROTOBUF_PATH } = await import("./relay_launcher.ts");
  assert.equal(OTLP_PROTOBUF_PATH, OTLP_PROTOBUF_MODULE.pathname);
});
