/**
 * The original system's `artifact` event: files were produced. Hashes (SHA-256) and sizes each
 * file given as an argument into `artifact_refs` (`path`, `type`, `hash`, `size_bytes`; paths
 * redacted like everything else); a file that cannot be read is listed in
 * `data.artifact_problems`. `--type=<kind>` sets the refs' type (default "file"). Optional JSON
 * on stdin (`session_id`, `task_id`, `description`, ...) is kept in `data`.
 *
 * Run with exactly these flags (it reads the files it hashes, so `--allow-read` is unscoped; `<log-dir>`: `$ZO_LOG_DIR`, absolute; `<deno>`: the resolved
 * deno binary, `Deno.execPath()`; the list lives in `scripts/install/hook_permissions.ts`):
 *
 *     deno run --no-config --no-npm --no-remote '--allow-env=ZO_*,CLAUDE_RUN_ID,CLAUDE_PROJECT_DIR,HOME' --allow-sys=hostname,uid --allow-read --allow-write=<log-dir> --allow-run=<deno> hooks/artifact_produced.ts [--type=<kind>] <file>... < /dev/null
 *
 * Exits 0 and prints nothing on stdout, whatever happens; a failure is one line on stderr.
 *
 * @module
 */
import { runHook } from "./pipeline/hook_runner.ts";

/** Splits `--type=<kind>` from the file arguments. */
export function parseArtifactArgs(args: readonly string[]): { files: string[]; type?: string } {
  const files: string[] = [];
  let type: string | undefined;
  for (const arg of args) {
    if (arg.startsWith("--type=")) type = arg.slice("--type=".length) || undefined;
    else files.push(arg);
  }
  return { files, type };
}

/** Records one `artifact` event for the files in `args`. */
export function main(args: readonly string[] = Deno.args): Promise<never> {
  const { files, type } = parseArtifactArgs(args);
  return runHook({ script: "artifact_produced.ts", kind: "artifact", files, artifactType: type });
}

if (import.meta.main) {
  await main();
}
