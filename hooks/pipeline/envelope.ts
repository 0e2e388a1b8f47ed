/**
 * Builds envelopes on the VM: redacts first, then derives the summary fields from the redacted
 * payload (so no secret can reach `msg` or `indexable_text`), repairs ill-formed Unicode to
 * U+FFFD, caps the size, and only then mints the identity (`event_id`, `ts`, `hash`). Imports the schema as types only: no zod at run time.
 *
 * @module
 */
import { LIMITS, SCHEMA_VERSION } from "../../shared/contract.ts";
import { clip, describe } from "./message_templates.ts";
import { hookEventSpec } from "../../shared/hook_events.ts";
import { eventHash, formatTimestamp, uuidV7 } from "../../shared/ids.ts";
import { limitEventSize } from "./size_cap.ts";
import { repairStrings } from "../../shared/well_formed.ts";
import type { Redactor } from "../../shared/redact.ts";
import type { Event } from "../../shared/schema.ts";
import { identifier } from "./_util.ts";

/** Fields of an event that its producer supplies; identity and redaction are added by sealing. */
export type EventDraft = Omit<Event, "event_id" | "ts" | "schema_version" | "hash" | "redaction">;

/** The context a producer knows beyond the payload: run, project, worker, role, ... */
export type EventContext =
  & Pick<Event, "run_id">
  & Partial<
    Pick<
      Event,
      | "session_id"
      | "project_id"
      | "worker_id"
      | "agent_role"
      | "task_id"
      | "agent_id"
      | "parent_event_id"
      | "source"
    >
  >;

/** Options of {@linkcode sealEvent} and {@linkcode eventFromHookPayload}. */
export interface SealOptions {
  redactor: Redactor;
  /** Cap on the serialised event; default 256 KB. */
  maxEventBytes?: number;
  /** Creation time in Unix milliseconds; default now. */
  now?: number;
  /**
   * When redaction must stop, as a `performance.now()` time: what is not redacted by then is
   * replaced by `[REDACTED:redaction_deadline]` and counted in `redaction.unfinished`. The
   * event's identity (top-level strings that fit an id, and `source`) is redacted whatever the
   * deadline: a fixed few short strings. Default: no deadline.
   */
  deadline?: number;
}

/** The payload fields the envelope takes its identity from, redacted before the rest. */
const IDENTITY_FIELDS = [
  "session_id",
  "hook_event_name",
  "tool_name",
  "tool_use_id",
  "prompt_id",
  "agent_id",
  "task_id",
] as const;

/** `source` strings up to this long (paths) are part of the identity. */
const SOURCE_CHARS = 4_096;

/** A redacted payload: its value, the rules that fired, and the strings left unfinished. */
export interface RedactedPayload {
  data: Record<string, unknown>;
  rules: string[];
  unfinished: number;
}

/**
 * Redacts a payload under a deadline, its identity fields (ids that fit `LIMITS.idChars`) first
 * and without one: whatever the deadline cuts, the event keeps its session, event and tool.
 */
export function redactPayload(
  payload: Readonly<Record<string, unknown>>,
  options: Pick<SealOptions, "redactor" | "deadline">,
): RedactedPayload {
  const identity: Record<string, unknown> = {};
  for (const field of IDENTITY_FIELDS) {
    if (identifier(payload[field]) !== undefined) identity[field] = payload[field];
  }
  const ids = options.redactor.redact(identity);
  const all = options.redactor.redact(payload, { deadline: options.deadline });
  const data = all.value as Record<string, unknown>;
  if (all.unfinished) Object.assign(data, ids.value);
  return {
    data,
    rules: [...new Set([...ids.rules, ...all.rules])].sort(),
    unfinished: all.unfinished ?? 0,
  };
}

/** True for a top-level field that is part of an event's identity (see `SealOptions.deadline`). */
function isIdentity(key: string, value: unknown): boolean {
  if (typeof value === "string") return value.length <= LIMITS.idChars;
  if (key !== "source" || value === null || typeof value !== "object") return false;
  return Object.values(value).every((item) =>
    typeof item !== "string" || item.length <= SOURCE_CHARS
  );
}

const HASH_PLACEHOLDER = "0".repeat(64);

/** Stands in for a session id when the payload has none (garbage input, own events). */
export const UNKNOWN_SESSION = "unknown";

