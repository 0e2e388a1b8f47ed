/**
 * `relay/quarantine.jsonl`: spool lines that are not envelopes (not JSON, not an object, or a
 * torn last line of a closed segment). They are set aside so the rest of the spool ships. One
 * line per spool line: `{"at", "segment", "offset", "reason", "line"}`; `line` is cut to
 * {@linkcode QUARANTINE_LINE_CHARS} (it came from the spool, so it is already redacted).
 *
 * @module
 */
import { appendJsonl } from "./append_jsonl.ts";

/** How much of a bad line is kept. */
export const QUARANTINE_LINE_CHARS = 16_384;

/** One bad spool line. */
export interface QuarantinedLine {
  /** The file it came from. */
  segment: string;
  /** Its byte offset there. */
  offset: number;
  reason: string;
  /** Its text (cut here to {@linkcode QUARANTINE_LINE_CHARS}). */
  line: string;
}

/** Appends bad lines to the quarantine file at `path`, durably. */
export async function appendQuarantine(
  path: string,
  lines: readonly QuarantinedLine[],
  nowMs: number = Date.now(),
): Promise<void> {
  const at = new Date(nowMs).toISOString();
  await appendJsonl(
    path,
    lines.map(({ segment, offset, reason, line }) => ({
      at,
      segment,
      offset,
      reason,
      line: line.length > QUARANTINE_LINE_CHARS ? line.slice(0, QUARANTINE_LINE_CHARS) : line,
    })),
  );
}
