/**
 * Reads a spool in order, in batches, for the relay (and for replays): only whole lines (an open
 * segment up to its last "\n"), corrupt lines set aside to the quarantine, and a checkpoint that
 * moves only over what was shipped. Reading runs ahead of the checkpoint: later segments ship
 * while an earlier one is still open, and several batches may be in flight; the checkpoint is the
 * low-water mark, so after a crash the relay ships again from there (at-least-once).
 *
 * @module
 */
import { isSegmentClosed, listSegments, segmentPath } from "../spool.ts";
import { type Checkpoint, comparePositions } from "./checkpoint.ts";
import { openExisting } from "../safe_open.ts";
import type { QuarantinedLine } from "./quarantine.ts";
import { repairStrings } from "../../../shared/well_formed.ts";

/** Where a reader finds its files: a live spool, or a directory or file being replayed. */
export interface SpoolSource {
  /** The files, oldest first (names sort chronologically). */
  list(): Promise<string[]>;
  /** Absolute path of file `name`. */
  path(name: string): string;
  /** True when nobody appends to `name` any more (its torn last line is then corrupt). */
  isClosed(name: string, nowMs: number): boolean;
}

/** The live spool of a log dir: `spool/<segment>.jsonl`, closed by the segment rules. */
export function logDirSource(logDir: string): SpoolSource {
  return {
    list: () => listSegments(logDir),
    path: (name) => segmentPath(logDir, name),
    isClosed: (name, nowMs) => isSegmentClosed(name, nowMs),
  };
}

/** One envelope line of the spool. */
export interface SpoolLine {
  segment: string;
  /** Byte offset of the line in its segment. */
  offset: number;
  /** The line without its "\n": the envelope's JSON, sent as is. */
  text: string;
  /** UTF-8 bytes of `text`. */
  bytes: number;
}

/** What one {@linkcode SpoolReader.next} call read. */
export interface SpoolBatch {
  /** Order of the batch; batches are committed in this order. */
  seq: number;
  /** The envelopes to ship (may be empty when only bad lines or segment ends were read). */
  lines: SpoolLine[];
  /** Total UTF-8 bytes of the lines, "\n" included. */
  bytes: number;
  /** Bad lines met on the way (already written to the quarantine by the caller's choice). */
  quarantined: QuarantinedLine[];
  /** Per segment touched, the read offset after this batch. */
  ranges: { segment: string; to: number }[];
}

/** Options of {@linkcode SpoolReader}. */
export interface SpoolReaderOptions {
  /** Most events per batch; default 500. */
  maxEvents?: number;
  /** Most bytes per batch (a single larger line still makes a batch alone); default 1 MiB. */
  maxBytes?: number;
  /** Clock, for segment closing; default `Date.now`. */
  now?: () => number;
}

/** Default batch size in events. */
export const DEFAULT_BATCH_EVENTS = 500;
/** Default batch size in bytes. */
export const DEFAULT_BATCH_BYTES = 1024 * 1024;
/** A line longer than this is not an envelope (envelopes are at most 256 KB): quarantined. */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

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

/**
 * A cursor over a spool. `next()` reads the next batch; `commit(batch)` (in `seq` order, after
 * the batch is shipped or dead-lettered) returns the checkpoint to persist.
 */
export class SpoolReader {
  #source: SpoolSource;
  #checkpoint: Checkpoint;
  #maxEvents: number;
  #maxBytes: number;
  #now: () => number;
  #decoder = new TextDecoder("utf-8", { fatal: true });
  /** Read-ahead offsets, per segment at or after the checkpoint. */
  #readTo = new Map<string, number>();
  /** Committed (shipped) offsets, per segment. */
  #shipped = new Map<string, number>();
  /** Segments read to their end while closed: their final size. */
  #finished = new Map<string, number>();
  #known: string[] = [];
  #nextSeq = 0;
  #nextCommit = 0;

