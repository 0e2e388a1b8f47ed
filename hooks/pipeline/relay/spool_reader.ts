/**
 * Reads a spool in order, in batches, for the relay (and for replays): only whole lines (an open
 * segment up to its last "\n"), corrupt lines set aside to the quarantine, and a checkpoint that
 * moves only over what was shipped. Reading runs ahead of the checkpoint: later segments ship
 * while an earlier one is still open, and several batches may be in flight; the checkpoint is the
 * low-water mark, so after a crash the relay ships again from there (at-least-once).
 *
 * @module
 */
import { type Checkpoint, comparePositions } from "./checkpoint.ts";
import { openExisting } from "../safe_open.ts";
import type { QuarantinedLine } from "./quarantine.ts";
import { deadLetteredEnvelope, lineProblem, wellFormedLine } from "./spool_line.ts";
import type { SpoolSource } from "./spool_source.ts";

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
  /** Per segment touched, the read offset after this batch (and which file of that name). */
  ranges: { segment: string; to: number; generation?: number }[];
}

/** Options of {@linkcode SpoolReader}. */
export interface SpoolReaderOptions {
  /** Most events per batch; default 500. */
  maxEvents?: number;
  /** Most bytes per batch (a single larger line still makes a batch alone); default 1 MiB. */
  maxBytes?: number;
  /** Clock, for segment closing; default `Date.now`. */
  now?: () => number;
  /**
   * Told when the checkpoint's offset cannot be trusted (past its file's end, inside a line, or
   * another file of that name): the file is then read again from its start.
   */
  onBadCheckpoint?: (reason: string) => void;
}

/** A closed file read and shipped to its end, for the caller to delete. */
export interface ShippedFile {
  name: string;
  /** Its size when read to the end: a larger file got late lines and must not be deleted. */
  size: number;
  /** Its inode then: another inode under that name is another file. */
  ino?: number;
}

/** Default batch size in events. */
export const DEFAULT_BATCH_EVENTS = 500;
/** Default batch size in bytes. */
export const DEFAULT_BATCH_BYTES = 1024 * 1024;
/** A line longer than this is not an envelope (envelopes are at most 256 KB): quarantined. */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

/**
 * A cursor over a spool. `next()` reads the next batch; `commit(batch)` (in `seq` order, after
 * the batch is shipped or dead-lettered) returns the checkpoint to persist.
 *
 * For a clock-named source (the live spool) names give the reading order only, never what was
 * shipped: a segment named before the checkpoint (written after the clock went back) is read
 * like any other, and a file is done only once it was read to its end while closed and shipped
 * to that end. The caller deletes done files ({@linkcode SpoolReader.takeShippedFiles}) and says
 * which are gone ({@linkcode SpoolReader.forget}).
 */
export class SpoolReader {
  #source: SpoolSource;
  #checkpoint: Checkpoint;
  /** The checkpoint the reader started from, until its file is first opened and checked. */
  #resume = new Map<string, { offset: number; ino?: number }>();
  #clockNamed: boolean;
  #maxEvents: number;
  #maxBytes: number;
  #now: () => number;
  #onBadCheckpoint: (reason: string) => void;
  #decoder = new TextDecoder("utf-8", { fatal: true });
  /** Read-ahead offsets, per file being read. */
  #readTo = new Map<string, number>();
  /** Committed (shipped) offsets, per file. */
  #shipped = new Map<string, number>();
  /** Files read to their end while closed: their final size. */
  #finished = new Map<string, number>();
  /** Inode of each file when last opened: another file under that name starts afresh. */
  #ino = new Map<string, number>();
  /** Bumped when a file is replaced, so batches read from the old one commit nothing of it. */
  #generation = new Map<string, number>();
  #known: string[] = [];
  #nextSeq = 0;
  #nextCommit = 0;

  constructor(source: SpoolSource, checkpoint: Checkpoint, options: SpoolReaderOptions = {}) {
    this.#source = source;
    this.#checkpoint = { ...checkpoint };
    for (const { segment, offset, ino } of [checkpoint, ...(checkpoint.others ?? [])]) {
      if (segment !== "") this.#resume.set(segment, { offset, ino });
    }
    this.#clockNamed = source.clockNamed === true;
    this.#maxEvents = options.maxEvents ?? DEFAULT_BATCH_EVENTS;
    this.#maxBytes = options.maxBytes ?? DEFAULT_BATCH_BYTES;
    this.#now = options.now ?? Date.now;
    this.#onBadCheckpoint = options.onBadCheckpoint ?? (() => {});
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

  /** True when `name` sorts before the checkpoint and is therefore shipped (ordered sources). */
  #behind(name: string): boolean {
    return !this.#clockNamed && name < this.#checkpoint.segment;
  }

