/**
 * The Claude Code `hooks` settings block that wires events to an install: command hooks running
 * the wrappers in `<install>/bin/`, or `"type": "http"` hooks posting to the relay's loopback
 * endpoint (`http://127.0.0.1:<ZO_RELAY_PORT>/hook/<Event>`, see
 * `hooks/pipeline/relay/http_hook_server.ts`).
 *
 * - Every hook is synchronous (no `"async"`): the wrapper hands the payload to a `deno run` in a
 *   session of its own and exits in a few ms (see `wrappers.ts`), so Claude Code waits that
 *   long, nothing is cancelled at the end of a turn, and the hooks start in the order the events
 *   fire. (Claude Code cancels async hooks still running when a turn ends, and kills hooks still
 *   running ~50-100 ms after `claude -p` exits: a 30-60 ms `deno run` lost end-of-turn events.)
 * - The http block wires SessionStart and Setup as command hooks all the same: Claude Code never
 *   runs http hooks for those two.
 * - `matcher: "*"` on tool events (those that carry `tool_name`); no matcher elsewhere.
 * - `Interrupt` and `PreSkillShellCommand` are not wired yet: they are in the Agent SDK's
 *   `HOOK_EVENTS`, but Claude Code 2.1.328 rejects them in settings with a warning. Their
 *   scripts and mappings exist; wire them once an installed Claude Code accepts them.
 * - `WorktreeCreate` and `WorktreeRemove` are not wired: a hook on them replaces Claude Code's own
 *   git worktree handling (it must print the new worktree's path). Their wrappers exist, to be
 *   called from a worktree hook of your own.
 * - `mcp_telemetry` is not wired either: the per-event hooks already record MCP tool calls with
 *   `mcp_server` and `mcp_tool`, and wiring both would record each call twice.
 *
 * Command hooks run `trap '' TERM; exec <install>/bin/<wrapper>` ({@linkcode COMMAND_PREFIX} says
 * why). Ours are recognised by the install dir: a command running a wrapper under
 * `<install>/bin/`, or a URL whose `install` query parameter names it (the relay refuses a URL
 * naming another install).
 *
 * @module
 */
import { CLAUDE_CODE_EVENTS, snakeCase } from "./hook_permissions.ts";
import type { HookType } from "./layout.ts";
import { wrapperName } from "./wrappers.ts";

/** Events whose payload carries `tool_name`: their hooks take a matcher. */
export const TOOL_EVENTS: readonly string[] = [
  "PreToolUse",
  "PermissionRequest",
  "PermissionDenied",
  "PostToolUse",
  "PostToolUseFailure",
];

/** Events a hook on which changes what Claude Code does: never wired. */
export const UNWIRED_EVENTS: readonly string[] = ["WorktreeCreate", "WorktreeRemove"];

/** Events Claude Code 2.1.328 rejects in settings ("unknown hook event"): not wired yet. */
export const PENDING_EVENTS: readonly string[] = ["Interrupt", "PreSkillShellCommand"];

/** Events Claude Code never runs http hooks for: the http block wires command hooks there. */
export const COMMAND_ONLY_EVENTS: readonly string[] = ["SessionStart", "Setup"];

/** Every event the block wires, in the order of `CLAUDE_CODE_EVENTS`. */
export const WIRED_EVENTS: readonly string[] = CLAUDE_CODE_EVENTS.filter((event) =>
  !UNWIRED_EVENTS.includes(event) && !PENDING_EVENTS.includes(event)
);

/** Seconds Claude Code gives a command hook: its wrapper returns in a few milliseconds. */
export const COMMAND_TIMEOUT_SECONDS = 10;
/** Seconds Claude Code gives an http hook: the relay answers once the line is spooled. */
export const HTTP_TIMEOUT_SECONDS = 5;

/** One hook handler of Claude Code's settings. */
export interface HookHandler {
  type: string;
  command?: string;
  url?: string;
  timeout?: number;
  async?: boolean;
  [key: string]: unknown;
}

