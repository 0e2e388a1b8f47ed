/**
 * The shape of a `usage` event's `data` (one API response: model, message id and the four token
 * counts), which the VM's usage collector writes and the bridge's usage records read. The VM
 * builds these events in `hooks/pipeline/usage/usage_event_builder.ts`.
 *
 * @module
 */
import type { Event } from "../schema.ts";
import { TOKEN_FIELDS } from "./tokens.ts";

/** Which transcript a response was read from. */
export type TranscriptKind = "main" | "subagent";

/** `data` of a usage event. */
export interface UsageData {
  model: string;
  message_id: string;
  request_id?: string;
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  transcript: TranscriptKind;
}

/** The usage `data` of an envelope, if it is a well-formed usage event; else undefined. */
export function usageDataOf(event: Pick<Event, "event_type" | "data">): UsageData | undefined {
  if (event.event_type !== "usage" || event.data === undefined) return undefined;
  const data = event.data as Record<string, unknown>;
  if (typeof data.model !== "string" || data.model === "") return undefined;
  if (typeof data.message_id !== "string" || data.message_id === "") return undefined;
  for (const field of TOKEN_FIELDS) {
    const value = data[field];
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) return undefined;
  }
  return data as unknown as UsageData;
}