  /** Where reading `name` starts (or started): its read offset, the checkpoint's, or 0. */
  #startOf(name: string): number {
    return this.#readTo.get(name) ?? this.#resume.get(name)?.offset ?? 0;
  }

  /**
   * Files that are closed and wholly shipped, each returned once so the caller can delete them
   * (and then {@linkcode forget} them). Uses the listing of the last {@linkcode next} call.
   */
  takeShippedFiles(): ShippedFile[] {
    const { segment, offset } = this.#checkpoint;
    const done = (name: string) => {
      const end = this.#finished.get(name);
      if (end !== undefined && this.#shipped.get(name) === end) return true;
      // An ordered source's files before the checkpoint are shipped, its own once finished.
      return !this.#clockNamed &&
        (name < segment || (name === segment && this.#finished.get(name) === offset));
    };
    const shipped = this.#known.filter(done);
    if (shipped.length > 0) this.#known = this.#known.filter((name) => !done(name));
    return shipped.map((name) => {
      const ino = this.#ino.get(name);
      const size = this.#finished.get(name) ?? 0;
      return ino === undefined ? { name, size } : { name, size, ino };
    });
  }

  /**
   * Drops what the reader knows of files that are gone (deleted once shipped): a file created
   * later under one of these names is new, read from its start.
   */
  forget(names: readonly string[]): void {
    for (const name of names) this.#reset(name);
  }

  /** Files the caller kept because they grew after being read to the end: read on from there. */
  reopen(names: readonly string[]): void {
    for (const name of names) this.#finished.delete(name);
  }

  #reset(name: string): void {
    for (const map of [this.#readTo, this.#shipped, this.#finished, this.#ino]) map.delete(name);
    this.#generation.set(name, (this.#generation.get(name) ?? 0) + 1);
    this.#resume.delete(name);
  }

  /**
   * True when the source holds something {@linkcode next} would read: bytes past a read offset,
   * a new file, or a closed file not yet read to its end.
   */
  async hasUnread(): Promise<boolean> {
    const nowMs = this.#now();
    for (const name of await this.#source.list()) {
      if (this.#behind(name)) continue;
      let size: number;
      try {
        size = (await Deno.stat(this.#source.path(name))).size;
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) continue;
        throw error;
      }
      const finished = this.#finished.get(name);
      if (finished !== undefined) {
        if (size !== finished) return true; // late lines, or another file of that name
        continue;
      }
      if (size !== this.#startOf(name)) return true;
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
      if (this.#behind(name) || this.#finished.has(name)) continue;
      // Closedness is decided before reading: whatever a closed file holds was written already.
      const closed = this.#source.isClosed(name, nowMs);
      const read = await this.#readFile(name, closed, batch);
      if (read.opened) this.#readTo.set(name, read.to);
      if (read.to !== read.from || read.restarted) {
        batch.ranges.push({ segment: name, to: read.to, generation: this.#generation.get(name) });
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
    for (const { segment, to, generation } of batch.ranges) {
      // Read from a file since replaced: its offsets mean nothing in the new one.
      if (generation !== this.#generation.get(segment)) continue;
      this.#shipped.set(segment, to);
    }
    this.#advance();
    return this.checkpoint;
  }

  /**
   * Moves the checkpoint to the first file (by name) not wholly shipped, at its shipped offset;
   * when every file is, to the end of the last. An ordered source's checkpoint only moves on.
   */
  #advance(): void {
    let next = this.#checkpoint;
    for (const name of this.#known) {
      if (this.#behind(name) && name < next.segment) continue;
      const shipped = this.#shipped.get(name) ??
        (this.#readTo.has(name) ? 0 : this.#startOf(name));
      const end = this.#finished.get(name);
      next = this.#position(name, shipped);
      if (end === undefined || shipped < end) break;
    }
    if (this.#clockNamed) {
      // One position cannot cover files whose names are out of order: every other file partly
      // shipped keeps its offset too, so a restart does not ship it again from its start.
      const others = this.#known.flatMap((name) => {
        const shipped = this.#shipped.get(name) ??
          (this.#readTo.has(name) ? 0 : this.#startOf(name));
        const done = this.#finished.get(name) === shipped;
        return name === next.segment || done || shipped === 0
          ? []
          : [this.#position(name, shipped)];
      });
      if (others.length > 0) next = { ...next, others };
      if (JSON.stringify(next) !== JSON.stringify(this.#checkpoint)) this.#checkpoint = next;
      return;
    }
    if (comparePositions(next, this.#checkpoint) <= 0) return;
    this.#checkpoint = next;
    for (const map of [this.#readTo, this.#shipped, this.#finished]) {
      for (const name of map.keys()) if (name < next.segment) map.delete(name);
    }
  }

  /** `name` at `offset`, with its inode when known. */
  #position(name: string, offset: number): Checkpoint {
    const ino = this.#ino.get(name) ?? this.#resume.get(name)?.ino;
    return ino === undefined ? { segment: name, offset } : { segment: name, offset, ino };
  }

  /**
   * Where to start reading the opened file `name`: its read offset, unless the file was
   * replaced or truncated since (then 0, afresh); on first sight the checkpoint's offset when
   * it is its file and is sound (within the file, at a line start, same inode), else 0.
   */
  async #startIn(name: string, file: Deno.FsFile): Promise<{ start: number; restarted: boolean }> {
    const info = await file.stat();
    const readTo = this.#readTo.get(name);
    const ino = this.#ino.get(name);
    if (readTo !== undefined) {
      if ((ino === undefined || info.ino === null || info.ino === ino) && info.size >= readTo) {
        return { start: readTo, restarted: false };
      }
      // Deleted and created again (the spool bound, a clock gone back), or truncated.
      this.#reset(name);
      if (info.ino !== null) this.#ino.set(name, info.ino);
      return { start: 0, restarted: true };
    }
    if (info.ino !== null) this.#ino.set(name, info.ino);
    const resume = this.#resume.get(name);
    if (!resume) return { start: 0, restarted: false };
    this.#resume.delete(name);
    let problem: string | undefined;
    if (resume.ino !== undefined && info.ino !== null && resume.ino !== info.ino) {
      problem = "the file under that name is another one";
    } else if (resume.offset > info.size) {
      problem = `the offset lies past its end (${info.size} bytes)`;
    } else if (resume.offset > 0) {
      const before = new Uint8Array(1);
      await file.seek(resume.offset - 1, Deno.SeekMode.Start);
      if ((await file.read(before)) !== 1 || before[0] !== NEWLINE) {
        problem = "the offset lies inside a line";
      }
    }
    if (problem === undefined) {
      this.#shipped.set(name, resume.offset);
      return { start: resume.offset, restarted: false };
    }
    this.#onBadCheckpoint(
      `Cannot resume ${name} at byte ${resume.offset}: ${problem}; reading it again from its ` +
        "start (the bridge keeps each event once)",
    );
    this.#shipped.set(name, 0);
    return { start: 0, restarted: true };
  }
  /**
   * Reads whole lines of `name` from `start` into `batch` until the batch is full or the file
   * ends. `to` is the offset after the last line taken; `ended` says the file was read to its
   * end (a closed file's torn tail counts as read, quarantined).
   */
  async #readFile(
    name: string,
    closed: boolean,
    batch: SpoolBatch,
  ): Promise<
    { from: number; to: number; full: boolean; ended: boolean; restarted: boolean; opened: boolean }
  > {
    let file: Deno.FsFile;
    try {
      // Never through a link, never blocking on a FIFO swapped in since the listing.
      file = await openExisting(this.#source.path(name), { read: true });
    } catch (error) {
      // Dropped by the spool bound (or a person) since the listing: nothing left to read.
      if (error instanceof Deno.errors.NotFound) {
        const at = this.#startOf(name);
        return { from: at, to: at, full: false, ended: true, restarted: false, opened: false };
      }
      throw error;
    }
    try {
      const { start, restarted } = await this.#startIn(name, file);
      const done = (to: number, full: boolean, ended: boolean) => ({
        from: start,
        to,
        full,
        ended,
        restarted,
        opened: true,
      });
      await file.seek(start, Deno.SeekMode.Start);
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
            if (!taken) return done(pos, true, false);
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
        if (!closed) return done(pos, false, false);
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
      return done(pos, false, true);
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
