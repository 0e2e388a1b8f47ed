/**
 * Where the spool reader finds its files: the live spool of a log dir here, and (in
 * `scripts/replay/replay.ts`) a directory or file being replayed.
 *
 * @module
 */
import { isSegmentClosed, listSegments, segmentPath } from "../spool.ts";

/** Where a reader finds its files: a live spool, or a directory or file being replayed. */
export interface SpoolSource {
  /** The files, oldest first by name. */
  list(): Promise<string[]>;
  /** Absolute path of file `name`. */
  path(name: string): string;
  /** True when nobody appends to `name` any more (its torn last line is then corrupt). */
  isClosed(name: string, nowMs: number): boolean;
  /**
   * True when names come from the VM's clock, which may jump back: a file named before the
   * checkpoint may hold lines never read, so every file present is read (from the checkpoint's
   * offset for its own file, else from its start) and shipped files must be deleted (the live
   * spool). False or unset: names sort in write order and files named before the checkpoint are
   * shipped (a replay, whose files stay).
   */
  clockNamed?: boolean;
}

/** The live spool of a log dir: `spool/<segment>.jsonl`, closed by the segment rules. */
export function logDirSource(logDir: string): SpoolSource {
  return {
    list: () => listSegments(logDir),
    path: (name) => segmentPath(logDir, name),
    isClosed: (name, nowMs) => isSegmentClosed(name, nowMs),
    clockNamed: true,
  };
}
