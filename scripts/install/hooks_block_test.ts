import assert from "node:assert/strict";
import { CLAUDE_CODE_EVENTS, snakeCase } from "./hook_permissions.ts";
import { eventFromPath } from "../../hooks/pipeline/relay/http_hook_server.ts";
import {
  COMMAND_ONLY_EVENTS,
  COMMAND_TIMEOUT_SECONDS,
  hooksBlock,
  isOurHook,
  PENDING_EVENTS,
  TOOL_EVENTS,
  UNWIRED_EVENTS,
  WIRED_EVENTS,
} from "./hooks_block.ts";

const DIR = "/opt/claude-hooks";

Deno.test("hooksBlock() wires every event but the worktree and pending ones to its wrapper, synchronously", () => {
  const block = hooksBlock({ installDir: DIR, hookType: "command", relayPort: 8790 });
  assert.deepEqual(Object.keys(block), WIRED_EVENTS);
  assert.equal(
    WIRED_EVENTS.length,
    CLAUDE_CODE_EVENTS.length - UNWIRED_EVENTS.length - PENDING_EVENTS.length,
  );
  for (const event of [...UNWIRED_EVENTS, ...PENDING_EVENTS]) {
    assert.equal(block[event], undefined, event);
  }
  assert.ok(WIRED_EVENTS.includes("PreModelSwitch") && WIRED_EVENTS.includes("PostModelSwitch"));
  assert.deepEqual(block.PostToolUse, [{
    matcher: "*",
    hooks: [{
      type: "command",
      command: `trap '' TERM; exec ${DIR}/bin/post_tool_use`,
      timeout: COMMAND_TIMEOUT_SECONDS,
    }],
  }]);
  assert.deepEqual(block.UserPromptSubmit, [{
    hooks: [{
      type: "command",
      command: `trap '' TERM; exec ${DIR}/bin/user_prompt_submit`,
      timeout: 10,
    }],
  }]);
  for (const event of WIRED_EVENTS) {
    const group = block[event]![0]!;
    assert.equal(group.matcher !== undefined, TOOL_EVENTS.includes(event), event);
    assert.equal(group.hooks[0]!.command, `trap '' TERM; exec ${DIR}/bin/${snakeCase(event)}`);
    // Async hooks still running at the end of a turn are cancelled: none is async.
    assert.equal(group.hooks[0]!.async, undefined, event);
  }
});

Deno.test("hooksBlock() for http posts each event to the relay, but SessionStart and Setup run commands", () => {
  const block = hooksBlock({ installDir: DIR, hookType: "http", relayPort: 9123 });
  const hook = block.Stop![0]!.hooks[0]!;
  assert.deepEqual(hook, {
    type: "http",
    url: `http://127.0.0.1:9123/hook/Stop?install=${DIR}`,
    timeout: 5,
  });
  for (const event of WIRED_EVENTS) {
    const handler = block[event]![0]!.hooks[0]!;
    assert.equal(handler.async, undefined);
    if (COMMAND_ONLY_EVENTS.includes(event)) {
      // Claude Code never runs http hooks there.
      assert.equal(handler.type, "command", event);
      assert.equal(handler.command, `trap '' TERM; exec ${DIR}/bin/${snakeCase(event)}`);
      continue;
    }
    assert.equal(eventFromPath(new URL(handler.url!).pathname), event);
  }
  assert.deepEqual(COMMAND_ONLY_EVENTS, ["SessionStart", "Setup"]);
});

Deno.test("isOurHook() knows this install's hooks and nothing else", () => {
  assert.equal(isOurHook({ type: "command", command: `${DIR}/bin/stop` }, DIR), true);
  assert.equal(
    isOurHook({ type: "command", command: `trap '' TERM; exec ${DIR}/bin/stop` }, DIR),
    true,
  );
  assert.equal(
    isOurHook({ type: "command", command: `trap '' TERM; exec ${DIR}-old/bin/stop` }, DIR),
    false,
  );
  assert.equal(isOurHook({ type: "command", command: `${DIR}-old/bin/stop` }, DIR), false);
  assert.equal(isOurHook({ type: "command", command: "/usr/bin/my-hook" }, DIR), false);
  assert.equal(
    isOurHook({ type: "http", url: `http://127.0.0.1:8790/hook/Stop?install=${DIR}` }, DIR),
    true,
  );
  assert.equal(isOurHook({ type: "http", url: "http://127.0.0.1:8790/hook/Stop" }, DIR), false);
  assert.equal(isOurHook({ type: "http", url: "not a url" }, DIR), false);
  assert.equal(isOurHook(null, DIR), false);
  assert.equal(isOurHook("x", DIR), false);
});
