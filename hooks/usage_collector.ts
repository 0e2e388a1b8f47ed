/**
 * The usage collector of one transcript directory: reads the transcripts that Stop,
 * SubagentStop, SessionEnd and PreCompact hooks queued (`$ZO_LOG_DIR/usage/<dir-key>/jobs/`) from
 * their saved positions, and appends one `usage` event per API response to the spool (see
 * `hooks/pipeline/usage/collector.ts`). Started, detached, by the relay (or by those hooks when no relay
 * runs) when none runs for the directory; exits once no job came for a while (a second when a
 * relay runs, else `ZO_RELAY_IDLE_SECONDS`). Not registered in Claude Code's settings.
 *
 * Run with exactly these flags (`<log-dir>`: `$ZO_LOG_DIR`, absolute; `<transcript-dir>`: the
 * directory of the session's transcript; the list lives in `hooks/pipeline/usage/collector_flags.ts`,
 * re-exported by `scripts/install/hook_permissions.ts`):
 *
 *     deno run --no-config --no-npm --no-remote '--allow-env=ZO_*,CLAUDE_RUN_ID,HOME' --allow-sys=hostname --allow-read=<log-dir>,<transcript-dir> --allow-write=<log-dir> hooks/usage_collector.ts --dir=<transcript-dir>
 *
 * No network and no subprocess: what it reads can only leave the VM as usage events, through
 * the spool and the relay. Exits 0 (2 on a bad flag, with one line on stderr).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { relayAlive } from "./pipeline/relay_launcher.ts";
import { DEFAULT_LINGER_MS, runCollector } from "./pipeline/usage/collector.ts";
import { loadVmConfig, type VmConfig } from "./pipeline/vm_config.ts";

/**
 * How long the collector waits for more jobs: a second when a relay runs (it starts the next
 * collector cheaply), else as long as an on-demand relay would idle (`ZO_RELAY_IDLE_SECONDS`),
 * since then each hook that finds no collector pays for starting one.
 */
export function lingerOf(config: VmConfig): { lingerMs: number; pollMs: number } {
  if (relayAlive(config.logDir)) return { lingerMs: DEFAULT_LINGER_MS, pollMs: 100 };
  return { lingerMs: Math.max(DEFAULT_LINGER_MS, config.relayIdleSeconds * 1000), pollMs: 500 };
}

/** Usage text of `hooks/usage_collector.ts`. */
export const USAGE = "Usage: hooks/usage_collector.ts --dir=<transcript-dir>";

/**
 * The transcript directory named by `--dir=`, parsed by `node:util`'s `parseArgs` as every CLI's
 * flags are; throws `TypeError` on anything else.
 */
export function parseCollectorFlags(args: readonly string[]): { dir: string } {
  let dir: string | undefined;
  try {
    dir = parseArgs({ args: [...args], options: { dir: { type: "string" } }, strict: true })
      .values.dir;
  } catch (error) {
    const arg = /'([^' ]+)/.exec((error as Error).message)?.[1] ?? String(error);
    throw new TypeError(`Cannot use flag "${arg}": unknown\n${USAGE}`);
  }
  if (dir === undefined || !dir.startsWith("/")) {
    throw new TypeError(`Cannot collect usage: give --dir=<transcript-dir>, absolute\n${USAGE}`);
  }
  return { dir };
}

/** Serves the directory's jobs, then exits the process. */
export async function main(args: readonly string[] = Deno.args): Promise<never> {
  // A hook started this one, and hooks ignore SIGTERM (their wrapper's `trap '' TERM`), which a
  // child inherits: take SIGTERM back, so `kill <pid>` ends it as it ends any process.
  Deno.addSignalListener("SIGTERM", () => Deno.exit(143));
  let dir: string;
  let config;
  try {
    dir = parseCollectorFlags(args).dir;
    config = loadVmConfig();
  } catch (error) {
    // deno-lint-ignore no-console -- the only way to tell a person the flags are wrong
    console.error(`Cannot start the usage collector: ${(error as Error).message}`);
    Deno.exit(2);
  }
  try {
    await runCollector({ config, dir, ...lingerOf(config) });
  } catch (error) {
    // deno-lint-ignore no-console -- the collector's only channel for its own failures
    console.error(`Cannot collect usage: ${(error as Error).message}`);
  }
  Deno.exit(0);
}

if (import.meta.main) {
  await main();
}