  constructor(source: SpoolSource, checkpoint: Checkpoint, options: SpoolReaderOptions = {}) {
    this.#source = source;
    this.#checkpoint = { ...checkpoint };
    this.#maxEvents = options.maxEvents ?? DEFAULT_BATCH_EVENTS;
    this.#maxBytes = options.maxBytes ?? DEFAULT_BATCH_BYTES;
    this.#now = options.now ?? Date.now;
    if (!(this.#maxEvents >= 1) || !(this.#maxBytes >= 1)) {
      throw new RangeError("Cannot read a spool: batches need at least 1 event and 1 byte");
    }
  }

  /** The committed position: everything before it is shipped. */
  get checkpoint(): Checkpoint {
    return { ...this.#checkpoint };
  }

  /** True while some batch was read but not committed. */
  get pending(): boolean {
    return this.#nextCommit < this.#nextSeq;
  }

  /**
   * Files that are closed and wholly shipped (before the checkpoint, or its own file read and
   * shipped to the end), each returned once so the caller can delete it. Uses the listing of
   * the last {@linkcode next} call.
   */
  takeShippedFiles(): string[] {
    const { segment, offset } = this.#checkpoint;
    // The checkpoint's own file is done too once it is finished and shipped to its end.
    const done = (name: string) =>
      name < segment || (name === segment && this.#finished.get(name) === offset);
    const shipped = this.#known.filter(done);
    if (shipped.length > 0) this.#known = this.#known.filter((name) => !done(name));
    return shipped;
  }

  /**
   * True when the source holds something {@linkcode next} would read: bytes past a read offset,
   * a new file, or a closed file not yet read to its end.
   */
  async hasUnread(): Promise<boolean> {
    const nowMs = this.#now();
    for (const name of await this.#source.list()) {
      if (name < this.#checkpoint.segment || this.#finished.has(name)) continue;
      const start = this.#readTo.get(name) ??
        (name === this.#checkpoint.segment ? this.#checkpoint.offset : 0);
      try {
        if ((await Deno.stat(this.#source.path(name))).size > start) return true;
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) continue;
        throw error;
      }
      if (this.#source.isClosed(name, nowMs)) return true;
    }
    return false;
  }

  /**
   * Reads the next batch: up to `maxEvents` envelopes or `maxBytes`, across files. Undefined
   * when nothing new was read and no file was newly finished (the spool is drained for now).
   */
  async next(): Promise<SpoolBatch | undefined> {
    const nowMs = this.#now();
    this.#known = await this.#source.list();
    const batch: SpoolBatch = {
      seq: this.#nextSeq,
      lines: [],
      bytes: 0,
      quarantined: [],
      ranges: [],
    };
    let changed = false;
    for (const name of this.#known) {
      if (name < this.#checkpoint.segment || this.#finished.has(name)) continue;
      // Closedness is decided before reading: whatever a closed file holds was written already.
      const closed = this.#source.isClosed(name, nowMs);
      const start = this.#readTo.get(name) ??
        (name === this.#checkpoint.segment ? this.#checkpoint.offset : 0);
      const read = await this.#readFile(name, start, closed, batch);
      if (read.to !== start) {
        this.#readTo.set(name, read.to);
        batch.ranges.push({ segment: name, to: read.to });
        changed = true;
      }
      if (read.full) break;
      if (read.ended && closed) {
        this.#finished.set(name, read.to);
        changed = true;
      }
    }
    if (!changed) return undefined;
    this.#nextSeq++;
    return batch;
  }

  /**
   * Marks a batch shipped and returns the new checkpoint (persist it durably before deleting
   * files). Batches must be committed in the order {@linkcode next} returned them.
   */
  commit(batch: SpoolBatch): Checkpoint {
    if (batch.seq !== this.#nextCommit) {
      throw new RangeError(
        `Cannot commit batch ${batch.seq}: batch ${this.#nextCommit} must be committed first`,
      );
    }
    this.#nextCommit++;
    for (const { segment, to } of batch.ranges) this.#shipped.set(segment, to);
    this.#advance();
    return this.checkpoint;
  }

  /** Moves the checkpoint over files that are finished and wholly shipped. */
  #advance(): void {
    let next = this.#checkpoint;
    for (const name of this.#known) {
      if (name < next.segment) continue;
      const shipped = this.#shipped.get(name) ??
        (name === this.#checkpoint.segment ? this.#checkpoint.offset : 0);
      const end = this.#finished.get(name);
      next = { segment: name, offset: shipped };
      if (end === undefined || shipped < end) break;
    }
    if (comparePositions(next, this.#checkpoint) <= 0) return;
    this.#checkpoint = next;
    for (const map of [this.#readTo, this.#shipped, this.#finished]) {
      for (const name of map.keys()) if (name < next.segment) map.delete(name);
    }
  }

  /**
   * Reads whole lines of `name` from `start` into `batch` until the batch is full or the file
   * ends. `to` is the offset after the last line taken; `ended` says the file was read to its
   * end (a closed file's torn tail counts as read, quarantined).
   */
  async #readFile(
    name: string,
    start: number,
    closed: boolean,
    batch: SpoolBatch,
  ): Promise<{ to: number; full: boolean; ended: boolean }> {
    let file: Deno.FsFile;
    try {
      // Never through a link, never blocking on a FIFO swapped in since the listing.
      file = await openExisting(this.#source.path(name), { read: true });
    } catch (error) {
      // Dropped by the spool bound (or a person) since the listing: nothing left to read.
      if (error instanceof Deno.errors.NotFound) return { to: start, full: false, ended: true };
      throw error;
    }
    try {
      if (start > 0) await file.seek(start, Deno.SeekMode.Start);
      let pos = start;
      let carry = new Uint8Array(0);
      /** Set while skipping the rest of an over-long line (already quarantined). */
      let skipping = false;
      while (true) {
        const chunk = new Uint8Array(CHUNK_BYTES);
        const n = await file.read(chunk);
        if (n === null) break;
        let buf = chunk.subarray(0, n);
        if (carry.length > 0) {
          const joined = new Uint8Array(carry.length + n);
          joined.set(carry);
          joined.set(buf, carry.length);
          buf = joined;
        }
        let from = 0;
        while (true) {
          const nl = buf.indexOf(NEWLINE, from);
          if (nl < 0) break;
          if (skipping) {
            skipping = false;
          } else {
            const taken = this.#take(name, pos, buf.subarray(from, nl), batch);
            if (!taken) return { to: pos, full: true, ended: false };
          }
          pos += nl - from + 1;
          from = nl + 1;
        }
        carry = buf.slice(from);
        if (!skipping && carry.length > MAX_LINE_BYTES) {
          batch.quarantined.push({
            segment: name,
            offset: pos,
            reason: `line longer than ${MAX_LINE_BYTES} bytes`,
            line: new TextDecoder().decode(carry.subarray(0, 4096)),
          });
          skipping = true;
        }
        if (skipping) {
          pos += carry.length;
          carry = new Uint8Array(0);
        }
      }
      if (carry.length > 0 || skipping) {
        // A line without its "\n": still being written in an open file, torn in a closed one.
        if (!closed) return { to: pos, full: false, ended: false };
        if (carry.length > 0) {
          batch.quarantined.push({
            segment: name,
            offset: pos,
            reason: "torn line: no newline at the end of a closed segment",
            line: new TextDecoder().decode(carry.subarray(0, 4096)),
          });
          pos += carry.length;
        }
      }
      return { to: pos, full: false, ended: true };
    } finally {
      file.close();
    }
  }

  /** Adds one line to the batch; false (nothing added) when the batch is full. */
  #take(name: string, offset: number, raw: Uint8Array, batch: SpoolBatch): boolean {
    const bytes = raw.length + 1;
    if (
      batch.lines.length >= this.#maxEvents ||
      (batch.lines.length > 0 && batch.bytes + bytes > this.#maxBytes)
    ) {
      return false;
    }
    if (raw.length > MAX_LINE_BYTES) {
      batch.quarantined.push({
        segment: name,
        offset,
        reason: `line longer than ${MAX_LINE_BYTES} bytes`,
        line: new TextDecoder().decode(raw.subarray(0, 4096)),
      });
      return true;
    }
    let text: string;
    try {
      text = this.#decoder.decode(raw);
    } catch {
      batch.quarantined.push({
        segment: name,
        offset,
        reason: "not UTF-8",
        line: new TextDecoder().decode(raw.subarray(0, 4096)),
      });
      return true;
    }
    if (text.trim() === "") return true; // a blank line holds no event
    const problem = lineProblem(text);
    if (problem !== undefined) {
      batch.quarantined.push({ segment: name, offset, reason: problem, line: text });
      return true;
    }
    batch.lines.push({
      segment: name,
      offset,
      text: wellFormedLine(deadLetteredEnvelope(text) ?? text),
      bytes: raw.length,
    });
    batch.bytes += bytes;
    return true;
  }
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
