/**
 * The original system's `worker_spawn` event: a conductor started a worker. Reads a JSON object
 * on stdin, e.g. `{"session_id", "spawned_worker_id", "task_id", "description"}` (all
 * optional, every field kept in `data`).
 *
 * Run with exactly these flags (`<log-dir>`: `$ZO_LOG_DIR`, absolute; `<deno>`: the resolved
 * deno binary, `Deno.execPath()`; the list lives in `scripts/install/hook_permissions.ts`):
 *
 *     deno run --no-config --no-npm --no-remote '--allow-env=ZO_*,CLAUDE_RUN_ID,CLAUDE_PROJECT_DIR,HOME' --allow-sys=hostname,uid --allow-read=<log-dir> --allow-write=<log-dir> --allow-run=<deno> hooks/worker_spawn.ts < spawn.json
 *
 * Exits 0 and prints nothing on stdout, whatever happens; a failure is one line on stderr.
 *
 * @module
 */
import { runHook } from "./pipeline/hook_runner.ts";

/** Records one `worker_spawn` event from stdin. */
export function main(): Promise<never> {
  return runHook({ script: "worker_spawn.ts", kind: "worker_spawn" });
}

if (import.meta.main) {
  await main();
}
