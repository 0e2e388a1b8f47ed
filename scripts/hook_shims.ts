/**
 * The entry shims `hooks/<event>.ts`, one per Claude Code event of `CLAUDE_CODE_EVENTS`:
 * generated here from the event table (with each one's exact `deno run` flags in its `@module`
 * doc), written by `deno task schema:gen` and checked by `deno task schema:check`.
 *
 * @module
 */
import { CLAUDE_CODE_EVENTS, hookCommand, snakeCase } from "./install/hook_permissions.ts";
import { shellWord } from "./permissions_doc.ts";

/** The source of the shim for one Claude Code event, as `hooks/<file>` holds it. */
export function hookShim(event: string): string {
  const file = `${snakeCase(event)}.ts`;
  const command = hookCommand(file, { hooksDir: "hooks" }).map(shellWord).join(" ");
  return `/**
 * Claude Code \`${event}\` hook: reads the event's JSON on stdin and appends its envelope to the
 * spool under \`$ZO_LOG_DIR\` (the relay, if \`ZO_EVENT_ENDPOINT\` is set, ships it).
 *
 * Run with exactly these flags (\`<log-dir>\`: \`$ZO_LOG_DIR\`, absolute; \`<deno>\`: the resolved
 * deno binary, \`Deno.execPath()\`; the list lives in \`scripts/install/hook_permissions.ts\`):
 *
 *     ${command}
 *
 * Exits 0 and prints nothing on stdout, whatever happens; a failure is one line on stderr.
 *
 * @module
 */
import { runHook } from "./pipeline/hook_runner.ts";

/** Records one \`${event}\` payload from stdin. */
export function main(): Promise<never> {
  return runHook({ script: "${file}", event: "${event}" });
}

if (import.meta.main) {
  await main();
}
`;
}

/** Every generated shim: its path from the repository root, and its source. */
export function hookShims(): Map<string, string> {
  const shims = new Map<string, string>();
  for (const event of CLAUDE_CODE_EVENTS) {
    shims.set(`hooks/${snakeCase(event)}.ts`, hookShim(event));
  }
  return shims;
}
