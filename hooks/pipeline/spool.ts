/**
 * The spool: the local, append-only JSONL log of sealed envelopes under `$ZO_LOG_DIR`, written by
 * hooks (and the relay's http-hook endpoint) and read by the relay. This module is the contract
 * between both sides: the layout, segment naming and the one-write append (the disk bound is
 * `spool_bound.ts`).
 *
 * Layout under the log dir (files 0600, directories 0700):
 * - `spool/<YYYYMMDDTHHMMSSZ>.jsonl`: segments named by the UTC start of their time window by the
 *   VM's clock (lexicographic = chronological while the clock is right; the relay never trusts a
 *   name to say what was shipped); one line = one envelope + "\n", written by ONE append, under
 *   a shared `flock` that holds a deletion off.
 * - `spool/dropped.json`: totals of what the spool bound dropped ({@linkcode DroppedTotals}),
 *   updated under an exclusive lock (flock).
 * - `relay/checkpoint.json`, `relay/dead_letter.jsonl`, `relay/quarantine.jsonl`,
 *   `relay/relay.lock`, `relay/heartbeat`, `relay/status.json`: the relay's (see
 *   {@linkcode LAYOUT}).
 * - `runs/<key>`: a session's run id; `agents/<key>`: a subagent's SubagentStart event id.
 *
 * @module
 */
import { openExisting, openOrCreateSync } from "./safe_open.ts";

/** Paths inside the log dir, relative to it. */
export const LAYOUT = {
  spoolDir: "spool",
  droppedFile: "spool/dropped.json",
  relayDir: "relay",
  checkpointFile: "relay/checkpoint.json",
  deadLetterFile: "relay/dead_letter.jsonl",
  quarantineFile: "relay/quarantine.jsonl",
  lockFile: "relay/relay.lock",
  heartbeatFile: "relay/heartbeat",
  statusFile: "relay/status.json",
  runsDir: "runs",
  agentsDir: "agents",
} as const;

/** Length of a segment's time window. */
export const SEGMENT_WINDOW_MS = 60_000;
/** How long after its window ends a segment is still written to (late or slow hooks). */
export const SEGMENT_GRACE_MS = 60_000;
/** How often a running relay refreshes the mtime of `relay/heartbeat`. */
export const HEARTBEAT_INTERVAL_MS = 5_000;
/** A heartbeat older than this means no relay runs for the log dir: a hook starts one. */
export const HEARTBEAT_STALE_MS = 30_000;
/** Mode of the directories the spool creates. */
export const DIR_MODE = 0o700;
/** Mode of the files the spool creates. */
export const FILE_MODE = 0o600;

/** A segment's file name: `YYYYMMDDTHHMMSSZ.jsonl`. */
export const SEGMENT_PATTERN = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.jsonl$/;

/** The name of the segment whose window holds `nowMs`, e.g. `20261124T101500Z.jsonl`. */
export function segmentName(nowMs: number, windowMs: number = SEGMENT_WINDOW_MS): string {
  if (!Number.isFinite(nowMs) || !(windowMs >= 1000) || windowMs % 1000 !== 0) {
    throw new RangeError(
      `Cannot name a segment: time ${nowMs} and window ${windowMs} ms (whole seconds) are needed`,
    );
  }
  const start = Math.floor(nowMs / windowMs) * windowMs;
  // 2026-11-24T10:15:00.000Z -> 20261124T101500Z
  return new Date(start).toISOString().slice(0, 19).replace(/[-:]/g, "") + "Z.jsonl";
}

