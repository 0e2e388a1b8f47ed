/**
 * The `usage` envelope of one API response: model, message id and the four token counts, with
 * the response's time as `ts`. Nothing else of the transcript goes in (no text, no tool input or
 * output). Built by the same pipeline as every hook event (`sealEvent`: redaction, size cap,
 * hash), then given a DETERMINISTIC `event_id`: a UUID v7 whose time is `ts` and whose other bits
 * come from a hash of what the event says. Reading the same lines again (a crash between the
 * spool append and the saved position, a rotated file read from the start) therefore makes the
 * very same event, which the bridge stores once.
 *
 * @module
 */
import { type EventContext, sealEvent, type SealOptions } from "../envelope.ts";
import { canonicalJson, sha256Hex } from "../../../shared/ids.ts";
import type { Event } from "../../../shared/schema.ts";
import { TOKEN_FIELDS } from "../../../shared/usage/tokens.ts";
import type { TranscriptKind, UsageData } from "../../../shared/usage/usage_event.ts";
import type { MessageUsage } from "./transcript_line.ts";

/** The context of a usage event: run, session, project, worker, subagent, source. */
export type UsageContext = EventContext & { session_id: string };

/** Options of {@linkcode usageEvent}. */
export interface UsageEventOptions extends SealOptions {
  transcript: TranscriptKind;
}

const HEX = /^[0-9a-f]{64}$/;

/**
 * A UUID v7 for `unixMs` whose remaining 74 bits are taken from `digest` (64 hex characters)
 * instead of chance: the same inputs always give the same id, and the id still sorts by time.
 */
export function deterministicUuidV7(unixMs: number, digest: string): string {
  if (!Number.isSafeInteger(unixMs) || unixMs < 0 || unixMs >= 2 ** 48 || !HEX.test(digest)) {
    throw new RangeError("Cannot make a UUID v7: need a 48-bit ms time and a SHA-256 hex digest");
  }
  const time = unixMs.toString(16).padStart(12, "0");
  const variant = ((parseInt(digest[3]!, 16) & 0x3) | 0x8).toString(16);
  return `${time.slice(0, 8)}-${time.slice(8)}-7${digest.slice(0, 3)}-${variant}${
    digest.slice(4, 7)
  }-${digest.slice(7, 19)}`;
}

/** The usage event of one response, sealed, with its deterministic `event_id`. */
export async function usageEvent(
  message: MessageUsage,
  context: UsageContext,
  options: UsageEventOptions,
): Promise<Event> {
  const data: UsageData = {
    model: message.model,
    message_id: message.message_id,
    ...(message.request_id ? { request_id: message.request_id } : {}),
    input_tokens: message.input_tokens,
    output_tokens: message.output_tokens,
    cache_creation_input_tokens: message.cache_creation_input_tokens,
    cache_read_input_tokens: message.cache_read_input_tokens,
    transcript: options.transcript,
  };
  const msg = `Usage of ${message.model}: ${message.input_tokens} in, ${message.output_tokens} ` +
    `out, ${message.cache_creation_input_tokens} cache write, ` +
    `${message.cache_read_input_tokens} cache read`;
  const tsMs = message.ts_ms ?? options.now ?? Date.now();
  const event = await sealEvent({
    ...context,
    event_type: "usage",
    level: "info",
    msg,
    data: data as unknown as Record<string, unknown>,
  }, { ...options, now: tsMs });
  // From the sealed (redacted) values, so the id matches what the bridge will see.
  const sealed = event.data as unknown as UsageData;
  const identity: Record<string, unknown> = {
    ts: event.ts,
    session_id: event.session_id,
    project_id: event.project_id,
    worker_id: event.worker_id,
    agent_id: event.agent_id,
    model: sealed.model,
    message_id: sealed.message_id,
  };
  for (const field of TOKEN_FIELDS) identity[field] = sealed[field];
  event.event_id = deterministicUuidV7(
    Date.parse(event.ts),
    await sha256Hex(canonicalJson(identity)),
  );
  return event;
}
