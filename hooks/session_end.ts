/**
 * Claude Code `SessionEnd` hook: reads the event's JSON on stdin and appends its envelope to the
 * spool under `$ZO_LOG_DIR` (the relay, if `ZO_EVENT_ENDPOINT` is set, ships it).
 *
 * Run with exactly these flags (`<log-dir>`: `$ZO_LOG_DIR`, absolute; `<deno>`: the resolved
 * deno binary, `Deno.execPath()`; the list lives in `scripts/install/hook_permissions.ts`):
 *
 *     deno run --no-config --no-npm --no-remote '--allow-env=ZO_*,CLAUDE_RUN_ID,CLAUDE_PROJECT_DIR,HOME' --allow-sys=hostname,uid --allow-read=<log-dir> --allow-write=<log-dir> --allow-run=<deno> hooks/session_end.ts
 *
 * Exits 0 and prints nothing on stdout, whatever happens; a failure is one line on stderr.
 *
 * @module
 */
import { runHook } from "./pipeline/hook_runner.ts";

/** Records one `SessionEnd` payload from stdin. */
export function main(): Promise<never> {
  return runHook({ script: "session_end.ts", event: "SessionEnd" });
}

if (import.meta.main) {
  await main();
}
