/**
 * Reads the usage out of a transcript from a saved position on. Only complete lines are read: a
 * last line without its "\n" (Claude Code still writing it) is left for the next reading, and the
 * position never moves past it. A file that shrank below the position (truncated) or whose first
 * bytes changed (rotated: replaced by another file) is read again from the start; the
 * max-per-field rule and deterministic event ids keep the counts right when that re-reads
 * responses already reported.
 *
 * @module
 */
import { sha256Hex } from "../../../shared/ids.ts";
import { foldUsage, type MessageUsage, usageOfLine } from "./transcript_line.ts";

/** Bytes at the start of a transcript whose hash tells the same file from a replaced one. */
export const HEAD_BYTES = 4096;
/** Bytes read per call. */
export const CHUNK_BYTES = 1024 * 1024;

/** Where reading a transcript resumes: the byte after the last complete line read. */
export interface TranscriptCursor {
  offset: number;
  /** SHA-256 (hex) of the first `min(offset, HEAD_BYTES)` bytes when the cursor was saved. */
  head: string;
}

/** What one reading found. */
export interface TranscriptRead {
  /** One per API response seen in the lines read, in order of first appearance. */
  messages: MessageUsage[];
  /** Where the next reading starts. */
  cursor: TranscriptCursor;
  /** Set when the saved position no longer fitted the file and reading began at 0. */
  restarted?: "truncated" | "rotated";
  /** Complete lines read. */
  lines: number;
}

const decoder = new TextDecoder();

async function readFully(file: Deno.FsFile, into: Uint8Array): Promise<number> {
  let filled = 0;
  while (filled < into.length) {
    const n = await file.read(into.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return filled;
}

/** The hash of the first `bytes` bytes of `file` (fewer if it is shorter). Moves its position. */
async function headHash(file: Deno.FsFile, bytes: number): Promise<string> {
  await file.seek(0, Deno.SeekMode.Start);
  const head = new Uint8Array(bytes);
  const n = await readFully(file, head);
  return await sha256Hex(head.subarray(0, n));
}

/**
 * Reads the complete lines of `path` from `from` (default: the start) and folds their usage by
 * message id. Throws what opening or reading the file throws (NotFound, NotCapable, ...).
 */
export async function readTranscriptUsage(
  path: string,
  from?: TranscriptCursor,
  options: { chunkBytes?: number } = {},
): Promise<TranscriptRead> {
  using file = await Deno.open(path, { read: true });
  const size = (await file.stat()).size;
  let offset = from?.offset ?? 0;
  let restarted: TranscriptRead["restarted"];
  if (from !== undefined && offset > 0) {
    if (size < offset) restarted = "truncated";
    else if (await headHash(file, Math.min(HEAD_BYTES, offset)) !== from.head) {
      restarted = "rotated";
    }
    if (restarted) offset = 0;
  }
  await file.seek(offset, Deno.SeekMode.Start);

  const messages = new Map<string, MessageUsage>();
  const chunk = options.chunkBytes ?? CHUNK_BYTES;
  // One growing buffer: bytes [start, end) are unread; a line longer than a chunk grows it
  // instead of being copied over and over.
  let buffer = new Uint8Array(chunk);
  let start = 0;
  let end = 0;
  let scanned = 0;
  let lines = 0;
  while (true) {
    if (end === buffer.length) {
      if (start > 0) {
        buffer.copyWithin(0, start, end);
        end -= start;
        scanned -= start;
        start = 0;
      }
      if (end === buffer.length) {
        const bigger = new Uint8Array(buffer.length * 2);
        bigger.set(buffer.subarray(0, end));
        buffer = bigger;
      }
    }
    const n = await file.read(buffer.subarray(end, Math.min(buffer.length, end + chunk)));
    if (n === null) break;
    end += n;
    let newline = buffer.indexOf(0x0a, scanned);
    while (newline !== -1 && newline < end) {
      const line = decoder.decode(buffer.subarray(start, newline));
      offset += newline + 1 - start;
      start = newline + 1;
      lines++;
      const usage = usageOfLine(line);
      if (usage !== undefined) foldUsage(messages, usage);
      newline = buffer.indexOf(0x0a, start);
    }
    scanned = end;
  }

  const head = from !== undefined && restarted === undefined && from.offset >= HEAD_BYTES
    ? from.head
    : await headHash(file, Math.min(HEAD_BYTES, offset));
  const read: TranscriptRead = {
    messages: [...messages.values()],
    cursor: { offset, head },
    lines,
  };
  if (restarted) read.restarted = restarted;
  return read;
}
