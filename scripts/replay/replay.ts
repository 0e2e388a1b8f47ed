/**
 * Replays by hand what a VM spooled: a log dir (its `spool/`), a spool dir, any directory of
 * `.jsonl` envelope files, or one `.jsonl` file, shipped with the relay's own reader, shipper and
 * pump (same batching, retries, dead letters, quarantine). It keeps its own checkpoint, dead
 * letters and quarantine in a state directory, so an interrupted replay resumes, and it never
 * deletes what it replays.
 *
 * @module
 */
import { isSegmentClosed, SEGMENT_PATTERN } from "../../hooks/pipeline/spool.ts";
import type { BackoffOptions } from "../../hooks/pipeline/relay/backoff.ts";
import { readCheckpoint, SPOOL_START } from "../../hooks/pipeline/relay/checkpoint.ts";
import { pump, type PumpFiles, type PumpTotals } from "../../hooks/pipeline/relay/pump.ts";
import { createShipper, DeliveryError } from "../../hooks/pipeline/relay/shipper.ts";
import { SpoolReader } from "../../hooks/pipeline/relay/spool_reader.ts";
import type { SpoolSource } from "../../hooks/pipeline/relay/spool_source.ts";

/** A resolved replay input: what to read, and where to keep the replay's state. */
export interface ReplayInput {
  source: SpoolSource;
  /** Default state directory: `<dir>/.replay`, or `<file>.replay` for a single file. */
  stateDir: string;
}

/** Options of {@linkcode runReplay}. */
export interface ReplayOptions {
  /** A log dir, spool dir, directory of `.jsonl` files, or one `.jsonl` file. */
  path: string;
  endpoint: URL;
  apiKey?: string;
  /** The variable `apiKey` came from, named when the bridge refuses it; default `ZO_INGEST_KEY`. */
  apiKeyVariable?: string;
  /** Where checkpoint, dead letters and quarantine go; default from {@linkcode resolveReplayInput}. */
  stateDir?: string;
  /** Ignore the checkpoint and ship everything again. */
  restart?: boolean;
  /** Failed attempts in a row before giving up; default 8. */
  maxAttempts?: number;
  concurrency?: number;
  batch?: { maxEvents?: number; maxBytes?: number };
  backoff?: BackoffOptions;
  signal?: AbortSignal;
  /** Called with the count of lines to go, then after each committed batch. */
  onProgress?: (progress: ReplayProgress) => void;
  /** Operator-facing lines; default stderr. */
  log?: (line: string) => void;
}

/** Where a replay stands. */
export interface ReplayProgress extends PumpTotals {
  /** Lines to replay when it (re)started: events, plus any corrupt lines. */
  total: number;
  /** Lines dealt with: shipped, dead-lettered or quarantined. */
  done: number;
  elapsedMs: number;
}

/** The files of a replay's state directory. */
export function replayFiles(stateDir: string): PumpFiles {
  return {
    checkpoint: `${stateDir}/checkpoint.json`,
    deadLetter: `${stateDir}/dead_letter.jsonl`,
    quarantine: `${stateDir}/quarantine.jsonl`,
  };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** A segment-named file is closed by the spool's rules; any other file is complete. */
function closedByName(name: string, nowMs: number): boolean {
  return SEGMENT_PATTERN.test(name) ? isSegmentClosed(name, nowMs) : true;
}

/** Works out what `path` holds; throws `Deno.errors.NotFound` when it does not exist. */
export async function resolveReplayInput(path: string): Promise<ReplayInput> {
  const clean = path.length > 1 ? path.replace(/\/+$/, "") : path;
  const info = await Deno.stat(clean);
  if (info.isFile) {
    const slash = clean.lastIndexOf("/");
    const name = clean.slice(slash + 1);
    return {
      source: {
        list: () => Promise.resolve([name]),
        path: () => clean,
        isClosed: closedByName,
      },
      stateDir: `${clean}.replay`,
    };
  }
  const dir = await isDirectory(`${clean}/spool`) ? `${clean}/spool` : clean;
  return {
    source: {
      async list() {
        const names: string[] = [];
        for await (const entry of Deno.readDir(dir)) {
          if (entry.isFile && entry.name.endsWith(".jsonl")) names.push(entry.name);
        }
        return names.sort();
      },
      path: (name) => `${dir}/${name}`,
      isClosed: closedByName,
    },
    stateDir: `${clean}/.replay`,
  };
}

/** Lines (events and corrupt lines) from `offset` of `path` on. */
async function countLines(path: string, offset: number): Promise<number> {
  const file = await Deno.open(path, { read: true });
  try {
    if (offset > 0) await file.seek(offset, Deno.SeekMode.Start);
    let lines = 0;
    let last = 0x0a;
    const buffer = new Uint8Array(1024 * 1024);
    while (true) {
      const n = await file.read(buffer);
      if (n === null) break;
      for (let at = buffer.indexOf(0x0a); at >= 0 && at < n; at = buffer.indexOf(0x0a, at + 1)) {
        lines++;
      }
      last = buffer[n - 1]!;
    }
    return lines + (last === 0x0a ? 0 : 1);
  } finally {
    file.close();
  }
}

/**
 * Ships everything `options.path` holds from the replay's checkpoint on. Throws
 * `DeliveryError` (with what was done so far in `onProgress`) when the bridge stays
 * unreachable or refuses the key for `maxAttempts` tries in a row; a rerun resumes.
 */
export async function runReplay(options: ReplayOptions): Promise<ReplayProgress> {
  const input = await resolveReplayInput(options.path);
  const stateDir = options.stateDir ?? input.stateDir;
  const files = replayFiles(stateDir);
  const start = options.restart ? { ...SPOOL_START } : await readCheckpoint(files.checkpoint);
  let total = 0;
  for (const name of await input.source.list()) {
    if (name < start.segment) continue;
    total += await countLines(
      input.source.path(name),
      name === start.segment ? start.offset : 0,
    );
  }
  const began = performance.now();
  const progress = (totals: PumpTotals): ReplayProgress => ({
    ...totals,
    total,
    done: totals.shipped + totals.deadLettered + totals.quarantined,
    elapsedMs: performance.now() - began,
  });
  let last = progress({ shipped: 0, deadLettered: 0, quarantined: 0, batches: 0 });
  options.onProgress?.(last);
  const shipper = createShipper({
    endpoint: options.endpoint,
    apiKey: options.apiKey,
    apiKeyVariable: options.apiKeyVariable,
    maxAttempts: options.maxAttempts ?? 8,
    backoff: options.backoff ?? { baseMs: 250, capMs: 5_000 },
    signal: options.signal,
    log: options.log,
  });
  try {
    const reader = new SpoolReader(input.source, start, options.batch);
    const totals = await pump(reader, shipper, {
      files,
      concurrency: options.concurrency,
      signal: options.signal,
      onCommit: (totals) => {
        last = progress(totals);
        options.onProgress?.(last);
      },
    });
    if (options.signal?.aborted) {
      throw new DeliveryError("Cannot finish the replay: it was stopped", undefined, true);
    }
    return progress(totals);
  } finally {
    shipper.close();
  }
}
