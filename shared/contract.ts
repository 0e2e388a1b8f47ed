/**
 * The event contract's vocabulary and limits, free of any dependency so that hooks can import it
 * without loading zod (every millisecond of a hook's start-up is paid by the agent).
 *
 * `schema.ts` builds the zod schema from these values; nothing else should redefine them.
 *
 * @module
 */

/** The schema version every producer in this codebase writes. */
export const SCHEMA_VERSION = "1.0";

/** Major versions this codebase can read: an envelope whose major is not here is rejected. */
export const SUPPORTED_MAJOR = 1;

/** Severity of an event. */
export const LEVELS = ["debug", "info", "warn", "error"] as const;
/** A severity. */
export type Level = typeof LEVELS[number];

/** Who produced an event in a multi-agent run. */
export const AGENT_ROLES = ["conductor", "worker", "system"] as const;
/** An agent role. */
export type AgentRole = typeof AGENT_ROLES[number];

/**
 * Every `event_type` the contract knows, with what it means. The first ten are the original
 * system's v1.0 types; the rest name Claude Code's hook events (see `hook_events.ts`).
 */
export const EVENT_TYPE_DESCRIPTIONS = {
  session_start: "A session started or resumed (SessionStart).",
  session_end: "A session ended (SessionEnd).",
  worker_spawn: "A worker agent was started by a conductor.",
  worker_heartbeat: "A worker is alive and idle (TeammateIdle, or a periodic beat).",
  progress: "A step of a longer piece of work finished.",
  artifact: "Files were produced; see artifact_refs.",
  error: "Something failed (StopFailure, a hook's own garbage input, an error report).",
  tool_invocation: "A tool call before or after it ran (PreToolUse, PostToolUse, ...).",
  decision: "A conductor or agent decided something worth auditing.",
  done: "The agent finished its turn (Stop).",
  prompt: "The user submitted or expanded a prompt (UserPromptSubmit, UserPromptExpansion).",
  message: "A message was shown to the user (MessageDisplay).",
  notification: "Claude Code notified the user (Notification).",
  permission: "A permission was requested or denied (PermissionRequest, PermissionDenied).",
  subagent: "A subagent started or stopped (SubagentStart, SubagentStop).",
  task: "A task was created or completed (TaskCreated, TaskCompleted).",
  compaction: "The context was compacted (PreCompact, PostCompact).",
  config: "Settings or instructions were loaded or changed (Setup, InstructionsLoaded, ...).",
  workspace: "The working tree changed shape (CwdChanged, DirectoryAdded, worktrees, files).",
  elicitation: "An MCP server asked the user for input, or got the answer.",
  usage: "Token usage of one API response, read from a transcript.",
  telemetry:
    "A record of Claude Code's own OpenTelemetry export: a log event (API request, tool result, ...) or a metric point.",
  other: "A hook event this version of the contract does not know yet; kept as it came.",
} as const;

/** The known event types, in the order above. */
export const EVENT_TYPES = Object.keys(EVENT_TYPE_DESCRIPTIONS) as EventType[];
/** A known event type. */
export type EventType = keyof typeof EVENT_TYPE_DESCRIPTIONS;

/** How much redaction a producer applied. */
export const REDACTION_MODES = ["strict", "standard", "off"] as const;
/** A redaction mode. */
export type RedactionMode = typeof REDACTION_MODES[number];

/** Field size limits of the envelope. */
export const LIMITS = {
  /** `msg` is a one-line summary for lists and logs. */
  msgChars: 500,
  /** `indexable_text` is what full-text and semantic search see. */
  indexableTextChars: 2_000,
  /** Identifiers (session, run, worker, ...). */
  idChars: 256,
  /** Default cap on one serialised event, in UTF-8 bytes (`ZO_MAX_EVENT_BYTES`). */
  defaultMaxEventBytes: 256 * 1024,
  /** The smallest cap a configuration may set: below it, the envelope itself may not fit. */
  minMaxEventBytes: 4 * 1024,
} as const;

/**
 * The envelope fields that identify an occurrence, and so feed `hash`. Everything a delivery
 * attempt, a replay or a re-derivation can change (event_id, level, msg, indexable_text, source,
 * redaction, schema_version) is left out on purpose. See docs/schema.md, "Ids and hashing".
 */
export const HASHED_FIELDS = [
  "session_id",
  "run_id",
  "project_id",
  "worker_id",
  "agent_id",
  "task_id",
  "event_type",
  "hook_event_name",
  "tool_name",
  "tool_use_id",
  "ts",
  "data",
  "artifact_refs",
  "error_detail",
  "parent_event_id",
] as const;

