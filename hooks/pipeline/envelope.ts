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
}

const HASH_PLACEHOLDER = "0".repeat(64);

/** Stands in for a session id when the payload has none (garbage input, own events). */
export const UNKNOWN_SESSION = "unknown";

/** A payload's string field, if it is one and fits an id; else undefined. */
function identifierField(payload: Readonly<Record<string, unknown>>, field: string) {
  const value = payload[field];
  return typeof value === "string" && value.length > 0 && value.length <= LIMITS.idChars
    ? value
    : undefined;
}

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
  options: SealOptions & { dataRedactedBy?: readonly string[] },
): Promise<Event> {
  const { redactor } = options;
  const now = options.now ?? Date.now();
  const { data, ...rest } = draft;
  const fired = new Set(options.dataRedactedBy ?? []);
  const redactedRest = redactor.redact(rest);
  redactedRest.rules.forEach((rule) => fired.add(rule));
  let redactedData = data;
  if (data !== undefined && options.dataRedactedBy === undefined) {
    const result = redactor.redact(data);
    result.rules.forEach((rule) => fired.add(rule));
    redactedData = result.value;
  }
  const fields = redactedRest.value;
  const envelope: Record<string, unknown> = withoutUndefined({
    event_id: uuidV7(now),
    ts: formatTimestamp(now),
    schema_version: SCHEMA_VERSION,
    ...fields,
    msg: fields.msg === undefined ? undefined : clip(fields.msg, LIMITS.msgChars),
    indexable_text: fields.indexable_text === undefined
      ? undefined
      : clip(fields.indexable_text, LIMITS.indexableTextChars),
    data: redactedData,
    redaction: { applied: redactor.mode !== "off", rules: [...fired].sort(), mode: redactor.mode },
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
  const redacted = options.redactor.redact(payload);
  const data = redacted.value as Record<string, unknown>;
  const spec = hookEventSpec(payload.hook_event_name);
  const description = describe(spec, data);
  const draft: EventDraft = {
    ...context,
    session_id: identifierField(data, "session_id") ?? context.session_id ?? UNKNOWN_SESSION,
    event_type: spec.type,
    level: spec.level,
    hook_event_name: identifierField(data, "hook_event_name"),
    tool_name: identifierField(data, "tool_name"),
    tool_use_id: identifierField(data, "tool_use_id"),
    prompt_id: identifierField(data, "prompt_id"),
    agent_id: identifierField(data, "agent_id") ?? context.agent_id,
    task_id: identifierField(data, "task_id") ?? context.task_id,
    msg: description.msg,
    indexable_text: description.indexable_text,
    error_detail: description.error_detail,
    data,
  };
  return await sealEvent(draft, { ...options, dataRedactedBy: redacted.rules });
}
