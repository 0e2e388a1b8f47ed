/**
 * The original system's `error` event: something failed. Reads on stdin a JSON object like
 * `{"error_type", "message", "stack_trace", "session_id"}` (or `{"error": {...}}`), or plain
 * text as the message.
 *
 * Run with exactly these flags (`<log-dir>`: `$ZO_LOG_DIR`, absolute; `<deno>`: the resolved
 * deno binary, `Deno.execPath()`; the list lives in `scripts/install/hook_permissions.ts`):
 *
 *     deno run --no-config --no-npm --no-remote '--allow-env=ZO_*,CLAUDE_RUN_ID,CLAUDE_PROJECT_DIR,HOME' --allow-sys=hostname,uid --allow-read=<log-dir> --allow-write=<log-dir> --allow-run=<deno> hooks/error_event.ts < error.json
 *
 * Exits 0 and prints nothing on stdout, whatever happens; a failure is one line on stderr.
 *
 * @module
 */
import { runHook } from "./pipeline/hook_runner.ts";

/** Records one error report from stdin. */
export function main(): Promise<never> {
  return runHook({ script: "error_event.ts", kind: "error" });
}

if (import.meta.main) {
  await main();
}
