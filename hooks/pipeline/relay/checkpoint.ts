/**
 * The relay's position in the spool: `{"segment": "<name>", "offset": <bytes>, "ino": <inode>}`,
 * meaning every line before that byte of that file is shipped. For a replay every file named
 * before it is shipped too; not for the live spool, whose names come from a clock that may have
 * gone back (there shipped segments are deleted instead). The inode tells a file deleted and
 * created again under the same name from the one the offset was counted in. Written
 * durably (tmp file, fsync, rename, fsync of the directory), so a crash leaves either the old or
 * the new checkpoint, never a torn one, and a 2xx that advanced it is never forgotten.
 *
 * @module
 */
import { ensureDir, FILE_MODE } from "../spool.ts";
import { readText, tmpPathFor } from "../safe_open.ts";
import { isWholeNumber } from "../_util.ts";

/** A position in a spool. */
export interface Checkpoint {
  /** File name of a segment (or, for a replay, of any `.jsonl` file). */
  segment: string;
  /** Byte offset in it: the start of the first line not shipped yet. */
  offset: number;
  /** Inode of that file when the offset was counted; absent in older checkpoints. */
  ino?: number;
  /**
   * The live spool's other files partly shipped, each with where it resumes: a clock gone back
   * names files out of order, and one position cannot cover them all.
   */
  others?: Position[];
}

/** Where one file resumes. */
export type Position = Omit<Checkpoint, "others">;

function isPosition(value: unknown): value is Position {
  const p = value as Partial<Position> | undefined;
  return typeof p?.segment === "string" && !p.segment.includes("/") &&
    isWholeNumber(p.offset) &&
    (p.ino === undefined || Number.isSafeInteger(p.ino));
}

/** The start of a spool: before every segment. */
export const SPOOL_START: Checkpoint = Object.freeze({ segment: "", offset: 0 });

/** Compares two positions: negative when `a` is before `b`. */
export function comparePositions(a: Checkpoint, b: Checkpoint): number {
  if (a.segment !== b.segment) return a.segment < b.segment ? -1 : 1;
  return a.offset - b.offset;
}

/**
 * Reads the checkpoint at `path`; {@linkcode SPOOL_START} when there is none yet. A file that is
 * not a checkpoint throws, rather than silently reshipping (or skipping) a whole spool.
 */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  let text: string;
  try {
    // A link or FIFO planted here is refused, never followed (nor blocked on).
    text = await readText(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { ...SPOOL_START };
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const candidate = parsed as Partial<Checkpoint> | undefined;
  const others = candidate?.others;
  if (
    !isPosition(candidate) ||
    (others !== undefined && !(Array.isArray(others) && others.every(isPosition)))
  ) {
    throw new SyntaxError(
      `Cannot read checkpoint ${path}: expected {"segment": "<file>", "offset": <bytes>}; ` +
        "delete it to ship the spool again from the start",
    );
  }
  const position = (p: Position): Position =>
    p.ino === undefined
      ? { segment: p.segment, offset: p.offset }
      : { segment: p.segment, offset: p.offset, ino: p.ino };
  return others?.length
    ? { ...position(candidate), others: others.map(position) }
    : position(candidate);
}

/**
 * Replaces the checkpoint at `path` durably: writes a temporary file of a unique name, created
 * exclusively (so a link planted at a guessable `.tmp` name is never followed or truncated),
 * fsyncs it, renames it over `path` and fsyncs the directory, so the rename survives a power cut.
 */
export async function writeCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  const tmp = tmpPathFor(path);
  const options = { write: true, createNew: true, mode: FILE_MODE };
  let file: Deno.FsFile;
  try {
    file = await Deno.open(tmp, options);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    await ensureDir(path.slice(0, path.lastIndexOf("/")) || "/");
    file = await Deno.open(tmp, options);
  }
  try {
    let bytes = new TextEncoder().encode(JSON.stringify(checkpoint) + "\n");
    while (bytes.length > 0) bytes = bytes.subarray(await file.write(bytes));
    await file.sync();
  } catch (error) {
    file.close();
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
  file.close();
  await Deno.rename(tmp, path);
  await syncDirectory(path.slice(0, path.lastIndexOf("/")) || "/");
}

/** Fsyncs a directory, so renames and unlinks in it are on disk. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}
