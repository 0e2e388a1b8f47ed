/**
 * The saved reading position of each transcript, under `$ZO_LOG_DIR/usage/transcripts/`, one
 * small JSON file per transcript path (named by a hash of the path). Keyed by path, not by
 * session: a resumed session that goes on writing the same transcript, even under a new session
 * id, continues from where the last reading stopped.
 *
 * Saved durably: written to a temporary file, flushed to disk, then renamed over the old one, so
 * a crash leaves either the old position or the new one, never a torn file.
 *
 * @module
 */
import { sha256Hex } from "../../../shared/ids.ts";
import { DIR_MODE, FILE_MODE } from "../spool.ts";
import type { TranscriptCursor } from "./transcript_reader.ts";
import { readText, UnsafePathError } from "../safe_open.ts";
import { isWholeNumber } from "../_util.ts";

/** The directory of the saved positions, relative to the log dir. */
export const TRANSCRIPTS_DIR = "usage/transcripts";

/** What is kept for one transcript. */
export interface TranscriptState extends TranscriptCursor {
  /** The transcript's path, as the hook payload gave it. */
  path: string;
  /** When it was last saved, Unix ms. */
  saved_ms: number;
  /** Set once an error event said the transcript cannot be read, so it is said only once. */
  reported?: string;
}

/** The file that keeps the position of `transcriptPath`. */
export async function statePath(logDir: string, transcriptPath: string): Promise<string> {
  return `${logDir}/${TRANSCRIPTS_DIR}/${(await sha256Hex(transcriptPath)).slice(0, 32)}.json`;
}

/** The saved state of `transcriptPath`; undefined when none (or an unreadable one) is saved. */
export async function loadTranscriptState(
  logDir: string,
  transcriptPath: string,
): Promise<TranscriptState | undefined> {
  let text: string;
  try {
    // Never through a link, never blocking on a FIFO: a file planted here counts as none.
    text = await readText(await statePath(logDir, transcriptPath));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof UnsafePathError) return undefined;
    throw error;
  }
  try {
    const value = JSON.parse(text);
    if (
      value?.path === transcriptPath && isWholeNumber(value.offset) &&
      typeof value.head === "string"
    ) {
      return value as TranscriptState;
    }
  } catch {
    // A file this code did not write: start over (dedupe keeps the counts right).
  }
  return undefined;
}

/** Saves `state` durably (see the module doc). */
export async function saveTranscriptState(logDir: string, state: TranscriptState): Promise<void> {
  const path = await statePath(logDir, state.path);
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  const bytes = new TextEncoder().encode(JSON.stringify(state) + "\n");
  let file: Deno.FsFile;
  try {
    file = await Deno.open(tmp, { write: true, createNew: true, mode: FILE_MODE });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    await Deno.mkdir(`${logDir}/${TRANSCRIPTS_DIR}`, { recursive: true, mode: DIR_MODE });
    file = await Deno.open(tmp, { write: true, createNew: true, mode: FILE_MODE });
  }
  try {
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await file.sync();
  } catch (error) {
    file.close();
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
  file.close();
  await Deno.rename(tmp, path);
}
