/**
 * The backlog of a log dir: what the spool holds past the relay's checkpoint (events recorded
 * but not yet acknowledged by the bridge), for doctor.
 *
 * @module
 */
import { readCheckpoint } from "../../hooks/pipeline/relay/checkpoint.ts";
import { LAYOUT, listSegments, segmentPath, segmentStartMs } from "../../hooks/pipeline/spool.ts";

/** Unshipped events of a spool. */
export interface Backlog {
  events: number;
  bytes: number;
  /** The oldest segment with unshipped events, and the start of its time window. */
  oldestSegment?: string;
  oldestMs?: number;
  /** Lines in `relay/dead_letter.jsonl`: events the bridge refused as invalid. */
  deadLetters: number;
}

/** Counts the newlines and bytes of `path` from byte `offset` on. */
async function countFrom(path: string, offset: number): Promise<{ lines: number; bytes: number }> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { lines: 0, bytes: 0 };
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

/** Measures the backlog of `logDir` (an empty one when the log dir does not exist). */
export async function measureBacklog(logDir: string): Promise<Backlog> {
  const checkpoint = await readCheckpoint(`${logDir}/${LAYOUT.checkpointFile}`);
  const backlog: Backlog = { events: 0, bytes: 0, deadLetters: 0 };
  for (const name of await listSegments(logDir)) {
    // Shipped segments are deleted; a name before the checkpoint's may hold lines written after
    // the clock went back, so every segment present counts.
    const offset = name === checkpoint.segment ? checkpoint.offset : 0;
    const { lines, bytes } = await countFrom(segmentPath(logDir, name), offset);
    if (bytes === 0) continue;
    backlog.events += lines;
    backlog.bytes += bytes;
    if (backlog.oldestSegment === undefined) {
      backlog.oldestSegment = name;
      backlog.oldestMs = segmentStartMs(name);
    }
  }
  backlog.deadLetters = (await countFrom(`${logDir}/${LAYOUT.deadLetterFile}`, 0)).lines;
  return backlog;
}
