/**
 * The event envelope, schema version 1.0: the one source of truth for the TypeScript types, the
 * bridge's validation, `docs/schema.json` and the field table in `docs/schema.md`.
 *
 * Hooks must import this module with `import type` only: loading zod costs ~30 ms per hook call.
 *
 * @module
 */
import { z } from "zod";
import {
  AGENT_ROLES,
  EVENT_TYPES,
  LEVELS,
  LIMITS,
  REDACTION_MODES,
  SCHEMA_VERSION,
  SUPPORTED_MAJOR,
} from "./contract.ts";
import { illFormedStringPath } from "./well_formed.ts";

const SHA256_HEX = /^[0-9a-f]{64}$/;
const SCHEMA_VERSION_PATTERN = new RegExp(`^${SUPPORTED_MAJOR}\\.(0|[1-9]\\d{0,3})$`);

const identifier = (what: string) =>
  z.string({ error: `${what} must be a string` })
    .min(1, { error: `${what} must not be empty` })
    .max(LIMITS.idChars, { error: `${what} must be at most ${LIMITS.idChars} characters` });

const sha256Hex = (what: string) =>
  z.string().regex(SHA256_HEX, {
    error: `${what} must be a SHA-256 digest as 64 lowercase hex characters`,
  });

/** One file an event refers to, hashed and sized on the VM. */
export const ArtifactRef = z.looseObject({
  path: z.string().min(1).describe(
    "Path of the file on the VM (home directory shown as ~ in strict mode).",
  ),
  type: z.string().min(1).max(64).describe(
    'Kind of artifact, e.g. "file", "diff", "log", "report".',
  ),
  hash: sha256Hex("artifact_refs[].hash").describe("SHA-256 of the file's bytes, lowercase hex."),
  size_bytes: z.int().nonnegative().describe("Size of the file in bytes."),
}).describe("A file the event refers to.");
/** One file an event refers to. */
export type ArtifactRef = z.infer<typeof ArtifactRef>;

/** Where the event was produced. */
export const Source = z.looseObject({
  host: z.string().optional().describe(
    "Host name of the VM (pseudonymised as host-<hash> in strict mode).",
  ),
  remote: z.string().optional().describe("Git remote of the project (credentials redacted)."),
  cwd: z.string().optional().describe("Working directory of the agent."),
  project_dir: z.string().optional().describe("Project root (CLAUDE_PROJECT_DIR)."),
}).describe("Where the event was produced.");
/** Where the event was produced. */
export type Source = z.infer<typeof Source>;

/** What redaction did to this event. Never holds a secret. */
export const RedactionRecord = z.looseObject({
  applied: z.boolean().describe(
    'True when the event went through redaction (mode is not "off"), whether or not anything matched.',
  ),
  rules: z.array(z.string()).describe("Ids of the rules that fired, sorted, each once."),
  mode: z.enum(REDACTION_MODES).describe("The redaction mode in force on the VM."),
  bridge_rules: z.array(z.string()).optional().describe(
    "Ids of the rules the bridge's second redaction pass fired at ingest, sorted (also in " +
      "rules): what the VM's redaction had left. Absent when it found nothing.",
  ),
  unfinished: z.number().int().positive().optional().describe(
    "Set when the hook's redaction deadline passed: how many strings it had not finished, each " +
      "replaced whole by [REDACTED:redaction_deadline] (rules then holds redaction_deadline). " +
      "The event is kept without them, never with them unredacted.",
  ),
}).describe("What redaction did to this event.");
/** What redaction did to this event. */
export type RedactionRecord = z.infer<typeof RedactionRecord>;

/** Details of an error event. */
export const ErrorDetail = z.looseObject({
  type: z.string().min(1).describe(
    'Kind of error, e.g. "rate_limit", "InvalidInput", "TypeError".',
  ),
  message: z.string().describe("What went wrong, for a person."),
  stack_trace: z.string().optional().describe("Stack trace or raw detail, if any."),
}).describe("Details of an error.");
/** Details of an error event. */
export type ErrorDetail = z.infer<typeof ErrorDetail>;

