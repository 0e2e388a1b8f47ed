/**
 * Generic Claude Code hook for any event, by the payload's `hook_event_name` (events without a
 * script of their own, e.g. newer ones): reads the JSON on stdin and appends its envelope to the
 * spool under `$ZO_LOG_DIR`.
 *
 * Run with exactly these flags (`<log-dir>`: `$ZO_LOG_DIR`, absolute; `<deno>`: the resolved
 * deno binary, `Deno.execPath()`; the list lives in `scripts/install/hook_permissions.ts`):
 *
 *     deno run --no-config --no-npm --no-remote '--allow-env=ZO_*,CLAUDE_RUN_ID,CLAUDE_PROJECT_DIR,HOME' --allow-sys=hostname,uid --allow-read=<log-dir> --allow-write=<log-dir> --allow-run=<deno> hooks/report_event.ts
 *
 * Exits 0 and prints nothing on stdout, whatever happens; a failure is one line on stderr.
 *
 * @module
 */
import { runHook } from "./pipeline/hook_runner.ts";

/** Records one hook payload from stdin, whatever its event. */
export function main(): Promise<never> {
  return runHook({ script: "report_event.ts" });
}

if (import.meta.main) {
  await main();
}
