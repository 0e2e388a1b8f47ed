/**
 * `relay/dead_letter.jsonl`: events the bridge refused as invalid (or too large even alone), kept
 * with the reason so nothing is lost silently and a person can fix and replay them. One line per
 * event: `{"at": iso, "reason": "...", "event": <envelope>}`.
 *
 * @module
 */
import { appendJsonl } from "./append_jsonl.ts";

/** One refused event. */
export interface DeadLetter {
  /** Why the bridge refused it, as the bridge said. */
  reason: string;
  /** The envelope as it was in the spool. */
  event: unknown;
}

/** Appends refused events to the dead-letter file at `path`, durably. */
export async function appendDeadLetters(
  path: string,
  letters: readonly DeadLetter[],
  nowMs: number = Date.now(),
): Promise<void> {
  const at = new Date(nowMs).toISOString();
  await appendJsonl(
    path,
    letters.map(({ reason, event }) => ({ at, reason, event })),
  );
}
