/**
 * The usage collector's command line (`hooks/usage_collector.ts`): the one place its flags are
 * written. `scripts/install/hook_permissions.ts` re-exports it for wrappers, docs and tests; the launcher
 * imports it from here so a hook does not load the hook list.
 *
 * Placeholders as in `hook_permissions.ts`: `<log-dir>` is `$ZO_LOG_DIR`, `<transcript-dir>` the
 * directory of the session's transcript (Claude Code's `projects/<slug>/`), `<deno>` the deno
 * binary.
 *
 * @module
 */

/** Environment variables the collector reads: its settings, the run id, `HOME`. */
export const COLLECTOR_ENV_NAMES = ["ZO_*", "CLAUDE_RUN_ID", "HOME"] as const;

/** The collector's entry script, in `hooks/`. */
export const COLLECTOR_SCRIPT = "usage_collector.ts";

/** Where the collector's flags are filled in; default placeholders as the docs write them. */
export interface CollectorFlagValues {
  logDir?: string;
  transcriptDir?: string;
}

/**
 * The collector's permission flags: its settings, the host name (worker id), reads of the log
 * dir and of ONE transcript directory, writes to the log dir only. No network, no subprocess.
 */
export function collectorPermissionFlags(values: CollectorFlagValues = {}): string[] {
  const logDir = values.logDir ?? "<log-dir>";
  return [
    `--allow-env=${COLLECTOR_ENV_NAMES.join(",")}`,
    "--allow-sys=hostname",
    `--allow-read=${logDir},${values.transcriptDir ?? "<transcript-dir>"}`,
    `--allow-write=${logDir}`,
  ];
}

/** The collector's whole command line, program first. */
export function collectorCommand(
  values: CollectorFlagValues & { denoPath?: string; hooksDir: string },
): string[] {
  return [
    values.denoPath ?? "deno",
    "run",
    "--no-config",
    "--no-npm",
    "--no-remote",
    ...collectorPermissionFlags(values),
    `${values.hooksDir}/${COLLECTOR_SCRIPT}`,
    `--dir=${values.transcriptDir ?? "<transcript-dir>"}`,
  ];
}