/** One matcher group: `{matcher?, hooks: [...]}`. */
export interface MatcherGroup {
  matcher?: string;
  hooks: HookHandler[];
  [key: string]: unknown;
}

/** The `hooks` object of a settings file: event -> matcher groups. */
export type HooksSettings = Record<string, MatcherGroup[]>;

/**
 * What a command hook's `command` starts with, before `exec <install>/bin/<wrapper>`: the shell
 * Claude Code starts ignores SIGTERM from its first instruction, and the wrapper inherits that.
 * When `claude -p` exits with hooks still running, it lists their process trees (`ps -A`),
 * sends SIGTERM to each hook's process group and, about a second later, SIGKILL to the group and
 * to every descendant it listed (seen in 2.1.328 with strace). Ignoring the SIGTERM gives the
 * wrapper that second to hand the payload off to its detached `deno run` (`wrappers.ts`) instead
 * of dying with it in its pipe.
 */
export const COMMAND_PREFIX = "trap '' TERM; exec ";

/** The wrapper that records `event` in `installDir`. */
export function eventWrapper(installDir: string, event: string): string {
  return `${installDir}/bin/${wrapperName(`${snakeCase(event)}.ts`)}`;
}

/** The `command` of the hook that records `event` in `installDir`. */
export function eventCommand(installDir: string, event: string): string {
  return `${COMMAND_PREFIX}${eventWrapper(installDir, event)}`;
}

/** The relay URL that records `event` for `installDir`. */
export function eventUrl(installDir: string, event: string, relayPort: number): string {
  return `http://127.0.0.1:${relayPort}/hook/${event}?install=${installDir}`;
}

function group(event: string, handler: HookHandler): MatcherGroup {
  return TOOL_EVENTS.includes(event) ? { matcher: "*", hooks: [handler] } : { hooks: [handler] };
}

/** Options of {@linkcode hooksBlock}. */
export interface BlockOptions {
  installDir: string;
  hookType: HookType;
  /** `ZO_RELAY_PORT`; needed for http hooks. */
  relayPort: number;
  /**
   * Also wire {@linkcode PENDING_EVENTS}: for a Claude Code newer than the newest known to
   * reject them (`claude_version.ts`). Default false.
   */
  wirePending?: boolean;
}

/**
 * The `hooks` object wiring every event of {@linkcode WIRED_EVENTS} to the install (and those of
 * {@linkcode PENDING_EVENTS} with `wirePending`), in the order of `CLAUDE_CODE_EVENTS`.
 */
export function hooksBlock(options: BlockOptions): HooksSettings {
  const hooks: HooksSettings = {};
  const events = options.wirePending
    ? CLAUDE_CODE_EVENTS.filter((event) => !UNWIRED_EVENTS.includes(event))
    : WIRED_EVENTS;
  for (const event of events) {
    const handler: HookHandler = options.hookType === "http" && !COMMAND_ONLY_EVENTS.includes(event)
      ? {
        type: "http",
        url: eventUrl(options.installDir, event, options.relayPort),
        timeout: HTTP_TIMEOUT_SECONDS,
      }
      : {
        type: "command",
        command: eventCommand(options.installDir, event),
        timeout: COMMAND_TIMEOUT_SECONDS,
      };
    hooks[event] = [group(event, handler)];
  }
  return hooks;
}

/** True when `handler` is one of ours for `installDir` (command or http). */
export function isOurHook(handler: unknown, installDir: string): boolean {
  if (handler === null || typeof handler !== "object") return false;
  const { type, command, url } = handler as HookHandler;
  if (type === "command" && typeof command === "string") {
    // With the prefix, or a bare wrapper path (as bootstrap wrote it before the prefix).
    const path = command.startsWith(COMMAND_PREFIX)
      ? command.slice(COMMAND_PREFIX.length)
      : command;
    return path.startsWith(`${installDir}/bin/`);
  }
  if (type === "http" && typeof url === "string") {
    try {
      const parsed = new URL(url);
      return parsed.hostname === "127.0.0.1" && parsed.searchParams.get("install") === installDir;
    } catch {
      return false;
    }
  }
  return false;
}
