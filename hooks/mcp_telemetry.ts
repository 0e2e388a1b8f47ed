/**
 * Claude Code hook for MCP tool calls (`mcp__<server>__<tool>`; register it with the matcher
 * `mcp__.*` on PreToolUse/PostToolUse/PostToolUseFailure): the envelope carries `mcp_server` and
 * `mcp_tool`, top-level and in `data`. Any hook event records the same way.
 *
 * Run with exactly these flags (`<log-dir>`: `$ZO_LOG_DIR`, absolute; `<deno>`: the resolved
 * deno binary, `Deno.execPath()`; the list lives in `scripts/install/hook_permissions.ts`):
 *
 *     deno run --no-config --no-npm --no-remote '--allow-env=ZO_*,CLAUDE_RUN_ID,CLAUDE_PROJECT_DIR,HOME' --allow-sys=hostname,uid --allow-read=<log-dir> --allow-write=<log-dir> --allow-run=<deno> hooks/mcp_telemetry.ts
 *
 * Exits 0 and prints nothing on stdout, whatever happens; a failure is one line on stderr.
 *
 * @module
 */
import { runHook } from "./pipeline/hook_runner.ts";

/** Records one MCP tool-call payload from stdin. */
export function main(): Promise<never> {
  return runHook({ script: "mcp_telemetry.ts" });
}

if (import.meta.main) {
  await main();
}