const EventFields = z.object({
  event_id: z.uuid({ error: "event_id must be a UUID (producers write UUID v7)" })
    .describe("Unique id of the event, assigned once when it is created: a time-ordered UUID v7."),
  ts: z.iso.datetime({
    precision: 3,
    error: "ts must be RFC 3339 in UTC with milliseconds, like 2026-11-24T10:00:00.000Z",
  }).describe("When the event happened: RFC 3339, UTC, milliseconds."),
  schema_version: z.string().regex(SCHEMA_VERSION_PATTERN, {
    error:
      `schema_version must be "${SUPPORTED_MAJOR}.<minor>" (this code reads major ${SUPPORTED_MAJOR} and writes "${SCHEMA_VERSION}")`,
  }).describe(`Contract version. Producers here write "${SCHEMA_VERSION}"; any 1.x is accepted.`),
  session_id: identifier("session_id").describe("Claude Code session id."),
  run_id: identifier("run_id").describe(
    "Run the session belongs to (CLAUDE_RUN_ID, else one stable id per session).",
  ),
  event_type: z.enum(EVENT_TYPES, {
    error: (issue) =>
      `event_type ${
        JSON.stringify(issue.input)
      } is not known to schema ${SCHEMA_VERSION}; use one of: ${EVENT_TYPES.join(", ")}`,
  }).describe("What kind of event this is; see the event types table."),
  level: z.enum(LEVELS, { error: `level must be one of: ${LEVELS.join(", ")}` })
    .describe("Severity."),
  project_id: identifier("project_id").optional().describe("Project the work belongs to."),
  hook_event_name: identifier("hook_event_name").optional().describe(
    "Claude Code hook event that produced this, as Claude Code named it.",
  ),
  agent_role: z.enum(AGENT_ROLES, {
    error: `agent_role must be one of: ${AGENT_ROLES.join(", ")}`,
  }).optional().describe("Role of the producing agent in a multi-agent run."),
  worker_id: identifier("worker_id").optional().describe("VM or worker that produced the event."),
  task_id: identifier("task_id").optional().describe("Task the event belongs to."),
  agent_id: identifier("agent_id").optional().describe("Subagent id, for subagent events."),
  tool_name: identifier("tool_name").optional().describe(
    'Tool involved, e.g. "Bash" or "mcp__github__create_pull_request".',
  ),
  tool_use_id: identifier("tool_use_id").optional().describe(
    "Id pairing a PreToolUse with its PostToolUse or PostToolUseFailure.",
  ),
  prompt_id: identifier("prompt_id").optional().describe(
    "Claude Code's id of the user prompt the event follows from: it groups one prompt's events " +
      "(its tool calls, subagents, messages and the turn's end), the subagent's included.",
  ),
  msg: z.string().max(LIMITS.msgChars, {
    error: `msg must be at most ${LIMITS.msgChars} characters`,
  }).optional().describe("One-line summary for people."),
  data: z.record(z.string(), z.unknown(), { error: "data must be a JSON object" }).optional()
    .describe("The hook payload, redacted, with every field it came with."),
  artifact_refs: z.array(ArtifactRef).optional().describe("Files the event refers to."),
  source: Source.optional(),
  indexable_text: z.string().max(LIMITS.indexableTextChars, {
    error: `indexable_text must be at most ${LIMITS.indexableTextChars} characters`,
  }).optional().describe("Text for full-text and semantic search, redacted."),
  hash: sha256Hex("hash").optional().describe(
    "SHA-256 of the canonical JSON of the fields that identify the occurrence.",
  ),
  redaction: RedactionRecord.optional(),
  parent_event_id: z.uuid({ error: "parent_event_id must be a UUID" }).optional().describe(
    "Event this one follows from, e.g. a subagent's SubagentStart.",
  ),
  error_detail: ErrorDetail.optional(),
});

/**
 * The event envelope. Unknown fields are kept (a newer 1.x producer may add optional ones), and
 * so are unknown fields inside `data`. Every string, keys included, must be well-formed Unicode:
 * Chroma refuses a lone surrogate, and one such event would otherwise fail a whole group write.
 */
export const Event = EventFields.loose().check((ctx) => {
  const path = illFormedStringPath(ctx.value);
  if (path === undefined) return;
  ctx.issues.push({
    code: "custom",
    input: ctx.value,
    path,
    message:
      "Strings must be well-formed Unicode: this one holds a lone surrogate (producers here replace it with U+FFFD)",
  });
}).meta({
  title: "Agent telemetry event",
  description:
    `Envelope of one agent lifecycle event, schema version ${SCHEMA_VERSION}. Every string, keys included, is well-formed Unicode (no lone surrogates).`,
});
/**
 * The event envelope's type. Inferred from the fields without the catch-all for unknown ones, so
 * that `Omit<Event, ...>` and `Pick<Event, ...>` keep the named fields.
 */
export type Event = z.infer<typeof EventFields>;

/** The outcome of {@linkcode parseEvent}. */
export type ParseResult =
  | { ok: true; event: Event }
  | { ok: false; error: string; issues: z.core.$ZodIssue[] };

/**
 * Validates one envelope. On failure, `error` is a message a person can act on (every problem,
 * with the field it concerns) and `issues` the structured form for machines.
 */
export function parseEvent(input: unknown): ParseResult {
  const result = Event.safeParse(input);
  if (result.success) return { ok: true, event: result.data };
  return { ok: false, error: z.prettifyError(result.error), issues: result.error.issues };
}

/** The JSON Schema of the envelope (draft 2020-12), as written to docs/schema.json. */
export function eventJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(Event, { target: "draft-2020-12", io: "input" });
}
