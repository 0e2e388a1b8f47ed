/**
 * The envelope of one payload of `telemetry_payloads.ts`: event type `telemetry`, the session,
 * prompt, tool and subagent ids lifted from the record's attributes (the ids the hooks see, so a
 * session's telemetry sits beside its hook events), a one-line summary in `msg`, and the whole
 * payload, redacted, in `data`. Redaction runs over the payload before anything is derived from
 * it, exactly as for a hook payload.
 *
 * @module
 */
import { type Level, LIMITS } from "../../../shared/contract.ts";
import type { Event } from "../../../shared/schema.ts";
import { type EventContext, sealEvent, type SealOptions, UNKNOWN_SESSION } from "../envelope.ts";
import { clip } from "../message_templates.ts";
import { identifier } from "../_util.ts";

type Json = Record<string, unknown>;

function attributesOf(data: Json): Json {
  const value = data.attributes;
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value as Json : {};
}

/** The record's attribute, or else the resource's (a session id may sit on either). */
function attribute(data: Json, key: string): unknown {
  const resource = data.resource as Json | undefined;
  return attributesOf(data)[key] ?? resource?.[key];
}

function shown(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value) ?? "";
}

function number(value: unknown): number | undefined {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof n === "number" && Number.isFinite(n) ? n : undefined;
}

function usd(value: unknown): string | undefined {
  const n = number(value);
  return n === undefined ? undefined : `$${n.toFixed(n < 0.01 ? 6 : 4)}`;
}

function parts(...items: (string | undefined | false)[]): string {
  return items.filter((item): item is string => typeof item === "string" && item !== "")
    .join(", ");
}

/** Summaries of Claude Code's log events, by name without the `claude_code.` prefix. */
const LOG_SUMMARIES: Readonly<Record<string, (a: Json) => string>> = {
  api_request: (a) =>
    `API request ${shown(a.model ?? "")}: ` + parts(
      number(a.input_tokens) !== undefined && `${a.input_tokens} in`,
      number(a.output_tokens) !== undefined && `${a.output_tokens} out`,
      number(a.cache_read_tokens) ? `${a.cache_read_tokens} cache read` : undefined,
      number(a.cache_creation_tokens) ? `${a.cache_creation_tokens} cache write` : undefined,
      usd(a.cost_usd),
      number(a.duration_ms) !== undefined && `${a.duration_ms} ms`,
      number(a.ttft_ms) !== undefined && `first token ${a.ttft_ms} ms`,
    ),
  api_error: (a) =>
    `API error ${shown(a.model ?? "")}: ${shown(a.error ?? "")}` +
    (a.status_code === undefined ? "" : ` (status ${shown(a.status_code)})`),
  tool_result: (a) =>
    `Tool ${shown(a.tool_name ?? "?")} ${String(a.success) === "true" ? "succeeded" : "failed"}` +
    (number(a.duration_ms) === undefined ? "" : ` in ${a.duration_ms} ms`),
  tool_decision: (a) =>
    `Tool ${shown(a.tool_name ?? "?")} ${shown(a.decision ?? "decided")}` +
    (a.source === undefined ? "" : ` (${shown(a.source)})`),
  user_prompt: (a) =>
    `User prompt` + (a.prompt_length === undefined ? "" : ` (${shown(a.prompt_length)} chars)`),
  assistant_response: (a) =>
    `Assistant response` +
    (a.response_length === undefined ? "" : ` (${shown(a.response_length)} chars)`),
  subagent_completed: (a) =>
    `Subagent ${shown(a.agent_type ?? "")} completed: ` + parts(
      number(a.total_tool_uses) !== undefined && `${a.total_tool_uses} tool uses`,
      number(a.total_tokens) !== undefined && `${a.total_tokens} tokens`,
      number(a.duration_ms) !== undefined && `${a.duration_ms} ms`,
    ),
  hook_execution_start: (a) => `Hook ${shown(a.hook_name ?? a.hook_event ?? "")} started`,
  hook_execution_complete: (a) =>
    `Hook ${shown(a.hook_name ?? a.hook_event ?? "")} completed` +
    (number(a.total_duration_ms) === undefined ? "" : ` in ${a.total_duration_ms} ms`),
  mcp_server_connection: (a) =>
    `MCP server ${shown(a.server_name ?? "")} ${shown(a.status ?? "")}`.trimEnd(),
};

