/**
 * A few workers (`record_worker.ts`) that build and spool the envelopes of large http-hook bodies,
 * so that redacting one of them, which may take up to its whole budget, never holds up the relay's
 * event loop: other posts are answered and batches shipped meanwhile. Workers start on first use
 * and stay for the relay's life; a job waits only when every worker is busy.
 *
 * Redaction keeps its own deadline (the budget given here); a worker still busy `graceMs` after it
 * is terminated, a fresh one takes its place, and the pool's `onStopped` records the event without
 * its content instead.
 *
 * @module
 */
import type { HookHint } from "../hook_pipeline.ts";
import type { VmConfig } from "../vm_config.ts";
import type { FromWorker, SentConfig, ToWorker } from "./record_worker.ts";

/** Workers at most: two slow payloads at once still leave the event loop free. */
export const POOL_WORKERS = 2;
/** How long past its redaction budget a worker may run before it is terminated. */
export const POOL_GRACE_MS = 5_000;
/** What a worker not yet started (loading its modules, building its pipeline) is allowed more. */
export const WORKER_STARTUP_MS = 30_000;

/** Options of {@linkcode createRecordPool}. */
export interface RecordPoolOptions {
  config: VmConfig;
  /** The host name the workers' pipelines use. */
  host: string;
  /** Workers at most; default {@linkcode POOL_WORKERS}. */
  size?: number;
  /** Default {@linkcode POOL_GRACE_MS}. */
  graceMs?: number;
  /** Default {@linkcode WORKER_STARTUP_MS}. */
  startupMs?: number;
  /** Called when a worker had to be stopped (or died) before it spooled the event. */
  onStopped: (hint: HookHint, reason: string) => Promise<void>;
  /** Where the workers' failures go. */
  log: (line: string) => void;
  /** The worker module; for tests. */
  workerUrl?: URL;
}

/** Records bodies in workers. */
export interface RecordPool {
  /** Resolves once the body's event is spooled (or, if its worker was stopped, its stand-in). */
  record(bytes: Uint8Array, hint: HookHint, budgetMs: number): Promise<void>;
  /** Jobs being recorded by a worker now. */
  readonly running: number;
  /** Terminates every worker; jobs still running get their stand-in. */
  close(): Promise<void>;
}

interface Job {
  bytes: Uint8Array;
  hint: HookHint;
  budgetMs: number;
  resolve: () => void;
}

interface Running {
  job: Job;
  timer: ReturnType<typeof setTimeout>;
}

/** Starts no worker yet: they start on first use. */
export function createRecordPool(options: RecordPoolOptions): RecordPool {
  const size = options.size ?? POOL_WORKERS;
  const graceMs = options.graceMs ?? POOL_GRACE_MS;
  const startupMs = options.startupMs ?? WORKER_STARTUP_MS;
  const workerUrl = options.workerUrl ?? new URL("./record_worker.ts", import.meta.url);
  const sent: SentConfig = { ...options.config, endpoint: options.config.endpoint?.href };
  const idle: Worker[] = [];
  const ready = new WeakSet<Worker>();
  const running = new Map<Worker, Running>();
  const queue: Job[] = [];
  let started = 0;
  let nextId = 0;
  let closed = false;

  /** Ends a job whose worker is gone: its stand-in is recorded, then the job resolves. */
  const standIn = (job: Job, reason: string): Promise<void> =>
    options.onStopped(job.hint, `${reason}; its ${job.bytes.length} bytes were dropped`)
      .catch((error) =>
        options.log(`Cannot record the stand-in of an http hook event: ${String(error)}`)
      )
      .finally(job.resolve);

  const retire = (worker: Worker, reason: string): void => {
    worker.terminate();
    started--;
    const run = running.get(worker);
    running.delete(worker);
    if (run) {
      clearTimeout(run.timer);
      standIn(run.job, reason);
    }
    dispatch();
  };

  const spawn = (): Worker => {
    const worker = new Worker(workerUrl.href, { type: "module" });
    started++;
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const message = event.data;
      if (message.type === "log") return options.log(message.line);
      if (message.type === "ready") return void ready.add(worker);
      const run = running.get(worker);
      if (!run) return;
      clearTimeout(run.timer);
      running.delete(worker);
      idle.push(worker);
      run.job.resolve();
      dispatch();
    };
    worker.onerror = (event) => {
      event.preventDefault();
      retire(worker, `its worker failed: ${event.message}`);
    };
    worker.postMessage({ type: "init", config: sent, host: options.host } satisfies ToWorker);
    return worker;
  };

  const dispatch = (): void => {
    while (!closed && queue.length > 0) {
      const worker = idle.pop() ?? (started < size ? spawn() : undefined);
      if (worker === undefined) return;
      const job = queue.shift()!;
      const limitMs = job.budgetMs + graceMs + (ready.has(worker) ? 0 : startupMs);
      const timer = setTimeout(
        () => retire(worker, `redaction did not finish within ${limitMs} ms`),
        limitMs,
      );
      running.set(worker, { job, timer });
      worker.postMessage(
        {
          type: "record",
          id: nextId++,
          bytes: job.bytes,
          hint: job.hint,
          budgetMs: job.budgetMs,
        } satisfies ToWorker,
      );
    }
  };

  return {
    get running() {
      return running.size;
    },
    record(bytes, hint, budgetMs) {
      if (closed) return Promise.reject(new Error("Cannot record: the pool is closed"));
      return new Promise((resolve) => {
        queue.push({ bytes, hint, budgetMs, resolve });
        dispatch();
      });
    },
    async close() {
      closed = true;
      const ends: Promise<void>[] = [];
      for (const [worker, run] of running) {
        clearTimeout(run.timer);
        worker.terminate();
        ends.push(standIn(run.job, "the relay stopped before the event was recorded"));
      }
      running.clear();
      for (const worker of idle.splice(0)) worker.terminate();
      for (const job of queue.splice(0)) ends.push(standIn(job, "the relay stopped"));
      started = 0;
      await Promise.all(ends);
    },
  };
}