function withoutUndefined<T extends Record<string, unknown>>(record: T): T {
  for (const key of Object.keys(record)) {
    if (record[key] === undefined) delete record[key];
  }
  return record;
}

/**
 * Completes a draft into an envelope: redacts every field (its `data` too, unless
 * `dataRedactedBy` says that was done), clips `msg` and `indexable_text`, caps the size, then
 * assigns `event_id`, `ts` and `hash`.
 */
export async function sealEvent(
  draft: EventDraft,
  options: SealOptions & { dataRedactedBy?: readonly string[]; dataUnfinished?: number },
): Promise<Event> {
  const { redactor } = options;
  const now = options.now ?? Date.now();
  const { data, ...rest } = draft;
  const fired = new Set(options.dataRedactedBy ?? []);
  let unfinished = options.dataUnfinished ?? 0;
  // Field by field, so that a key-named secret keeps its key's context and the identity is
  // redacted whatever the deadline.
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rest)) {
    const deadline = isIdentity(key, value) ? undefined : options.deadline;
    const result = redactor.redact({ [key]: value }, { deadline });
    result.rules.forEach((rule) => fired.add(rule));
    unfinished += result.unfinished ?? 0;
    Object.assign(fields, result.value);
  }
  let redactedData = data;
  if (data !== undefined && options.dataRedactedBy === undefined) {
    const result = redactor.redact(data, { deadline: options.deadline });
    result.rules.forEach((rule) => fired.add(rule));
    unfinished += result.unfinished ?? 0;
    redactedData = result.value;
  }
  const envelope: Record<string, unknown> = withoutUndefined({
    event_id: uuidV7(now),
    ts: formatTimestamp(now),
    schema_version: SCHEMA_VERSION,
    ...fields,
    msg: typeof fields.msg === "string" ? clip(fields.msg, LIMITS.msgChars) : undefined,
    indexable_text: typeof fields.indexable_text === "string"
      ? clip(fields.indexable_text, LIMITS.indexableTextChars)
      : undefined,
    data: redactedData,
    redaction: {
      applied: redactor.mode !== "off",
      rules: [...fired].sort(),
      mode: redactor.mode,
      ...(unfinished > 0 ? { unfinished } : {}),
    },
    // Holds the hash's room while the size is capped; the real hash is set after.
    hash: HASH_PLACEHOLDER,
  });
  // A lone surrogate (a payload can carry one as a JSON escape) is refused by the bridge: the
  // VM repairs it to U+FFFD here, before the size cap and the hash, so the spool never holds one.
  const limited = await limitEventSize(
    repairStrings(envelope),
    options.maxEventBytes ?? LIMITS.defaultMaxEventBytes,
  );
  limited.event.hash = await eventHash(limited.event);
  return limited.event as Event;
}

/**
 * The envelope of one Claude Code hook payload (the JSON a hook reads on stdin). Known events
 * map by `HOOK_EVENTS`; an unknown `hook_event_name` is kept as `other`; every payload field,
 * known or not, is kept in `data`.
 */
export async function eventFromHookPayload(
  payload: Readonly<Record<string, unknown>>,
  context: EventContext,
  options: SealOptions,
): Promise<Event> {
  const redacted = redactPayload(payload, options);
  const data = redacted.data;
  const spec = hookEventSpec(payload.hook_event_name);
  const description = describe(spec, data);
  const draft: EventDraft = {
    ...context,
    session_id: identifier(data["session_id"]) ?? context.session_id ?? UNKNOWN_SESSION,
    event_type: spec.type,
    level: spec.level,
    hook_event_name: identifier(data["hook_event_name"]),
    tool_name: identifier(data["tool_name"]),
    tool_use_id: identifier(data["tool_use_id"]),
    prompt_id: identifier(data["prompt_id"]),
    agent_id: identifier(data["agent_id"]) ?? context.agent_id,
    task_id: identifier(data["task_id"]) ?? context.task_id,
    msg: description.msg,
    indexable_text: description.indexable_text,
    error_detail: description.error_detail,
    data,
  };
  return await sealEvent(draft, {
    ...options,
    dataRedactedBy: redacted.rules,
    dataUnfinished: redacted.unfinished,
  });
}