/** The Unix millisecond start of a segment's window, or undefined when `name` is no segment. */
export function segmentStartMs(name: string): number | undefined {
  const m = SEGMENT_PATTERN.exec(name);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * True when no hook writes to segment `name` any more: its window ended more than
 * {@linkcode SEGMENT_GRACE_MS} before `nowMs`. Only closed segments may be deleted.
 */
export function isSegmentClosed(
  name: string,
  nowMs: number,
  windowMs: number = SEGMENT_WINDOW_MS,
): boolean {
  const start = segmentStartMs(name);
  return start !== undefined && start + windowMs + SEGMENT_GRACE_MS <= nowMs;
}

/** Absolute path of segment `name` in `logDir`. */
export function segmentPath(logDir: string, name: string): string {
  return `${logDir}/${LAYOUT.spoolDir}/${name}`;
}

/**
 * Deletes `path` under an exclusive lock on it, if `keep` (given the file as it is then) says
 * not to keep it. Appenders hold a shared lock while writing (see {@linkcode appendToSpool}),
 * so `keep` sees every line that will ever be in this file. Returns the file's info at deletion,
 * `"kept"`, or undefined when it was gone already.
 */
export async function removeSegmentLocked<T>(
  path: string,
  keep: (info: Deno.FileInfo, file: Deno.FsFile) => Promise<T | undefined>,
): Promise<{ removed: Deno.FileInfo } | { kept: T } | undefined> {
  let file: Deno.FsFile;
  try {
    file = await openExisting(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  try {
    await file.lock(true);
    const info = await file.stat();
    if (info.nlink === 0) return undefined; // deleted by the other side meanwhile
    const kept = await keep(info, file);
    if (kept !== undefined) return { kept };
    try {
      await Deno.remove(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
    return { removed: info };
  } finally {
    file.close();
  }
}

/** What {@linkcode removeShippedSegment} found. */
export type ShippedRemoval = "gone" | "grown" | "replaced";

/**
 * Deletes segment `name` of `logDir`, read and shipped to `size` bytes of inode `ino`, unless
 * late lines made it grow since (`"grown"`, kept to be read on) or it is another file now
 * (smaller, or another inode: `"replaced"`, kept to be read afresh). Never deletes a line that
 * was not shipped, whatever the clock did to the segment's closing.
 */
export async function removeShippedSegment(
  logDir: string,
  shipped: { name: string; size: number; ino?: number },
): Promise<ShippedRemoval> {
  const outcome = await removeSegmentLocked(segmentPath(logDir, shipped.name), (info) => {
    const other = shipped.ino !== undefined && info.ino !== null && info.ino !== shipped.ino;
    if (other || info.size < shipped.size) return Promise.resolve("replaced" as const);
    return Promise.resolve(info.size > shipped.size ? "grown" as const : undefined);
  });
  return outcome && "kept" in outcome ? outcome.kept : "gone";
}

/** The segments of a spool, oldest first; empty when the spool does not exist yet. */
export async function listSegments(logDir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(`${logDir}/${LAYOUT.spoolDir}`)) {
      if (entry.isFile && SEGMENT_PATTERN.test(entry.name)) names.push(entry.name);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return names.sort();
}

/** Creates `path` and its parents with mode 0700 (the umask cannot widen it). */
export async function ensureDir(path: string): Promise<void> {
  await Deno.mkdir(path, { recursive: true, mode: DIR_MODE });
}

/** Options of {@linkcode appendToSpool}. */
export interface AppendOptions {
  /** The instant that picks the segment; default now. */
  nowMs?: number;
  /** Segment window; default {@linkcode SEGMENT_WINDOW_MS}. */
  windowMs?: number;
}

/** Where {@linkcode appendToSpool} wrote. */
export interface AppendResult {
  segment: string;
  /** True when this append created the segment (the moment to enforce the spool bound). */
  created: boolean;
}

/**
 * Appends one line (an envelope's JSON; "\n" is added when missing) to the current segment, in
 * ONE `write` on a file opened with O_APPEND, so lines of concurrent writers never interleave.
 * Creates the spool directory (0700) and the segment (0600) when missing. Throws when the disk
 * refuses the write; a partial line is then closed with "\n" if possible, so that only it, not
 * the next line, is lost to the relay's quarantine.
 *
 * The file calls are synchronous on purpose: in a short-lived hook process the first async file
 * call costs ~5 ms (thread-pool start), a sync one ~0.5 ms, and a local append does not block.
 */
export function appendToSpool(
  logDir: string,
  line: string,
  options: AppendOptions = {},
): AppendResult {
  const segment = segmentName(options.nowMs ?? Date.now(), options.windowMs);
  const path = segmentPath(logDir, segment);
  const bytes = encoder.encode(line.endsWith("\n") ? line : line + "\n");
  let opened: { file: Deno.FsFile; created: boolean };
  try {
    opened = openOrCreateSync(path, { read: true, append: true, mode: FILE_MODE });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    Deno.mkdirSync(`${logDir}/${LAYOUT.spoolDir}`, { recursive: true, mode: DIR_MODE });
    opened = openOrCreateSync(path, { read: true, append: true, mode: FILE_MODE });
  }
  for (let attempt = 0;; attempt++) {
    const { file, created } = opened;
    try {
      // Shared with other hooks, exclusive against a deletion (removeSegmentLocked): once held,
      // the file is either still linked, and no one deletes it before this write is done, or
      // deleted already, and the line goes to a new file instead of an unlinked one.
      file.lockSync(false);
      if (file.statSync().nlink !== 0 || attempt >= 2) {
        writeOwnLine(file, path, bytes);
        return { segment, created };
      }
    } finally {
      file.close();
    }
    opened = openOrCreateSync(path, { read: true, append: true, mode: FILE_MODE });
  }
}

const encoder = new TextEncoder();
const NEWLINE = new Uint8Array([0x0a]);

/**
 * Appends `bytes` in ONE write, first closing a torn line a failed write left (disk full, file
 * size limit): the new line then starts on a line of its own and only the torn one is lost to
 * the quarantine. A concurrent writer's whole line may land between the look and the write; the
 * extra "\n" is then a blank line, which the reader skips. A short write is an error here, never
 * a second write.
 */
function writeOwnLine(file: Deno.FsFile, path: string, bytes: Uint8Array): void {
  let out = bytes;
  const size = file.statSync().size;
  if (size > 0) {
    const last = new Uint8Array(1);
    file.seekSync(size - 1, Deno.SeekMode.Start);
    if (file.readSync(last) === 1 && last[0] !== 0x0a) {
      out = new Uint8Array(bytes.length + 1);
      out.set(NEWLINE);
      out.set(bytes, 1);
    }
  }
  let written: number;
  try {
    written = file.writeSync(out);
  } catch (error) {
    closeLine(file);
    throw error;
  }
  if (written !== out.length) {
    closeLine(file);
    throw new Deno.errors.WriteZero(
      `Cannot append to ${path}: wrote ${written} of ${out.length} bytes`,
    );
  }
}

/** After a failed write, tries to end the partial line (the next append checks again). */
function closeLine(file: Deno.FsFile): void {
  try {
    file.writeSync(NEWLINE);
  } catch {
    // Still full: the next append starts with "\n" instead.
  }
}
