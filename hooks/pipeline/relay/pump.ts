/**
 * The shipping loop shared by the relay and `deno task replay`: read batches, deliver up to
 * `concurrency` of them at once, and commit them strictly in order (dead letters written first,
 * then the durable checkpoint, then shipped segments deleted). A batch whose delivery has not
 * finished is never behind the checkpoint, so a kill at any instant only causes re-sends, which
 * the bridge stores once (at-least-once delivery, idempotent storage).
 *
 * @module
 */
import { type Checkpoint, writeCheckpoint } from "./checkpoint.ts";
import { appendDeadLetters } from "./dead_letter.ts";
import { appendQuarantine } from "./quarantine.ts";
import type { Delivery, Shipper } from "./shipper.ts";
import type { ShippedFile, SpoolBatch, SpoolReader } from "./spool_reader.ts";

/** Where a pump keeps its state. */
export interface PumpFiles {
  checkpoint: string;
  deadLetter: string;
  quarantine: string;
}

/** Counts of one pump run. */
export interface PumpTotals {
  /** Events the bridge holds now (stored or already there). */
  shipped: number;
  deadLettered: number;
  quarantined: number;
  /** Batches committed. */
  batches: number;
}

/** Options of {@linkcode pump}. */
export interface PumpOptions {
  /** Batches in flight at once; default 4. */
  concurrency?: number;
  /** Stops reading new batches (deliveries stop through the shipper's own signal). */
  signal?: AbortSignal;
  /** Deletes files read and shipped to their end (the relay's spool); default: keep them. */
  deleteShipped?: (files: ShippedFile[]) => Promise<DeleteOutcome>;
  /** Called after each commit with the running totals. */
  onCommit?: (totals: PumpTotals, checkpoint: Checkpoint) => void;
}

/** What {@linkcode PumpOptions.deleteShipped} did with the files it was given. */
export interface DeleteOutcome {
  /** Deleted (or gone already), or found replaced: a file of that name later is new. */
  gone: string[];
  /** Kept because late lines made them grow: read on from where they ended. */
  grown: string[];
}

/** Default number of batches in flight. */
export const DEFAULT_CONCURRENCY = 4;

type Settled = { ok: true; delivery: Delivery } | { ok: false; error: unknown };

const NOTHING: Delivery = { shipped: 0, deadLetters: [] };

/**
 * Ships what `reader` has until it has nothing new. Throws what `shipper.deliver` throws (the
 * shipper gave up, or was stopped) once the other deliveries in flight settled; what was not
 * committed then ships again next time.
 */
export async function pump(
  reader: SpoolReader,
  shipper: Shipper,
  options: PumpOptions & { files: PumpFiles },
): Promise<PumpTotals> {
  const { files, signal } = options;
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  const totals: PumpTotals = { shipped: 0, deadLettered: 0, quarantined: 0, batches: 0 };
  const inflight: { batch: SpoolBatch; settled: Promise<Settled> }[] = [];
  let drained = false;
  let saved = reader.checkpoint;
  try {
    while (true) {
      while (!drained && inflight.length < concurrency && !signal?.aborted) {
        const batch = await reader.next();
        if (!batch) {
          drained = true;
          break;
        }
        if (batch.quarantined.length > 0) {
          await appendQuarantine(files.quarantine, batch.quarantined);
          totals.quarantined += batch.quarantined.length;
        }
        const delivery = batch.lines.length > 0
          ? shipper.deliver(batch.lines)
          : Promise.resolve(NOTHING);
        inflight.push({
          batch,
          settled: delivery.then(
            (delivery): Settled => ({ ok: true, delivery }),
            (error): Settled => ({ ok: false, error }),
          ),
        });
      }
      const head = inflight.shift();
      if (!head) return totals;
      const settled = await head.settled;
      if (!settled.ok) throw settled.error;
      const { delivery } = settled;
      if (delivery.deadLetters.length > 0) {
        await appendDeadLetters(files.deadLetter, delivery.deadLetters);
      }
      totals.shipped += delivery.shipped;
      totals.deadLettered += delivery.deadLetters.length;
      totals.batches++;
      const checkpoint = reader.commit(head.batch);
      if (JSON.stringify(checkpoint) !== JSON.stringify(saved)) {
        await writeCheckpoint(files.checkpoint, checkpoint);
        saved = checkpoint;
      }
      // A done file may lie anywhere by name (a clock gone back), so look after every commit.
      const shippedFiles = reader.takeShippedFiles();
      if (shippedFiles.length > 0 && options.deleteShipped) {
        const { gone, grown } = await options.deleteShipped(shippedFiles);
        reader.forget(gone);
        reader.reopen(grown);
      }
      options.onCommit?.({ ...totals }, checkpoint);
    }
  } finally {
    // Whatever stopped us, no delivery is left running unobserved.
    await Promise.all(inflight.map((entry) => entry.settled));
  }
}
