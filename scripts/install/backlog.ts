/**
 * What a log dir holds that has not reached the bridge, for doctor: the backlog (what the spool
 * holds past the relay's checkpoint: recorded, not yet acknowledged) and the dead letters (what
 * the bridge refused, and how much of it no replay has shipped since).
 *
 * @module
 */
import { readCheckpoint } from "../../hooks/pipeline/relay/checkpoint.ts";
import { openExisting, UnsafePathError } from "../../hooks/pipeline/safe_open.ts";
import { LAYOUT, listSegments, segmentPath, segmentStartMs } from "../../hooks/pipeline/spool.ts";
import { replayFiles } from "../replay/replay.ts";

/** Unshipped events of a spool. */
export interface Backlog {
  events: number;
  bytes: number;
  /** The oldest segment with unshipped events, and the start of its time window. */
  oldestSegment?: string;
  oldestMs?: number;
}

/** The dead letters of a log dir: `relay/dead_letter.jsonl`, and its replay. */
export interface DeadLetters {
  /** The dead-letter file. */
  file: string;
  /** Its lines: events the bridge refused (invalid, too large, or of a project the key may not write). */
  total: number;
  /** Lines past the checkpoint of `deno task replay <file>`: all of them when it never ran. */
  pending: number;
  /** The `at` of the first pending line. */
  firstPendingAt?: string;
  /** When the file last changed (the last refusal). */
  lastMs?: number;
}

/** Counts the newlines and bytes of `path` from byte `offset` on. */
async function countFrom(path: string, offset: number): Promise<{ lines: number; bytes: number }> {
  let file: Deno.FsFile;
  try {
    // Never through a link, never blocking on a FIFO (doctor's log dir check names those).
    file = await openExisting(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof UnsafePathError) {
      return { lines: 0, bytes: 0 };
    }
    throw error;
  }
  try {
    if (offset > 0) await file.seek(offset, Deno.SeekMode.Start);
    const buffer = new Uint8Array(64 * 1024);
    let lines = 0;
    let bytes = 0;
    while (true) {
      const read = await file.read(buffer);
      if (read === null) break;
      bytes += read;
      for (let i = 0; i < read; i++) if (buffer[i] === 0x0a) lines++;
    }
    return { lines, bytes };
  } finally {
    file.close();
  }
}

async function mtimeMs(path: string): Promise<number | undefined> {
  try {
    return (await Deno.stat(path)).mtime?.getTime();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Measures the backlog of `logDir` (an empty one when the log dir does not exist). */
export async function measureBacklog(logDir: string): Promise<Backlog> {
  const checkpointFile = `${logDir}/${LAYOUT.checkpointFile}`;
  const checkpoint = await readCheckpoint(checkpointFile);
  const committedMs = await mtimeMs(checkpointFile);
  // Where the relay resumes in each file it shipped part of.
  const offsets = new Map(
    [checkpoint, ...(checkpoint.others ?? [])].map((p) => [p.segment, p.offset] as const),
  );
  const backlog: Backlog = { events: 0, bytes: 0 };
  for (const name of await listSegments(logDir)) {
    const offset = offsets.get(name) ?? 0;
    // A file named before the checkpoint's and in no position was wholly shipped by the last
    // commit (it stays until it closes) unless written to since: a clock gone back names new
    // lines before old ones, so only those count.
    if (
      !offsets.has(name) && name < checkpoint.segment && committedMs !== undefined &&
      (await mtimeMs(segmentPath(logDir, name)) ?? Infinity) <= committedMs
    ) continue;
    const { lines, bytes } = await countFrom(segmentPath(logDir, name), offset);
    if (bytes === 0) continue;
    backlog.events += lines;
    backlog.bytes += bytes;
    if (backlog.oldestSegment === undefined) {
      backlog.oldestSegment = name;
      backlog.oldestMs = segmentStartMs(name);
    }
  }
  return backlog;
}

/** `at` of the line starting at `offset` of `path` (dead-letter lines begin with it). */
async function atOfLine(path: string, offset: number): Promise<string | undefined> {
  const file = await Deno.open(path, { read: true });
  try {
    await file.seek(offset, Deno.SeekMode.Start);
    const head = new Uint8Array(128);
    const read = await file.read(head);
    if (read === null) return undefined;
    const text = new TextDecoder().decode(head.subarray(0, read));
    return /^\{"at":"([^"]{1,40})"/.exec(text)?.[1];
  } finally {
    file.close();
  }
}

/**
 * Counts the dead letters of `logDir`, and those that `deno task replay <file>` has not shipped:
 * past the checkpoint in `<file>.replay/`, the state dir replay keeps beside a file it is given.
 */
export async function measureDeadLetters(logDir: string): Promise<DeadLetters> {
  const file = `${logDir}/${LAYOUT.deadLetterFile}`;
  const name = file.slice(file.lastIndexOf("/") + 1);
  const total = (await countFrom(file, 0)).lines;
  if (total === 0) return { file, total, pending: 0 };
  const replayed = await readCheckpoint(replayFiles(`${file}.replay`).checkpoint);
  const offset = replayed.segment === name ? replayed.offset : 0;
  const pending = (await countFrom(file, offset)).lines;
  const lastMs = (await Deno.stat(file)).mtime?.getTime();
  return {
    file,
    total,
    pending,
    ...(pending > 0 ? { firstPendingAt: await atOfLine(file, offset) } : {}),
    ...(lastMs === undefined ? {} : { lastMs }),
  };
}
