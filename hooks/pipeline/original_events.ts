/**
 * The original system's own events, which no Claude Code hook fires: a conductor spawning a
 * worker, files produced, an error report. Each has a spec like `hook_events.ts` gives Claude
 * Code's events, so its `msg` and `indexable_text` are derived the same way.
 *
 * @module
 */
import { describe } from "./message_templates.ts";
import {
  type EventContext,
  redactPayload,
  sealEvent,
  type SealOptions,
  UNKNOWN_SESSION,
} from "./envelope.ts";
import type { HookEventSpec } from "../../shared/hook_events.ts";
import type { ArtifactRef, Event } from "../../shared/schema.ts";
import { identifier } from "./_util.ts";

/** The kinds of own events. */
export type OwnEventKind = "worker_spawn" | "artifact" | "error";

/** How each own event maps onto the envelope. */
export const OWN_EVENTS: Readonly<Record<OwnEventKind, HookEventSpec>> = {
  worker_spawn: {
    when: "A conductor started a worker agent (hooks/worker_spawn.ts).",
    type: "worker_spawn",
    level: "info",
    msg: "Worker spawned[: {spawned_worker_id}][ for task {task_id}][: {description}]",
    text: ["description", "prompt"],
  },
  artifact: {
    when: "Files were produced (hooks/artifact_produced.ts).",
    type: "artifact",
    level: "info",
    msg: "Artifacts produced: {artifact_paths}",
    text: ["artifact_paths", "description"],
  },
  error: {
    when: "Something failed and reported it (hooks/error_event.ts).",
    type: "error",
    level: "error",
    msg: "[{error_type}: ]{message}",
    text: ["message", "stack_trace"],
    error: { type: "{error_type}", message: "{message}" },
  },
};

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * The fields the templates read, from the shapes producers send: an error as
 * `{error_type|type, message, stack_trace}` or `{error: "text" | {type, message, stack_trace}}`.
 */
function templateView(
  kind: OwnEventKind,
  data: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  if (kind !== "error") return data;
  const nested = data.error !== null && typeof data.error === "object"
    ? data.error as Record<string, unknown>
    : {};
  return {
    ...data,
    error_type: text(data.error_type) ?? text(data.type) ?? text(nested.type) ?? "error",
    message: text(data.message) ?? text(data.error) ?? text(nested.message) ?? "",
    stack_trace: text(data.stack_trace) ?? text(data.stack) ?? text(nested.stack_trace),
  };
}

/** Options of {@linkcode ownEvent}: sealing, plus the files of an artifact event. */
export interface OwnEventOptions extends SealOptions {
  artifactRefs?: ArtifactRef[];
}

/**
 * The envelope of an own event. `payload` is what the producer sent (kept, redacted, in `data`);
 * its `session_id`, `task_id` and `agent_id` fill the envelope's when present.
 */
export async function ownEvent(
  kind: OwnEventKind,
  payload: Readonly<Record<string, unknown>>,
  context: EventContext,
  options: OwnEventOptions,
): Promise<Event> {
  const redacted = redactPayload(payload, options);
  const data = redacted.data;
  const view = templateView(kind, data);
  const description = describe(OWN_EVENTS[kind], view);
  if (description.error_detail && typeof view.stack_trace === "string") {
    (description.error_detail as Record<string, unknown>).stack_trace = view.stack_trace;
  }
  return await sealEvent({
    ...context,
    session_id: identifier(data.session_id) ?? context.session_id ?? UNKNOWN_SESSION,
    event_type: OWN_EVENTS[kind].type,
    level: OWN_EVENTS[kind].level,
    agent_id: identifier(data.agent_id) ?? context.agent_id,
    task_id: identifier(data.task_id) ?? context.task_id,
    msg: description.msg,
    indexable_text: description.indexable_text,
    error_detail: description.error_detail,
    artifact_refs: options.artifactRefs,
    data,
  }, { ...options, dataRedactedBy: redacted.rules, dataUnfinished: redacted.unfinished });
}
