/**
 * Which Claude Code the hooks are installed for: bootstrap runs `claude --version` (the `claude`
 * on PATH) and wires the events the Agent SDK lists but Claude Code 2.1.328 rejects in settings
 * (`PENDING_EVENTS` of `hooks_block.ts`: Interrupt, PreSkillShellCommand) only for a Claude Code
 * newer than that. A newer one that still rejects them costs one warning in its settings (the CLI
 * ignores the two entries); an older one, or none found, leaves them out.
 *
 * @module
 */

/** The newest Claude Code known to reject `PENDING_EVENTS` in settings (seen with 2.1.328). */
export const NEWEST_REJECTING_PENDING = "2.1.328";

/** What `claude --version` said: `2.1.328 (Claude Code)` gives `2.1.328`. */
export function parseClaudeVersion(output: string): string | undefined {
  const match = /^\s*(\d+\.\d+\.\d+)\b.*Claude Code/m.exec(output);
  return match?.[1];
}

/** Compares two `x.y.z` versions: negative, 0 or positive, as `a` is older, the same or newer. */
export function compareVersions(a: string, b: string): number {
  const [pa, pb] = [a, b].map((v) => v.split(".").map(Number));
  for (let i = 0; i < 3; i++) {
    const diff = (pa![i] ?? 0) - (pb![i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** True when the block may wire `PENDING_EVENTS` for Claude Code `version`. */
export function acceptsPendingEvents(version: string | undefined): boolean {
  return version !== undefined && compareVersions(version, NEWEST_REJECTING_PENDING) > 0;
}

/**
 * Runs `<command> --version` (default the `claude` on PATH; bootstrap's `--allow-run` names it)
 * and returns the version it reports; undefined when there is none, it fails, or says no version.
 */
export async function installedClaudeVersion(command = "claude"): Promise<string | undefined> {
  try {
    const output = await new Deno.Command(command, {
      args: ["--version"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(15_000),
    }).output();
    if (!output.success) return undefined;
    return parseClaudeVersion(new TextDecoder().decode(output.stdout));
  } catch {
    // Not installed, not on PATH, or not allowed to run: no version.
    return undefined;
  }
}
