/**
 * The spool's disk bound (`ZO_SPOOL_MAX_MB`): when the spool outgrows it, the oldest closed
 * segments go, shipped or not; what was lost unshipped is counted in `spool/dropped.json` (under
 * an exclusive lock) and, when asked, reported by an error event in the spool itself.
 *
 * @module
 */
import { type EventContext, sealEvent, UNKNOWN_SESSION } from "./envelope.ts";
import type { Checkpoint } from "./relay/checkpoint.ts";
import { openExisting, openOrCreateSync } from "./safe_open.ts";
import type { Redactor } from "../../shared/redact.ts";
import type { Event } from "../../shared/schema.ts";
import {
  appendToSpool,
  FILE_MODE,
  isSegmentClosed,
  LAYOUT,
  listSegments,
  removeSegmentLocked,
  segmentPath,
} from "./spool.ts";

const encoder = new TextEncoder();

/** What the spool bound dropped in one pass. */
export interface SpoolDrop {
  /** Segments deleted, oldest first. */
  segments: string[];
  /** Events in them the relay had not shipped yet (lost). */
  events: number;
  /** Bytes of those unshipped events. */
  bytes: number;
  /** Bytes freed on disk, shipped events included. */
  freedBytes: number;
  /** The error event that reported the drop, when one was appended. */
  event?: Event;
}

/** Totals kept in `spool/dropped.json`. */
export interface DroppedTotals {
  dropped_events_total: number;
  dropped_bytes_total: number;
  dropped_segments_total: number;
  /** ISO time of the last drop. */
  last_drop_at: string;
}

/** How to report a drop as an event (see {@linkcode spoolDropEvent}). */
export interface DropReport {
  context: EventContext;
  redactor: Redactor;
  maxEventBytes?: number;
}

/** Options of {@linkcode enforceSpoolBound}. */
export interface BoundOptions {
  nowMs?: number;
  windowMs?: number;
  /** When set and something unshipped was dropped, an error event reports it in the spool. */
  report?: DropReport;
}

async function readCheckpoint(logDir: string): Promise<Checkpoint | undefined> {
  try {
    const path = `${logDir}/${LAYOUT.checkpointFile}`;
    const file = await openExisting(path, { read: true });
    const parsed = JSON.parse(await new Response(file.readable).text());
    if (typeof parsed?.segment === "string" && Number.isSafeInteger(parsed?.offset)) {
      const ino = Number.isSafeInteger(parsed?.ino) ? parsed.ino as number : undefined;
      return { segment: parsed.segment, offset: parsed.offset, ino };
    }
  } catch {
    // No relay has shipped anything yet (or the file is torn): everything counts as unshipped.
  }
  return undefined;
}

/** Lines and bytes of a segment from `offset` on: the events a drop loses. */
async function unshippedIn(file: Deno.FsFile, offset: number): Promise<[number, number]> {
  // Read by hand: `file.readable` would close the file, and with it the lock held on it.
  const chunks: Uint8Array[] = [];
  let length = 0;
  await file.seek(0, Deno.SeekMode.Start);
  while (true) {
    const chunk = new Uint8Array(1024 * 1024);
    const n = await file.read(chunk);
    if (n === null) break;
    chunks.push(chunk.subarray(0, n));
    length += n;
  }
  const bytes = new Uint8Array(length);
  chunks.reduce((at, chunk) => (bytes.set(chunk, at), at + chunk.length), 0);
  let lines = 0;
  for (let i = offset; i < bytes.length; i++) if (bytes[i] === 0x0a) lines++;
  // A torn last line without "\n" is an event too.
  if (bytes.length > offset && bytes[bytes.length - 1] !== 0x0a) lines++;
  return [lines, Math.max(0, bytes.length - offset)];
}

/**
 * Keeps `spool/*.jsonl` within `maxBytes`: while above it, deletes the oldest CLOSED segment
 * (segments still written to are never deleted, so the bound can be exceeded by at most the open
 * segments, about two windows of events). Counts what was lost (events after the relay's
 * checkpoint), adds it to `spool/dropped.json`, and with `options.report` appends an error event
 * saying so. Safe to run from a hook and the relay at once: a segment deleted by the other is
 * not counted twice. The relay's reader must move past a checkpoint whose segment is gone.
 */
