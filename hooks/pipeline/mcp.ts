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

/**
 * The MCP server and tool of a tool call: the server from the payload's `mcp_server.name` when
 * Claude Code sends it (a server name may hold `__`, which the tool name cannot tell apart),
 * else from `mcp__<server>__<tool>`.
 */
export function mcpToolOf(payload: Record<string, unknown>): McpTool | undefined {
  const named = payload.mcp_server as { name?: unknown } | undefined;
  const server = typeof named === "object" && named !== null && typeof named.name === "string"
    ? named.name
    : undefined;
  if (server !== undefined && typeof payload.tool_name === "string") {
    const prefix = `mcp__${server}__`;
    if (payload.tool_name.startsWith(prefix)) {
      return { server, tool: payload.tool_name.slice(prefix.length) };
    }
  }
  return parseMcpToolName(payload.tool_name);
}
