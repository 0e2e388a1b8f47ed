/**
 * Test helpers: run an entry script of `hooks/` as Claude Code would, with exactly its documented
 * flags (`scripts/install/hook_permissions.ts`) plus `--no-prompt`, and read back what it spooled.
 *
 * @module
 */
import { hookCommand } from "../../scripts/install/hook_permissions.ts";
import { listSegments, segmentPath } from "../pipeline/spool.ts";

/** The `hooks/` directory. */
export const HOOKS_DIR = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** What one hook run did. */
export interface HookRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Options of {@linkcode runHookScript}. */
export interface RunOptions {
  logDir: string;
  stdin?: string | Uint8Array;
  /** Extra environment; the run starts from an empty one (PATH aside) plus `ZO_LOG_DIR`. */
  env?: Record<string, string>;
  args?: string[];
}

/** Runs `hooks/<file>` with exactly its flags; the command is `deno` from PATH. */
export async function runHookScript(file: string, options: RunOptions): Promise<HookRun> {
  const [, run, ...rest] = hookCommand(file, {
    logDir: options.logDir,
    denoPath: Deno.execPath(),
    hooksDir: HOOKS_DIR,
  });
  const started = performance.now();
  const child = new Deno.Command("deno", {
    args: [run!, "--no-prompt", ...rest, ...(options.args ?? [])],
    clearEnv: true,
    env: { ZO_LOG_DIR: options.logDir, ZO_REDACTION_SALT: "test-salt", ...options.env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const input = options.stdin ?? "";
  try {
    await writer.write(typeof input === "string" ? new TextEncoder().encode(input) : input);
    await writer.close();
  } catch {
    // The hook may stop reading early (a cut input); what it did is checked by the caller.
  }
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
    ms: performance.now() - started,
  };
}

/** Every line of every segment of a spool, parsed, oldest first. */
export async function spooledEvents(logDir: string): Promise<Record<string, unknown>[]> {
  const events: Record<string, unknown>[] = [];
  for (const name of await listSegments(logDir)) {
    const text = await Deno.readTextFile(segmentPath(logDir, name));
    for (const line of text.split("\n")) if (line !== "") events.push(JSON.parse(line));
  }
  return events;
}