export async function enforceSpoolBound(
  logDir: string,
  maxBytes: number,
  options: BoundOptions = {},
): Promise<SpoolDrop> {
  const nowMs = options.nowMs ?? Date.now();
  const drop: SpoolDrop = { segments: [], events: 0, bytes: 0, freedBytes: 0 };
  const segments: { name: string; size: number }[] = [];
  let total = 0;
  for (const name of await listSegments(logDir)) {
    try {
      const size = (await Deno.stat(segmentPath(logDir, name))).size;
      segments.push({ name, size });
      total += size;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  if (total <= maxBytes) return drop;

  const checkpoint = await readCheckpoint(logDir);
  for (const { name, size } of segments) {
    if (total <= maxBytes || !isSegmentClosed(name, nowMs, options.windowMs)) break;
    let lost: [number, number] = [0, 0];
    // Counted under the lock that holds appends off, so a line written meanwhile is counted.
    // Every segment present counts from its start but the checkpoint's own: shipped segments
    // are deleted, and a name says nothing of what was shipped (the clock may have gone back).
    const removed = await removeSegmentLocked(segmentPath(logDir, name), async (info, file) => {
      const own = checkpoint?.segment === name &&
        (checkpoint.ino === undefined || checkpoint.ino === info.ino);
      lost = await unshippedIn(file, own ? Math.min(checkpoint.offset, info.size) : 0);
      return undefined;
    });
    if (!removed || !("removed" in removed)) continue; // the other side dropped it
    total -= size;
    drop.segments.push(name);
    drop.events += lost[0];
    drop.bytes += lost[1];
    drop.freedBytes += removed.removed.size;
  }

  if (drop.segments.length > 0) {
    await recordDrop(logDir, drop, nowMs);
    if (options.report && drop.events > 0) {
      drop.event = await spoolDropEvent(drop, options.report, nowMs);
      appendToSpool(logDir, JSON.stringify(drop.event), {
        nowMs,
        windowMs: options.windowMs,
      });
    }
  }
  return drop;
}

const NO_DROPS: DroppedTotals = {
  dropped_events_total: 0,
  dropped_bytes_total: 0,
  dropped_segments_total: 0,
  last_drop_at: "",
};

function parseTotals(text: string): DroppedTotals {
  try {
    const parsed = JSON.parse(text);
    return {
      dropped_events_total: Number(parsed.dropped_events_total) || 0,
      dropped_bytes_total: Number(parsed.dropped_bytes_total) || 0,
      dropped_segments_total: Number(parsed.dropped_segments_total) || 0,
      last_drop_at: typeof parsed.last_drop_at === "string" ? parsed.last_drop_at : "",
    };
  } catch {
    return { ...NO_DROPS };
  }
}

/** The totals of `spool/dropped.json`; zeros when nothing was ever dropped. */
export async function readDroppedTotals(logDir: string): Promise<DroppedTotals> {
  let file: Deno.FsFile;
  try {
    file = await openExisting(`${logDir}/${LAYOUT.droppedFile}`, { read: true });
  } catch {
    return { ...NO_DROPS };
  }
  try {
    await file.lock(false);
    return parseTotals(await new Response(file.readable).text());
  } finally {
    try {
      file.close();
    } catch {
      // the readable closed it already
    }
  }
}

/**
 * Adds a drop to `spool/dropped.json` under an exclusive lock: a hook and the relay may drop at
 * the same moment, and neither count may be lost.
 */
async function recordDrop(logDir: string, drop: SpoolDrop, nowMs: number): Promise<void> {
  // Never through a link planted at the path (it would be truncated), never blocking on a FIFO.
  const { file } = openOrCreateSync(`${logDir}/${LAYOUT.droppedFile}`, {
    read: true,
    write: true,
    mode: FILE_MODE,
  });
  try {
    await file.lock(true);
    const size = (await file.stat()).size;
    const bytes = new Uint8Array(size);
    let read = 0;
    while (read < size) {
      const n = await file.read(bytes.subarray(read));
      if (n === null) break;
      read += n;
    }
    const totals = parseTotals(new TextDecoder().decode(bytes.subarray(0, read)));
    totals.dropped_events_total += drop.events;
    totals.dropped_bytes_total += drop.bytes;
    totals.dropped_segments_total += drop.segments.length;
    totals.last_drop_at = new Date(nowMs).toISOString();
    const out = encoder.encode(JSON.stringify(totals) + "\n");
    await file.truncate(0);
    await file.seek(0, Deno.SeekMode.Start);
    let written = 0;
    while (written < out.length) written += await file.write(out.subarray(written));
  } finally {
    file.close();
  }
}

/**
 * The error event that reports a drop: no `hook_event_name`, msg "spool full: N events
 * dropped", data `{dropped_events, dropped_bytes, reason}`.
 */
export async function spoolDropEvent(
  drop: Pick<SpoolDrop, "events" | "bytes" | "segments">,
  report: DropReport,
  nowMs: number = Date.now(),
): Promise<Event> {
  const reason =
    `spool above ZO_SPOOL_MAX_MB: deleted the oldest ${drop.segments.length} segment(s) ` +
    `(${drop.segments[0] ?? ""}${drop.segments.length > 1 ? ` .. ${drop.segments.at(-1)}` : ""})`;
  const msg = `spool full: ${drop.events} events dropped`;
  return await sealEvent({
    session_id: UNKNOWN_SESSION,
    ...report.context,
    event_type: "error",
    level: "error",
    msg,
    indexable_text: `${msg}. ${reason}`,
    error_detail: { type: "spool_full", message: reason },
    data: { dropped_events: drop.events, dropped_bytes: drop.bytes, reason },
  }, { redactor: report.redactor, maxEventBytes: report.maxEventBytes, now: nowMs });
}
