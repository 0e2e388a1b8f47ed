/**
 * `POST /ingest`: reads the body (`../ingest_body.ts`), validates each envelope
 * (`parseEvent()`), refuses a request with events of another project than the key's, hands the
 * valid events to the group committer and answers once they are durable; then publishes the
 * stored ones to the live feed.
 *
 * @module
 */
import { parseEvent } from "../../shared/schema.ts";
import type { Event } from "../../shared/schema.ts";
import { HttpError, jsonResponse } from "../errors.ts";
import { QueueFullError } from "../group_commit.ts";
import { readIngestBody } from "../ingest_body.ts";
import { principalOf, type RouteContext } from "./route.ts";

/** The response body of `POST /ingest`. */
export interface IngestSummary {
  accepted: number;
  duplicates: number;
  /**
   * The events not stored, by index in the request: invalid ones, and (`reason: "store_refused"`)
   * those Chroma refused on their own while the rest of their group write was stored.
   */
  rejected: { index: number; error: string; reason?: "store_refused" }[];
}

const MAX_ERROR_CHARS = 1_000;

/** `text`, cut to a length an answer may carry. */
export function clipError(text: string): string {
  return text.length <= MAX_ERROR_CHARS ? text : `${text.slice(0, MAX_ERROR_CHARS)}…`;
}

/** The handler of `POST /ingest`. */
export async function ingestRoute(ctx: RouteContext): Promise<Response> {
  const { metrics, limits, budget, committer, live, redaction } = ctx.deps;
  const principal = principalOf(ctx);
  const note = ctx.note;
  let items;
  try {
    items = await readIngestBody(ctx.req, limits, { budget, owner: principal.name });
  } catch (error) {
    if (error instanceof HttpError) {
      metrics.rejected(error.reason === "too_large" ? "too_large" : "malformed", 1);
    }
    throw error;
  }
  const rejected: IngestSummary["rejected"] = [];
  const valid: Event[] = [];
  /** The index in the request of each valid event. */
  const validAt: number[] = [];
  items.forEach((item, index) => {
    if (!item.ok) {
      rejected.push({ index, error: item.error });
      return;
    }
    const parsed = parseEvent(item.value);
    if (parsed.ok) {
      valid.push(parsed.event);
      validAt.push(index);
    } else rejected.push({ index, error: clipError(parsed.error) });
  });
  const malformedCount = items.filter((item) => !item.ok).length;
  metrics.rejected("malformed", malformedCount);
  metrics.rejected("invalid", rejected.length - malformedCount);
  note.events = items.length;

  if (principal.projectId !== undefined) {
    const foreign = valid.filter((event) => event.project_id !== principal.projectId);
    if (foreign.length > 0) {
      metrics.rejected("forbidden_project", items.length);
      throw new HttpError(
        "forbidden_project",
        `Cannot ingest: key ${principal.name} may only write events of project "${principal.projectId}", and ${foreign.length} events here have another or no project_id; nothing was stored`,
        {
          details: {
            reason: "forbidden_project",
            project_id: principal.projectId,
            event_ids: foreign.slice(0, 10).map((event) => event.event_id),
          },
        },
      );
    }
  }
  if (redaction) {
    // The second line: what an older or misconfigured VM let through is not stored. An event
    // the markers push over a schema limit is refused rather than stored as it came.
    const kept: Event[] = [];
    const keptAt: number[] = [];
    let found = 0;
    for (const [i, event] of valid.entries()) {
      const result = await redaction.redact(event);
      if (result.rules.length === 0) {
        kept.push(event);
        keptAt.push(validAt[i]!);
        continue;
      }
      found++;
      metrics.redactedAtIngest(result.rules);
      const again = parseEvent(result.event);
      if (again.ok) {
        kept.push(again.event);
        keptAt.push(validAt[i]!);
      } else {
        rejected.push({
          index: validAt[i]!,
          error: clipError(
            `Cannot store an event with a secret the bridge could not redact in place: ${again.error}`,
          ),
        });
        metrics.rejected("invalid", 1);
      }
    }
    valid.splice(0, valid.length, ...kept);
    validAt.splice(0, validAt.length, ...keptAt);
    if (found > 0) note.redacted = found;
  }
  if (valid.length === 0) {
    note.rejected = rejected.length;
    return jsonResponse({
      error: `Cannot ingest: all ${items.length} events are invalid`,
      reason: "invalid",
      accepted: 0,
      duplicates: 0,
      rejected,
    }, { status: 400 });
  }

  let outcomes;
  try {
    outcomes = await committer.submit(valid);
  } catch (error) {
    metrics.rejected(
      error instanceof QueueFullError ? "queue_full" : "store_unavailable",
      valid.length,
    );
    throw error;
  }
  let accepted = 0;
  let refused = 0;
  const stored: Event[] = [];
  outcomes.forEach((outcome, i) => {
    if (outcome === "stored") {
      accepted++;
      metrics.ingested(valid[i]!.event_type);
      stored.push(valid[i]!);
    } else if (outcome !== "duplicate") {
      refused++;
      rejected.push({
        index: validAt[i]!,
        error: clipError(`Cannot store the event: ${outcome.refused}`),
        reason: "store_refused",
      });
    }
  });
  if (refused > 0) {
    metrics.rejected("store_refused", refused);
    rejected.sort((a, b) => a.index - b.index);
  }
  // Durable now: live followers see it (duplicates were published when first stored).
  live.publish(stored);
  metrics.claudeCode(stored);
  const duplicates = valid.length - accepted - refused;
  metrics.duplicates(duplicates);
  Object.assign(note, { accepted, duplicates, rejected: rejected.length });
  if (accepted === 0 && duplicates === 0) {
    // Nothing of this request is stored: a 400 the relay dead-letters, never a 5xx.
    const onlyRefused = rejected.every((r) => r.reason === "store_refused");
    return jsonResponse({
      error: `Cannot ingest: none of the ${items.length} events could be stored`,
      reason: onlyRefused ? "store_refused" : "invalid",
      accepted,
      duplicates,
      rejected,
    }, { status: 400 });
  }
  return jsonResponse({ accepted, duplicates, rejected } satisfies IngestSummary);
}