/**
 * What a relay does with an answer that carries a rejection reason: dead-letter the events the
 * answer lists (`rejected`), halve the batch (a lone event is dead-lettered), dead-letter the
 * events of other projects and send the rest again, keep the events and retry with backoff
 * while the key is fixed, or keep them and retry after `Retry-After`.
 */
export type RelayAction =
  | "dead_letter_rejected"
  | "split"
  | "dead_letter_foreign"
  | "fix_key"
  | "retry";

/** One rejection reason: the HTTP status it is answered with, and what a relay does about it. */
export interface Rejection {
  /** The HTTP status of the answer. */
  readonly status: number;
  /** Seconds a client should wait before retrying (`Retry-After`), where waiting helps. */
  readonly retryAfterSeconds?: number;
  /** What a relay does when `POST /ingest` answers with it. */
  readonly relay: RelayAction;
  /** What it means, for the docs. */
  readonly meaning: string;
}

/**
 * Every reason the bridge gives for refusing a request or events in it: the `reason` field of
 * every error body (`{"error", "reason", "details"?}`), with its status and `Retry-After`. The
 * bridge's error handler answers from this table and the relay decides from it, so the two sides
 * cannot disagree.
 */
export const REJECTIONS = {
  invalid: {
    status: 400,
    relay: "dead_letter_rejected",
    meaning: "Every event failed schema validation; `rejected` lists each with its error.",
  },
  store_refused: {
    status: 400,
    relay: "dead_letter_rejected",
    meaning:
      "Chroma refused events on their own for what they hold; `rejected` lists each with this reason, and every other event was stored (HTTP 200 when any was, else 400).",
  },
  malformed: {
    status: 400,
    relay: "split",
    meaning: "The body could not be read: empty, not JSON, not UTF-8, broken gzip.",
  },
  too_large: {
    status: 413,
    relay: "split",
    meaning: "Over a size or count limit; `details.reason` says which.",
  },
  unsupported_encoding: {
    status: 415,
    relay: "retry",
    meaning: "A Content-Encoding other than gzip or identity.",
  },
  unauthorized: {
    status: 401,
    relay: "fix_key",
    meaning: "No API key, or one the bridge does not know.",
  },
  forbidden_scope: {
    status: 403,
    relay: "fix_key",
    meaning: "The key lacks the scope the route needs.",
  },
  forbidden_project: {
    status: 403,
    relay: "dead_letter_foreign",
    meaning: "The key is bound to another project than an event or a query names.",
  },
  busy: {
    status: 429,
    retryAfterSeconds: 1,
    relay: "retry",
    meaning:
      "The bridge is reading as many request bodies, or holding as many query pages, as it holds memory for, or this key holds its share (a quarter).",
  },
  body_timeout: {
    status: 408,
    retryAfterSeconds: 1,
    relay: "retry",
    meaning: "The request body did not arrive whole within 30 s (a stalled upload).",
  },
  queue_full: {
    status: 429,
    retryAfterSeconds: 1,
    relay: "retry",
    meaning: "The write queue is full (ZO_INGEST_QUEUE_EVENTS).",
  },
  store_unavailable: {
    status: 503,
    retryAfterSeconds: 5,
    relay: "retry",
    meaning: "Chroma (or the embedding provider) does not answer or fails.",
  },
  bad_query: {
    status: 400,
    relay: "split",
    meaning: "A query's parameters or cursor are unknown, repeated or bad.",
  },
  live_full: {
    status: 503,
    retryAfterSeconds: 5,
    relay: "retry",
    meaning: "The live feed has as many clients as it takes.",
  },
  live_key_full: {
    status: 429,
    retryAfterSeconds: 5,
    relay: "retry",
    meaning: "This key holds as many live streams as one key may (10); close one.",
  },
  not_found: { status: 404, relay: "retry", meaning: "No such route or file." },
  method_not_allowed: {
    status: 405,
    relay: "retry",
    meaning: "The route does not take this method; `Allow` says which it takes.",
  },
  not_implemented: {
    status: 501,
    relay: "retry",
    meaning: "The store behind this bridge cannot answer this route.",
  },
  internal: {
    status: 500,
    relay: "retry",
    meaning: "A bug in the bridge; its log has the details under the error's id.",
  },
} as const satisfies Record<string, Rejection>;

/** One of the keys of {@linkcode REJECTIONS}. */
export type RejectionReason = keyof typeof REJECTIONS;

/** True when `value` is a known rejection reason (a bridge may be newer than its relays). */
export function isRejectionReason(value: unknown): value is RejectionReason {
  return typeof value === "string" && Object.hasOwn(REJECTIONS, value);
}
