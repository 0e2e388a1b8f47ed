/**
 * Which bridge wrote an event record, and when in its own order: every `events` record carries
 * its writer's id (`writer`) and a write sequence number (`write_seq`), so that several bridges
 * on one Chroma can tell whose add of an event landed (Chroma keeps the first add of an id and
 * silently ignores the rest), and so that a bridge can find what any bridge stored since a point
 * (the shared live feed, a recount after a crash).
 *
 * A sequence number is the wall clock in microseconds, raised past the last one handed out: it
 * only grows within a process (a clock stepped back does not make it repeat), and numbers from
 * different bridges are close to the time of their writes (so "what was stored in the last few
 * seconds, by anyone" is a range on it). 2^53 µs is year 2255: the numbers stay exact doubles.
 *
 * @module
 */

/** Metadata key of the writer's id on an `events` record. */
export const WRITER_KEY = "writer";
/** Metadata key of the write sequence number on an `events` record. */
export const WRITE_SEQ_KEY = "write_seq";

/** What one write call stamps on every record it adds. */
export interface WriterStamp {
  /** The bridge's id (`ZO_BRIDGE_ID`). */
  writer: string;
  /** This write's sequence number: larger than any this bridge handed out before. */
  seq: number;
}

/** Longest writer id kept: a Chroma metadata value, and one label of a bridge in logs. */
const MAX_WRITER_CHARS = 128;

/** Hands out the stamps of one bridge's writes. */
export class WriteSequence {
  readonly writer: string;
  #last = 0;
  readonly #now: () => number;

  /** `now` gives the wall clock in ms (tests pass their own). */
  constructor(writer: string, options: { now?: () => number } = {}) {
    if (writer === "" || writer.length > MAX_WRITER_CHARS || !writer.isWellFormed()) {
      throw new RangeError(
        `Cannot use writer id "${
          writer.slice(0, 40)
        }": it must be 1-${MAX_WRITER_CHARS} characters`,
      );
    }
    this.writer = writer;
    this.#now = options.now ?? Date.now;
  }

  /** The next stamp: its `seq` is larger than every earlier one. */
  next(): WriterStamp {
    const clock = Math.floor(this.#now() * 1_000);
    this.#last = Math.max(clock, this.#last + 1);
    return { writer: this.writer, seq: this.#last };
  }

  /** The sequence number of the wall clock `ms` (to read "stored since then" ranges). */
  static seqAt(ms: number): number {
    return Math.floor(ms * 1_000);
  }
}

/** A writer id for a bridge that was given none: random, so two bridges never share one. */
export function randomWriterId(): string {
  return `bridge-${crypto.randomUUID().slice(0, 8)}`;
}
