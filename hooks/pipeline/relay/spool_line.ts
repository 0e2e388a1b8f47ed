/**
 * What one spool line holds, as the spool reader checks it: whether it is an envelope (else it
 * goes to the quarantine), its lone surrogates repaired, and the envelope inside a dead-letter
 * line (so a dead-letter file can be replayed as it is).
 *
 * @module
 */
import { repairStrings } from "../../../shared/well_formed.ts";

/** Why a line is not an envelope, or undefined when it is one (a JSON object). */
export function lineProblem(text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `not JSON: ${(error as Error).message}`;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return `not a JSON object: ${
      value === null ? "null" : Array.isArray(value) ? "array" : typeof value
    }`;
  }
  return undefined;
}

/** A surrogate escape in JSON text (`\ud800`...`\udfff`); pairs match too, and are let through. */
const SURROGATE_ESCAPE = /\\u[dD][89abcdefABCDEF]/;

/**
 * `text` with every lone surrogate in its strings repaired to U+FFFD: the bridge refuses such a
 * string, and a line holding one would be retried for ever. Lines written by an older hook (or
 * by hand) can hold one as a JSON escape; only lines holding an escape of a surrogate are parsed.
 */
export function wellFormedLine(text: string): string {
  if (!SURROGATE_ESCAPE.test(text)) return text;
  const value = JSON.parse(text);
  const repaired = repairStrings(value);
  return repaired === value ? text : JSON.stringify(repaired);
}

/**
 * The envelope inside a line of `relay/dead_letter.jsonl` (`{"at", "reason", "event"}`), so a
 * dead-letter file can be replayed as it is once the cause is fixed; undefined for any other line.
 * Envelopes start with `{"event_id"`, so only dead-letter lines are parsed a second time.
 */
export function deadLetteredEnvelope(text: string): string | undefined {
  if (!text.startsWith('{"at":')) return undefined;
  const value = JSON.parse(text) as Record<string, unknown>;
  const event = value.event;
  return typeof value.reason === "string" && event !== null && typeof event === "object" &&
      !Array.isArray(event)
    ? JSON.stringify(event)
    : undefined;
}
