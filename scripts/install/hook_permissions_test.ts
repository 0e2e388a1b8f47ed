import assert from "node:assert/strict";
import { HOOK_EVENTS } from "../../shared/hook_events.ts";
import {
  CLAUDE_CODE_EVENTS,
  HOOK_SCRIPTS,
  hookCommand,
  hookPermissionFlags,
  snakeCase,
} from "./hook_permissions.ts";

const HOOKS = new URL("../../hooks/", import.meta.url).pathname;

/** The `deno run ...` line of a script's module doc, as words, shell quotes removed. */
async function documentedCommand(file: string): Promise<string[]> {
  const text = await Deno.readTextFile(`${HOOKS}${file}`);
  const line = text.split("\n").find((l) => l.trimStart().startsWith("*     deno run "));
  assert.ok(line, `hooks/${file} documents no "deno run" line`);
  return line.replace(/^\s*\*\s+/, "").split(/\s+/).map((word) => word.replace(/^'(.*)'$/, "$1"));
}

Deno.test("each entry script's module doc carries exactly its flags", async () => {
  for (const script of HOOK_SCRIPTS) {
    const documented = await documentedCommand(script.file);
    const expected = hookCommand(script.file, { hooksDir: "hooks" });
    assert.deepEqual(documented.slice(0, expected.length), expected, script.file);
  }
});

Deno.test("hookPermissionFlags() scopes reads to the log dir except for artifacts", () => {
  const values = { logDir: "/var/log/zo", denoPath: "/usr/bin/deno" };
  assert.deepEqual(hookPermissionFlags("stop.ts", values), [
    "--allow-env=ZO_*,CLAUDE_RUN_ID,CLAUDE_PROJECT_DIR,HOME",
    "--allow-sys=hostname,uid",
    "--allow-read=/var/log/zo",
    "--allow-write=/var/log/zo",
    "--allow-run=/usr/bin/deno",
  ]);
  assert.ok(hookPermissionFlags("artifact_produced.ts", values).includes("--allow-read"));
  assert.throws(() => hookPermissionFlags("relay.ts"), TypeError);
});

Deno.test("HOOK_SCRIPTS has one script per Claude Code event, snake_case", () => {
  // The Agent SDK's HOOK_EVENTS of Claude Code 2.1.328.
  assert.equal(CLAUDE_CODE_EVENTS.length, 35);
  for (const event of CLAUDE_CODE_EVENTS) {
    assert.ok(Object.hasOwn(HOOK_EVENTS, event), event);
    assert.ok(HOOK_SCRIPTS.some((s) => s.event === event && s.file === `${snakeCase(event)}.ts`));
  }
  assert.equal(snakeCase("PostToolUseFailure"), "post_tool_use_failure");
  assert.equal(new Set(HOOK_SCRIPTS.map((s) => s.file)).size, HOOK_SCRIPTS.length);
});
