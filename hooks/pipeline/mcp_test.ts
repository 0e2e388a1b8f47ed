import assert from "node:assert/strict";
import { parseMcpToolName } from "./mcp.ts";

Deno.test("parseMcpToolName() splits server and tool", () => {
  assert.deepEqual(parseMcpToolName("mcp__github__create_pull_request"), {
    server: "github",
    tool: "create_pull_request",
  });
  assert.deepEqual(parseMcpToolName("mcp__my_server__do__it"), {
    server: "my_server",
    tool: "do__it",
  });
});

Deno.test("parseMcpToolName() rejects names that are not MCP tools", () => {
  for (const name of ["Bash", "mcp__github", "mcp____x", "mcp__x__", "", 42, undefined]) {
    assert.equal(parseMcpToolName(name), undefined, String(name));
  }
});
