import assert from "node:assert/strict";
import { createHookPipeline } from "./hook_pipeline.ts";
import { loadHookConfig } from "./hook_runner.ts";
import { parseEvent } from "../../shared/schema.ts";
import { appendToSpool, listSegments, segmentName, segmentPath } from "./spool.ts";
import { readDroppedTotals } from "./spool_bound.ts";
import { loadVmConfig, type VmConfig } from "./vm_config.ts";
import { withLogDir as withTempLogDir } from "../testing/log_dir.ts";

const PAYLOADS = new URL("../../testdata/claude-code/payloads/", import.meta.url).pathname;

function configFor(logDir: string, vars: Record<string, string> = {}): VmConfig {
  return loadVmConfig((name) => ({ ZO_LOG_DIR: logDir, ZO_REDACTION_SALT: "s", ...vars })[name]);
}

async function lines(logDir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await listSegments(logDir)) {
    out.push(...(await Deno.readTextFile(segmentPath(logDir, name))).split("\n").filter(Boolean));
  }
  return out;
}

const withLogDir = (fn: (logDir: string) => Promise<void>) => withTempLogDir(fn, { create: false });

Deno.test("createHookPipeline() record() spools the envelope it returns", async () => {
  await withLogDir(async (logDir) => {
    const pipeline = await createHookPipeline(configFor(logDir, { ZO_PROJECT_ID: "p1" }), {
      host: "build-vm-3",
      projectDir: "/home/dev/app",
    });
    const input = await Deno.readFile(`${PAYLOADS}post_tool_use.json`);
    const event = await pipeline.record(input, {
      script: "post_tool_use.ts",
      event: "PostToolUse",
    });
    assert.ok(event);
    assert.ok(parseEvent(event).ok);
    assert.deepEqual(await lines(logDir), [JSON.stringify(event)]);
    assert.equal(event.project_id, "p1");
    assert.match(String(event.worker_id), /^host-[0-9a-f]{12}$/);
    assert.deepEqual(event.source, { host: event.worker_id, project_dir: "~/app", cwd: "~/app" });
    const again = await pipeline.record(new TextDecoder().decode(input), { script: "x.ts" });
    assert.equal(again?.run_id, event.run_id);
    assert.notEqual(again?.event_id, event.event_id);
  });
});

Deno.test("record() fills a missing hook_event_name from the script's event", async () => {
  await withLogDir(async (logDir) => {
    const pipeline = await createHookPipeline(configFor(logDir), { host: "h" });
    const event = await pipeline.record('{"session_id":"s"}', { script: "stop.ts", event: "Stop" });
    assert.equal(event?.hook_event_name, "Stop");
    assert.equal(event?.event_type, "done");
  });
});

Deno.test("record() keeps garbage as a redacted, truncated error event", async () => {
  await withLogDir(async (logDir) => {
    const pipeline = await createHookPipeline(configFor(logDir), { host: "h" });
    const secret = "ghp_" + "a1B2c3D4e5".repeat(4).slice(0, 36);
    const event = await pipeline.record(`{"broken": "${secret}", ` + "x".repeat(20_000), {
      script: "stop.ts",
      event: "Stop",
    });
    assert.ok(event && parseEvent(event).ok);
    assert.equal(event.event_type, "error");
    const data = event.data as Record<string, unknown>;
    assert.equal(data.reason, "not JSON");
    assert.ok(String(data.raw_input).length <= 8_192);
    assert.ok(!JSON.stringify(event).includes(secret));
    assert.ok(event.redaction?.rules.includes("github_pat"), event.redaction?.rules.join());
  });
});

Deno.test("record() with bad settings keeps the input as an error event", async () => {
  await withLogDir(async (logDir) => {
    const pipeline = await createHookPipeline(configFor(logDir), {
      host: "h",
      configError: 'Cannot use ZO_AGENT_ROLE="boss"',
    });
    const event = await pipeline.record('{"session_id":"s"}', { script: "stop.ts" });
    assert.equal(event?.event_type, "error");
    assert.match(String((event?.data as Record<string, unknown>).reason), /^bad settings: /);
  });
});

Deno.test("record() redacts the reason of an unusable-settings error event", async () => {
  await withLogDir(async (logDir) => {
    const password = "pw" + crypto.randomUUID().slice(0, 12);
    const pipeline = await createHookPipeline(configFor(logDir), {
      host: "h",
      configError: `Cannot use ZO_ENDPOINT="https://relay:${password}@bridge.example/x": bad port`,
    });
    const event = await pipeline.record('{"session_id":"s"}', { script: "stop.ts" });
    assert.equal(event?.event_type, "error");
    const reason = String((event?.data as Record<string, unknown>).reason);
    assert.match(reason, /^bad settings: .*\[REDACTED:url_credentials\]/);
    assert.ok(!JSON.stringify(event).includes(password), JSON.stringify(event));
  });
});

Deno.test("record() resolves undefined and reports when the spool cannot be written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/file`, "");
    const errors: string[] = [];
    const pipeline = await createHookPipeline(configFor(`${dir}/file/log`), {
      host: "h",
      onError: (message) => errors.push(message),
    });
    assert.equal(await pipeline.record('{"session_id":"s"}', { script: "stop.ts" }), undefined);
    assert.ok(errors.some((e) => e.startsWith("Cannot append to the spool")), errors.join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("record() enforces the spool bound when it opens a new segment", async () => {
  await withLogDir(async (logDir) => {
    const old = Date.UTC(2026, 0, 1);
    for (let i = 0; i < 30; i++) appendToSpool(logDir, `{"n":${i}}`, { nowMs: old });
    const config = { ...configFor(logDir), spoolMaxBytes: 100 };
    const now = old + 10 * 60_000;
    const pipeline = await createHookPipeline(config, { host: "h", now: () => now });
    await pipeline.record('{"session_id":"s","hook_event_name":"Stop"}', { script: "stop.ts" });
    assert.deepEqual(await listSegments(logDir), [segmentName(now)]);
    const events = (await lines(logDir)).map((line) => JSON.parse(line));
    assert.equal(events.length, 2);
    assert.equal(events[1].msg, "spool full: 30 events dropped");
    assert.ok(parseEvent(events[1]).ok);
    assert.equal((await readDroppedTotals(logDir)).dropped_events_total, 30);
  });
});

Deno.test("loadHookConfig() falls back to defaults, keeping a valid log dir", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const good = loadHookConfig(env({ ZO_LOG_DIR: "/var/zo", HOME: "/h" }));
  assert.equal(good.error, undefined);
  const bad = loadHookConfig(env({ ZO_LOG_DIR: "/var/zo", ZO_REDACTION_MODE: "x", HOME: "/h" }));
  assert.equal(bad.config.logDir, "/var/zo");
  assert.equal(bad.config.shared.redaction.mode, "strict");
  assert.match(bad.error!, /ZO_REDACTION_MODE/);
  const worse = loadHookConfig(env({ ZO_LOG_DIR: "relative", HOME: "/h" }));
  assert.equal(worse.config.logDir, "/h/.local/state/zo-telemetry");
});
