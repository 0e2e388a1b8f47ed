/**
 * The entry scripts in `hooks/` and the exact `deno run` flags each one runs with: the one list
 * that settings files, wrappers, tests, the benchmark and the docs use. Each script's `@module`
 * doc repeats its flags; a test holds them equal. Hooks do not import this module (it is not on
 * their path), so it may grow.
 *
 * Placeholders: `<log-dir>` is `$ZO_LOG_DIR` (absolute), `<deno>` the absolute, resolved path of
 * the deno binary (`Deno.execPath()`, e.g. `$(readlink -f "$(command -v deno)")`):
 * `--allow-run=deno` does not cover it.
 *
 * The usage collector (`hooks/usage_collector.ts`, started by the Stop, SubagentStop, SessionEnd
 * and PreCompact hooks) has flags of its own, re-exported here from
 * `hooks/pipeline/usage/collector_flags.ts`; `<transcript-dir>` is the directory of the session's
 * transcript, the one extra path it may read.
 *
 * @module
 */
import { HOOK_EVENTS } from "../../shared/hook_events.ts";

export {
  COLLECTOR_ENV_NAMES,
  COLLECTOR_SCRIPT,
  collectorCommand,
  type CollectorFlagValues,
  collectorPermissionFlags,
} from "../../hooks/pipeline/usage/collector_flags.ts";
import { HOOK_ENV_NAMES } from "../../hooks/pipeline/relay_launcher.ts";
export { HOOK_ENV_NAMES };

/** Flags every hook runs with besides permissions: no config discovery, no npm, no remote. */
export const HOOK_RUN_FLAGS = ["--no-config", "--no-npm", "--no-remote"] as const;

/** One entry script. */
export interface HookScript {
  /** File name in `hooks/`. */
  file: string;
  /** The Claude Code event it is registered for, if it is one script per event. */
  event?: string;
  /** Reads any file (it hashes the files it is given), not only the log dir. */
  readsAnyFile?: boolean;
}

/** `PostToolUse` -> `post_tool_use`. */
export function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

/**
 * The Claude Code events of the Agent SDK's `HOOK_EVENTS` (2.1.328: 35), each with its own
 * script. An event newer than this list can go to `report_event.ts` until it gets one.
 */
export const CLAUDE_CODE_EVENTS = [
  "SessionStart",
  "Setup",
  "InstructionsLoaded",
  "UserPromptSubmit",
  "UserPromptExpansion",
  "MessageDisplay",
  "PreToolUse",
  "PermissionRequest",
  "PermissionDenied",
  "PostToolUse",
  "PostToolUseFailure",
  "PostToolBatch",
  "Notification",
  "SubagentStart",
  "SubagentStop",
  "TaskCreated",
  "TaskCompleted",
  "Stop",
  "StopFailure",
  "TeammateIdle",
  "ConfigChange",
  "CwdChanged",
  "DirectoryAdded",
  "FileChanged",
  "WorktreeCreate",
  "WorktreeRemove",
  "PreCompact",
  "PostCompact",
  "SessionEnd",
  "Elicitation",
  "ElicitationResult",
  "PreModelSwitch",
  "PostModelSwitch",
  "Interrupt",
  "PreSkillShellCommand",
] as const satisfies readonly (keyof typeof HOOK_EVENTS)[];

/** Every entry script in `hooks/` except the relay. */
export const HOOK_SCRIPTS: readonly HookScript[] = [
  ...CLAUDE_CODE_EVENTS.map((event) => ({ file: `${snakeCase(event)}.ts`, event })),
  { file: "report_event.ts" },
  { file: "mcp_telemetry.ts" },
  { file: "worker_spawn.ts" },
  { file: "error_event.ts" },
  { file: "artifact_produced.ts", readsAnyFile: true },
];

/** Where the flags are filled in; default placeholders as the docs write them. */
export interface FlagValues {
  logDir?: string;
  denoPath?: string;
}

/** The exact permission flags of one entry script (by file name). */
export function hookPermissionFlags(file: string, values: FlagValues = {}): string[] {
  const script = HOOK_SCRIPTS.find((s) => s.file === file);
  if (!script) throw new TypeError(`Cannot give flags of hooks/${file}: no such hook script`);
  const logDir = values.logDir ?? "<log-dir>";
  return [
    `--allow-env=${HOOK_ENV_NAMES.join(",")}`,
    "--allow-sys=hostname,uid",
    script.readsAnyFile ? "--allow-read" : `--allow-read=${logDir}`,
    `--allow-write=${logDir}`,
    `--allow-run=${values.denoPath ?? "<deno>"}`,
  ];
}

/** The whole command line of one entry script: `deno run <flags> <path>`. */
export function hookCommand(
  file: string,
  values: FlagValues & { hooksDir: string },
): string[] {
  return [
    values.denoPath ?? "deno",
    "run",
    ...HOOK_RUN_FLAGS,
    ...hookPermissionFlags(file, values),
    `${values.hooksDir}/${file}`,
  ];
}
