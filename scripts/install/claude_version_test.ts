import assert from "node:assert/strict";
import {
  acceptsPendingEvents,
  compareVersions,
  installedClaudeVersion,
  NEWEST_REJECTING_PENDING,
  parseClaudeVersion,
} from "./claude_version.ts";
import { hooksBlock, PENDING_EVENTS, UNWIRED_EVENTS, WIRED_EVENTS } from "./hooks_block.ts";

Deno.test("parseClaudeVersion() reads what claude --version prints, and nothing else", () => {
  assert.equal(parseClaudeVersion("2.1.328 (Claude Code)\n"), "2.1.328");
  assert.equal(parseClaudeVersion("10.0.1 (Claude Code)"), "10.0.1");
  assert.equal(parseClaudeVersion("env (GNU coreutils) 9.1"), undefined);
  assert.equal(parseClaudeVersion(""), undefined);
});

Deno.test("acceptsPendingEvents() holds only for versions newer than the newest rejecting one", () => {
  assert.equal(NEWEST_REJECTING_PENDING, "2.1.328");
  assert.ok(compareVersions("2.1.329", "2.1.328") > 0);
  assert.ok(compareVersions("2.10.0", "2.9.99") > 0, "numeric, not lexical");
  assert.equal(compareVersions("2.1.328", "2.1.328"), 0);
  assert.equal(acceptsPendingEvents("2.1.328"), false);
  assert.equal(acceptsPendingEvents("2.0.99"), false);
  assert.equal(acceptsPendingEvents(undefined), false);
  assert.equal(acceptsPendingEvents("2.1.329"), true);
  assert.equal(acceptsPendingEvents("3.0.0"), true);
});

Deno.test("installedClaudeVersion() is undefined for a program that is not Claude Code or is missing", async () => {
  assert.equal(await installedClaudeVersion("env"), undefined);
  assert.equal(await installedClaudeVersion("/nonexistent/claude"), undefined);
});

Deno.test("hooksBlock() wires the pending events only with wirePending", () => {
  const options = { installDir: "/opt/h", hookType: "command" as const, relayPort: 20000 };
  assert.deepEqual(Object.keys(hooksBlock(options)), [...WIRED_EVENTS]);
  const all = Object.keys(hooksBlock({ ...options, wirePending: true }));
  for (const event of PENDING_EVENTS) assert.ok(all.includes(event), event);
  for (const event of UNWIRED_EVENTS) assert.ok(!all.includes(event), event);
  assert.equal(all.length, WIRED_EVENTS.length + PENDING_EVENTS.length);
});
