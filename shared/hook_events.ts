/**
 * How each Claude Code hook event becomes an envelope: its `event_type`, `level`, the template of
 * its `msg`, and which payload fields feed `indexable_text`. Part of the contract: the table in
 * docs/schema.md is generated from `HOOK_EVENTS`. Free of zod so hooks can load it cheaply.
 *
 * Templates: `{field}` is replaced by the payload's field, summarised on one line; a `[...]`
 * part is dropped when a field inside it is missing or empty.
 *
 * @module
 */
import type { EventType, Level } from "./contract.ts";

/** How one hook event maps onto the envelope. */
export interface HookEventSpec {
  /** When Claude Code fires it. */
  readonly when: string;
  readonly type: EventType;
  readonly level: Level;
  /** Template of `msg`. */
  readonly msg: string;
  /** Payload fields whose text makes `indexable_text`, in order; empty: `msg` is used. */
  readonly text: readonly string[];
  /** Templates of `error_detail.type` and `.message`, for events that report a failure. */
  readonly error?: { readonly type: string; readonly message: string };
}

/** Every hook event known to this contract (Claude Code 2.1.x). */
export const HOOK_EVENTS = {
  SessionStart: {
    when: "A session starts, resumes, or restarts after /clear or compaction.",
    type: "session_start",
    level: "info",
    msg: "Session started[ ({source})][ with {model}]",
    text: ["session_title"],
  },
  Setup: {
    when: "Claude Code runs its setup (--init, --init-only, --maintenance).",
    type: "config",
    level: "info",
    msg: "Setup ran[ ({trigger})]",
    text: [],
  },
  InstructionsLoaded: {
    when: "A CLAUDE.md or rules file is loaded into context.",
    type: "config",
    level: "debug",
    msg: "Instructions loaded from {file_path}[ ({load_reason})]",
    text: [],
  },
  UserPromptSubmit: {
    when: "The user submits a prompt.",
    type: "prompt",
    level: "info",
    msg: "Prompt: {prompt}",
    text: ["prompt"],
  },
  UserPromptExpansion: {
    when: "A slash command or MCP prompt expands, before it reaches the model.",
    type: "prompt",
    level: "debug",
    msg: "Expanded {command_name}[ {command_args}]",
    text: ["command_name", "command_args", "prompt"],
  },
  MessageDisplay: {
    when: "Assistant text is shown to the user (a fragment per call).",
    type: "message",
    level: "debug",
    msg: "Message: {delta}",
    text: ["delta"],
  },
  PreToolUse: {
    when: "Before a tool call runs.",
    type: "tool_invocation",
    level: "info",
    msg: "{tool_name}: {tool_input}",
    text: ["tool_name", "tool_input"],
  },
  PermissionRequest: {
    when: "A permission prompt is about to be shown.",
    type: "permission",
    level: "info",
    msg: "Permission requested for {tool_name}[: {tool_input}]",
    text: ["tool_name", "tool_input"],
  },
  PermissionDenied: {
    when: "Auto mode denies a tool call.",
    type: "permission",
    level: "warn",
    msg: "Permission denied for {tool_name}[: {reason}]",
    text: ["tool_name", "tool_input", "reason"],
  },
  PostToolUse: {
    when: "After a tool call succeeds.",
    type: "tool_invocation",
    level: "info",
    msg: "{tool_name} done[ in {duration_ms} ms]: {tool_input}",
    text: ["tool_name", "tool_input", "tool_response"],
  },
  PostToolUseFailure: {
    when: "After a tool call fails.",
    type: "tool_invocation",
    level: "error",
    msg: "{tool_name} failed[ after {duration_ms} ms]: {error}",
    text: ["tool_name", "tool_input", "error"],
    error: { type: "tool_failure", message: "{error}" },
  },
  PostToolBatch: {
    when: "After a batch of parallel tool calls, before the next model call.",
    type: "tool_invocation",
    level: "debug",
    msg: "Tool batch done: {tool_calls}",
    text: ["tool_calls"],
  },
  Notification: {
    when: "Claude Code sends the user a notification.",
    type: "notification",
    level: "info",
    msg: "[{title}: ]{message}",
    text: ["title", "message"],
  },
  SubagentStart: {
    when: "A subagent is spawned or resumed.",
    type: "subagent",
    level: "info",
    msg: "Subagent started[: {agent_type}][ ({agent_id})]",
    text: [],
  },
  SubagentStop: {
    when: "A subagent finishes.",
    type: "subagent",
    level: "info",
    msg: "Subagent stopped[: {agent_type}][: {last_assistant_message}]",
    text: ["last_assistant_message"],
  },
  TaskCreated: {
    when: "A task is created.",
    type: "task",
    level: "info",
    msg: "Task created: {task_subject}",
    text: ["task_subject", "task_description"],
  },
  TaskCompleted: {
    when: "A task is marked completed.",
    type: "task",
    level: "info",
    msg: "Task completed: {task_subject}",
    text: ["task_subject", "task_description"],
  },
  Stop: {
    when: "The agent finishes responding.",
    type: "done",
    level: "info",
    msg: "Turn done[: {last_assistant_message}]",
    text: ["last_assistant_message"],
  },
  StopFailure: {
    when: "A turn ends on an API error.",
    type: "error",
    level: "error",
    msg: "Turn failed: {error}[ ({error_details})]",
    text: ["error", "error_details", "last_assistant_message"],
    error: { type: "{error}", message: "[{error_details}]" },
  },
  TeammateIdle: {
    when: "An agent-team teammate is about to go idle.",
    type: "worker_heartbeat",
    level: "info",
    msg: "Teammate idle[: {teammate_name}]",
    text: [],
  },
  ConfigChange: {
    when: "A settings, policy or skill file changes during the session.",
    type: "config",
    level: "info",
    msg: "Configuration changed[ ({source})][: {file_path}]",
    text: [],
  },
  CwdChanged: {
    when: "The working directory changes.",
    type: "workspace",
    level: "debug",
    msg: "Working directory[ {old_cwd}] -> {new_cwd}",
    text: [],
  },
  DirectoryAdded: {
    when: "A directory is added to the workspace (/add-dir).",
    type: "workspace",
    level: "info",
    msg: "Directory added: {directory}",
    text: [],
  },
  FileChanged: {
    when: "A watched file changes on disk.",
    type: "workspace",
    level: "debug",
    msg: "File[ {event}]: {file_path}",
    text: [],
  },
  WorktreeCreate: {
    when: "A git worktree is being created.",
    type: "workspace",
    level: "info",
    msg: "Worktree created: {name}",
    text: [],
  },
  WorktreeRemove: {
    when: "A hook-created worktree is being removed.",
    type: "workspace",
    level: "info",
    msg: "Worktree removed: {worktree_path}",
    text: [],
  },
  PreCompact: {
    when: "Before the context is compacted.",
    type: "compaction",
    level: "info",
    msg: "Compacting context[ ({trigger})]",
    text: ["custom_instructions"],
  },
  PostCompact: {
    when: "After the context was compacted.",
    type: "compaction",
    level: "info",
    msg: "Context compacted[ ({trigger})]",
    text: ["compact_summary"],
  },
  SessionEnd: {
    when: "The session ends.",
    type: "session_end",
    level: "info",
    msg: "Session ended[ ({reason})]",
    text: [],
  },
  Elicitation: {
    when: "An MCP server asks the user for input.",
    type: "elicitation",
    level: "info",
    msg: "[{mcp_server_name} asks: ]{message}",
    text: ["message"],
  },
  ElicitationResult: {
    when: "The user answered an MCP elicitation.",
    type: "elicitation",
    level: "info",
    msg: "Elicitation {action}[ for {mcp_server_name}]",
    text: [],
  },
  Interrupt: {
    when:
      "An interrupt ends the main conversation's turn (not wired until Claude Code accepts it).",
    type: "done",
    level: "warn",
    msg: "Turn interrupted[ by {source}][ ({reason})]",
    text: [],
  },
  PreSkillShellCommand: {
    when: "Before a skill's or command's shell line runs (not wired until Claude Code accepts it).",
    type: "tool_invocation",
    level: "info",
    msg: "[{command_name} runs ]{tool_name}: {tool_input}",
    text: ["command_name", "tool_name", "tool_input"],
  },
  PreModelSwitch: {
    when: "Before the model is switched (/model, or a model change by a setting).",
    type: "config",
    level: "info",
    msg: "Switching model[ from {from_model}][ to {to_model}]",
    text: [],
  },
  PostModelSwitch: {
    when: "After the model was switched.",
    type: "config",
    level: "info",
    msg: "Model switched[ from {from_model}][ to {to_model}]",
    text: [],
  },
} as const satisfies Record<string, HookEventSpec>;

/** A hook event name this contract knows. */
export type KnownHookEventName = keyof typeof HOOK_EVENTS;

/** How an unknown hook event is kept: under `other`, every payload field made searchable. */
export const UNKNOWN_HOOK_EVENT: HookEventSpec = {
  when: "Any hook event this contract does not know yet.",
  type: "other",
  level: "info",
  msg: "Hook event[ {hook_event_name}]",
  text: ["*"],
};

/** The spec of a hook event by name; unknown names get {@linkcode UNKNOWN_HOOK_EVENT}. */
export function hookEventSpec(name: unknown): HookEventSpec {
  return typeof name === "string" && Object.hasOwn(HOOK_EVENTS, name)
    ? HOOK_EVENTS[name as KnownHookEventName]
    : UNKNOWN_HOOK_EVENT;
}
