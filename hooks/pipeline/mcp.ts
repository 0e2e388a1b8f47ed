/**
 * MCP tool names: Claude Code calls an MCP server's tool `mcp__<server>__<tool>`. Server names
 * may hold single underscores; the first `__` after the prefix ends the server name.
 *
 * @module
 */

/** An MCP tool call's server and tool. */
export interface McpTool {
  server: string;
  tool: string;
}

const MCP_TOOL = /^mcp__(.+?)__(.+)$/s;

/** The server and tool of an `mcp__<server>__<tool>` name; undefined for any other name. */
export function parseMcpToolName(name: unknown): McpTool | undefined {
  if (typeof name !== "string") return undefined;
  const match = MCP_TOOL.exec(name);
  return match ? { server: match[1]!, tool: match[2]! } : undefined;
}
