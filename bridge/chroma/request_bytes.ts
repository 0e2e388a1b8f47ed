/**
 * How big one add may be: Chroma 1.0.5 answers 413 (Payload Too Large) to an add whose request
 * body reaches 40 MiB, and a group write gets there easily (events of up to 256 KB, up to 1,000
 * a write, coalesced from several clients). Adds are cut by their records' size as well as by
 * their count, so no write is refused for its size.
 *
 * @module
 */

/**
 * Most bytes of records in one add: a fifth of where Chroma 1.0.5 refuses (measured with 128
 * records an add: 39.5 MiB of documents stored, 40 MiB refused with 413), so neither an estimate
 * off by a little nor the JSON around the records comes near it. Cutting costs little: an add of
 * 8 MiB took 0.8 s, one of 30 MiB 1.3 s (the cost per byte dominates at that size).
 */
export const MAX_ADD_BYTES = 8 * 1024 * 1024;

/** The longest a number of a vector takes in JSON, comma included (`-1.2345678901234567e-300,`). */
const BYTES_PER_VECTOR_NUMBER = 25;

const encoder = new TextEncoder();

/** One record of an add, as the request body carries it. */
export interface AddRecord {
  id: string;
  document: string;
  metadata: unknown;
  embedding: readonly number[];
}

/** The bytes `record` adds to an add's JSON body (an upper bound for its vector). */
export function recordBytes(record: AddRecord): number {
  return encoder.encode(JSON.stringify(record.id)).byteLength +
    encoder.encode(JSON.stringify(record.document)).byteLength +
    encoder.encode(JSON.stringify(record.metadata)).byteLength +
    record.embedding.length * BYTES_PER_VECTOR_NUMBER;
}

/**
 * `items` in consecutive parts of at most `maxRecords` items and `maxBytes` bytes (by `sizeOf`);
 * an item bigger than `maxBytes` alone is a part of its own.
 */
export function chunksByBytes<T>(
  items: readonly T[],
  options: { sizeOf: (item: T) => number; maxBytes: number; maxRecords: number },
): T[][] {
  const out: T[][] = [];
  let part: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = options.sizeOf(item);
    if (part.length > 0 && (part.length >= options.maxRecords || bytes + size > options.maxBytes)) {
      out.push(part);
      part = [];
      bytes = 0;
    }
    part.push(item);
    bytes += size;
  }
  if (part.length > 0) out.push(part);
  return out;
}