/** Log events that say little about the work: kept at debug level. */
const DEBUG_LOGS = new Set([
  "hook_execution_start",
  "hook_execution_complete",
  "hook_registered",
  "plugin_loaded",
  "managed_settings_resolved",
]);

function shortName(name: string): string {
  return name.startsWith("claude_code.") ? name.slice("claude_code.".length) : name;
}

/** The one-line summary of a payload. */
export function telemetrySummary(data: Json): string {
  const name = typeof data.name === "string" ? data.name : "telemetry";
  if (data.signal === "metric") {
    const value = data.value;
    const shownValue = typeof value === "number" || typeof value === "string"
      ? String(value)
      : JSON.stringify(value);
    const a = attributesOf(data);
    const detail = parts(
      typeof a.model === "string" ? a.model : undefined,
      typeof a.type === "string" ? a.type : undefined,
    );
    return `${name} ${data.temporality === "cumulative" ? "=" : "+"}${shownValue}` +
      (typeof data.unit === "string" ? ` ${data.unit}` : "") + (detail ? ` (${detail})` : "");
  }
  const summary = LOG_SUMMARIES[shortName(name)];
  return summary ? summary(attributesOf(data)) : name;
}

/** The level of a payload: OTLP's severity when given, else by what the record tells. */
export function telemetryLevel(data: Json): Level {
  const severity = number(data.severity_number);
  if (severity !== undefined && severity >= 17) return "error";
  if (severity !== undefined && severity >= 13) return "warn";
  if (data.signal === "metric") return "debug";
  const name = shortName(typeof data.name === "string" ? data.name : "");
  if (name === "api_error") return "error";
  if (name === "tool_result" && String(attributesOf(data).success) === "false") return "warn";
  if (DEBUG_LOGS.has(name)) return "debug";
  return "info";
}

/** The envelope of one telemetry payload (see the module doc). */
export async function telemetryEvent(
  payload: Readonly<Json>,
  context: EventContext,
  options: SealOptions,
): Promise<Event> {
  const redacted = options.redactor.redact(payload);
  const data = redacted.value as Json;
  const now = options.now ?? Date.now();
  const summary = clip(telemetrySummary(data), LIMITS.msgChars);
  return await sealEvent({
    ...context,
    session_id: identifier(data.session_id) ?? identifier(attribute(data, "session.id")) ??
      context.session_id ??
      UNKNOWN_SESSION,
    event_type: "telemetry",
    level: telemetryLevel(data),
    prompt_id: identifier(attribute(data, "prompt.id")),
    tool_name: identifier(attribute(data, "tool_name")),
    tool_use_id: identifier(attribute(data, "tool_use_id")),
    agent_id: identifier(attribute(data, "agent_id")) ?? context.agent_id,
    msg: summary,
    indexable_text: summary,
    data,
  }, { ...options, now: happenedAt(data, now), dataRedactedBy: redacted.rules });
}

/** Records older or newer than this against the relay's clock keep the time they arrived. */
const PLAUSIBLE_MS = 24 * 60 * 60 * 1000;

/**
 * When the record says it happened (its `time`), so that a session's API requests sort among
 * its hook events rather than at the export (up to seconds later); `now` when it has no time or
 * one a day or more away from the relay's clock.
 */
function happenedAt(data: Json, now: number): number {
  const time = typeof data.time === "string" ? Date.parse(data.time) : NaN;
  return Number.isFinite(time) && Math.abs(time - now) < PLAUSIBLE_MS ? time : now;
}
