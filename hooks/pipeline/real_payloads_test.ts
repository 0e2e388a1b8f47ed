/**
 * The payloads the real Claude Code 2.1.328 CLI sent its hooks (testdata/claude-code/real-2.1.328,
 * one per event it fires) through the hook pipeline: each becomes a valid envelope with its
 * event's mapping, and the fields that only the real CLI sends are used.
 */
import assert from "node:assert/strict";
import { HOOK_EVENTS, type KnownHookEventName } from "../../shared/hook_events.ts";
import { parseEvent } from "../../shared/schema.ts";
import { withLogDir } from "../testing/log_dir.ts";
import { createHookPipeline } from "./hook_pipeline.ts";
import { mcpToolOf } from "./mcp.ts";
import { loadVmConfig } from "./vm_config.ts";

const DIR = new URL("../../testdata/claude-code/real-2.1.328/", import.meta.url).pathname;

async function payload(event: string): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(`${DIR}${event}.json`));
}

async function pipelineIn(logDir: string) {
  const config = loadVmConfig((name) => ({ ZO_LOG_DIR: logDir, ZO_REDACTION_SALT: "s" })[name]);
  return await createHookPipeline(config, { host: "vm-1" });
}

Deno.test("record() makes a valid envelope of every real 2.1.328 payload, by its event's mapping", async () => {
  const files = [...Deno.readDirSync(DIR)].map((entry) => entry.name).sort();
  assert.equal(files.length, 30);
  await withLogDir(async (logDir) => {
    const pipeline = await pipelineIn(logDir);
    for (const file of files) {
      const name = file.replace(/\.json$/, "") as KnownHookEventName;
      const input = await payload(name);
      assert.equal(input.hook_event_name, name, file);
      const event = await pipeline.record(JSON.stringify(input), { script: file });
      assert.ok(event, file);
      const parsed = parseEvent(event);
      assert.ok(parsed.ok, `${file}: ${parsed.ok ? "" : parsed.error}`);
      const spec = HOOK_EVENTS[name];
      assert.ok(spec, `${name} has a mapping`);
      assert.equal(event.event_type, spec.type, file);
      assert.equal(event.level, spec.level, file);
      assert.equal(event.session_id, input.session_id, file);
      // prompt_id groups one prompt's events: first-class wherever the CLI sends it.
      assert.equal(event.prompt_id, input.prompt_id, file);
      assert.ok(event.msg && !event.msg.includes("{"), `${file}: ${event.msg}`);
    }
  });
});

Deno.test("record() keeps the real fields: tool batch, message delta, model switch", async () => {
  await withLogDir(async (logDir) => {
    const pipeline = await pipelineIn(logDir);
    const batch = await pipeline.record(JSON.stringify(await payload("PostToolBatch")), {
      script: "post_tool_batch.ts",
    });
    assert.equal(batch!.msg, "Tool batch done: Bash");
    assert.match(batch!.indexable_text!, /command: echo hello > out\.txt/);
    assert.equal((batch!.data!.tool_calls as unknown[]).length, 1);

    const display = await pipeline.record(JSON.stringify(await payload("MessageDisplay")), {
      script: "message_display.ts",
    });
    assert.equal(display!.msg, "Message: I'll create the file first.");
    assert.match(display!.indexable_text!, /I'll create the file first\./);

    const pre = await pipeline.record(JSON.stringify(await payload("PreModelSwitch")), {
      script: "pre_model_switch.ts",
    });
    assert.equal(pre!.msg, "Switching model from claude-opus-5-5 to claude-haiku-5-5");
  });
});

Deno.test("record() links a subagent's tool events to its SubagentStart and keeps agent_type", async () => {
  await withLogDir(async (logDir) => {
    const pipeline = await pipelineIn(logDir);
    const start = await payload("SubagentStart");
    const started = await pipeline.record(JSON.stringify(start), { script: "subagent_start.ts" });
    // The real CLI sends agent_id and agent_type on the tool events of a subagent.
    const tool = {
      ...await payload("PreToolUse"),
      agent_id: start.agent_id,
      agent_type: start.agent_type,
    };
    const event = await pipeline.record(JSON.stringify(tool), { script: "pre_tool_use.ts" });
    assert.equal(event!.agent_id, start.agent_id);
    assert.equal(event!.data!.agent_type, start.agent_type);
    assert.equal(event!.parent_event_id, started!.event_id);
  });
});

Deno.test("record() keeps a SubagentStop whose SubagentStart never fired (after /compact)", async () => {
  await withLogDir(async (logDir) => {
    const pipeline = await pipelineIn(logDir);
    const stop = await payload("SubagentStop");
    const event = await pipeline.record(JSON.stringify(stop), { script: "subagent_stop.ts" });
    assert.ok(event && parseEvent(event).ok);
    assert.equal(event.agent_id, stop.agent_id);
    assert.equal(event.parent_event_id, undefined);
  });
});

Deno.test("mcpToolOf() takes the server from mcp_server.name, as the real CLI sends it", () => {
  assert.deepEqual(
    mcpToolOf({
      tool_name: "mcp__my__srv__search",
      mcp_server: { name: "my__srv", source: "project" },
    }),
    { server: "my__srv", tool: "search" },
  );
  // Without it, the name is split at the first "__" after the prefix.
  assert.deepEqual(mcpToolOf({ tool_name: "mcp__github__create_pr" }), {
    server: "github",
    tool: "create_pr",
  });
  assert.equal(mcpToolOf({ tool_name: "Bash" }), undefined);
});

Deno.test("record() keeps the real mcp_server object and files the call under its name", async () => {
  await withLogDir(async (logDir) => {
    const pipeline = await pipelineIn(logDir);
    const input = {
      ...await payload("PostToolUse"),
      tool_name: "mcp__fs_tools__read_note",
      tool_input: { name: "a" },
      mcp_server: { name: "fs_tools", source: "project" },
    };
    const event = await pipeline.record(JSON.stringify(input), { script: "post_tool_use.ts" });
    const record = event as unknown as Record<string, unknown>;
    assert.equal(record.mcp_server, "fs_tools");
    assert.equal(record.mcp_tool, "read_note");
    assert.deepEqual(event!.data!.mcp_server, { name: "fs_tools", source: "project" });
  });
});
