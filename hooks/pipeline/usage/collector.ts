/**
 * The usage collector of one transcript directory: takes the jobs hooks queued for it, reads
 * each transcript from its saved position (`transcript_reader.ts`), turns every API response
 * into a `usage` envelope (`usage_event.ts`), appends them to the spool, and only then saves the
 * new position. Runs as its own short-lived process (`hooks/usage_collector.ts`), one per
 * directory at a time (an exclusive lock), started by a hook; it lingers a moment for more jobs,
 * reads its transcripts once more (lines written after the hook fired), and exits.
 *
 * Crash safety: a crash after the append but before the position is saved reads the same lines
 * again next time, which makes the very same events (deterministic ids): the bridge stores them
 * once, and counts each response once by its message id in any case.
 *
 * @module
 */
import { sealEvent, type SealOptions } from "../envelope.ts";
import {
  type BaseContext,
  baseContext,
  hostName,
  redactorFor,
  sessionRunId,
} from "../hook_context.ts";
import type { Redactor } from "../../../shared/redact.ts";
import type { Event } from "../../../shared/schema.ts";
import { appendToSpool, FILE_MODE } from "../spool.ts";
import { enforceSpoolBound } from "../spool_bound.ts";
import type { VmConfig } from "../vm_config.ts";
import {
  collectorDir,
  type JobTranscript,
  listJobs,
  LOCK_FILE,
  readJob,
  type UsageJob,
} from "./jobs.ts";
import { readTranscriptUsage } from "./transcript_reader.ts";
import { loadTranscriptState, saveTranscriptState } from "./transcript_state.ts";
import { usageEvent } from "./usage_event_builder.ts";
import { openOrCreateSync } from "../safe_open.ts";
import { errorMessage, sleep } from "../_util.ts";

/** How long the collector waits for more jobs before it leaves, by default. */
export const DEFAULT_LINGER_MS = 1_000;
/** A job file younger than this that cannot be parsed may still be being written. */
export const TORN_JOB_GRACE_MS = 10_000;
/** A job whose transcript keeps failing is given up after this long (the failure was logged). */
export const FAILED_JOB_MAX_AGE_MS = 60 * 60_000;

/** Options of {@linkcode runCollector}. */
export interface CollectorOptions {
  config: VmConfig;
  /** The transcript directory this collector serves (its `--allow-read`). */
  dir: string;
  /** How long to wait for more jobs once drained, in ms; default {@linkcode DEFAULT_LINGER_MS}. */
  lingerMs?: number;
  /** How often to look for jobs while lingering, in ms; default 100. */
  pollMs?: number;
  now?: () => number;
  /** Where failures are told; default stderr (the launcher gives the process none). */
  log?: (line: string) => void;
  redactor?: Redactor;
  host?: string;
  /** For tests: runs after a transcript's events are appended, before its position is saved. */
  afterAppend?: (transcriptPath: string) => void | Promise<void>;
}

/** What a collector run did. */
export interface CollectorResult {
  /** `locked`: another collector serves the directory; `no_log_dir`: nothing to write into. */
  reason: "done" | "locked" | "no_log_dir";
  /** Jobs taken (and deleted). */
  jobs: number;
  /** Usage events appended. */
  events: number;
}

function defaultLog(line: string): void {
  // deno-lint-ignore no-console -- the collector's only channel for its own failures
  console.error(`agent-telemetry usage collector: ${line}`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** The context, redactor and seal options every event of this run shares. */
interface Shared {
  config: VmConfig;
  base: BaseContext;
  seal: SealOptions;
  now: () => number;
  afterAppend?: CollectorOptions["afterAppend"];
}

/** What reading one transcript did. */
interface Collected {
  events: number;
  /** A new spool segment was begun: the moment to enforce the spool bound. */
  newSegment: boolean;
}

function appendAll(shared: Shared, events: readonly Event[]): boolean {
  let created = false;
  for (const event of events) {
    const written = appendToSpool(shared.config.logDir, JSON.stringify(event), {
      nowMs: shared.now(),
    });
    created ||= written.created;
  }
  return created;
}

/** Reads one transcript of `job` from its saved position on; see the module doc. */
export async function collectTranscript(
  shared: Shared,
  { transcript, job }: { transcript: JobTranscript; job: UsageJob },
): Promise<Collected> {
  const { config } = shared;
  const state = await loadTranscriptState(config.logDir, transcript.path);
  let read;
  try {
    read = await readTranscriptUsage(transcript.path, state);
  } catch (error) {
    // Not written yet (a session that ended before its first reply): nothing to count.
    if (error instanceof Deno.errors.NotFound) return { events: 0, newSegment: false };
    if (
      !(error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied)
    ) throw error;
    const why = `Cannot read transcript ${transcript.path} for usage: ${
      error instanceof Deno.errors.NotCapable
        ? `it is outside ${job.dir}, the directory the collector may read`
        : "the file system denies it"
    }`;
    if (state?.reported === why) return { events: 0, newSegment: false };
    const event = await sealEvent({
      ...shared.base,
      session_id: job.session_id,
      run_id: job.run_id,
      event_type: "error",
      level: "warn",
      msg: why,
      indexable_text: why,
      error_detail: { type: "usage_transcript_unreadable", message: why },
      data: { transcript_path: transcript.path, hook_event_name: job.hook_event_name },
    }, { ...shared.seal, now: shared.now() });
    const newSegment = appendAll(shared, [event]);
    await saveTranscriptState(config.logDir, {
      path: transcript.path,
      offset: state?.offset ?? 0,
      head: state?.head ?? "",
      saved_ms: shared.now(),
      reported: why,
    });
    return { events: 0, newSegment };
  }

  const runIds = new Map<string, string>([[job.session_id, job.run_id]]);
  const events: Event[] = [];
  for (const message of read.messages) {
    const sessionId = message.session_id ?? job.session_id;
    let runId = runIds.get(sessionId);
    if (runId === undefined) {
      runId = await sessionRunId(config.logDir, sessionId, config.runId);
      runIds.set(sessionId, runId);
    }
    const agentId = message.agent_id ??
      (transcript.kind === "subagent" ? job.agent_id : undefined);
    const source = { ...shared.base.source };
    if (job.cwd) Object.assign(source, { cwd: job.cwd });
    if (job.project_dir) source.project_dir = job.project_dir;
    events.push(
      await usageEvent(message, {
        ...shared.base,
        session_id: sessionId,
        run_id: runId,
        ...(agentId ? { agent_id: agentId } : {}),
        source,
      }, { ...shared.seal, now: shared.now(), transcript: transcript.kind }),
    );
  }
  const newSegment = appendAll(shared, events);
  await shared.afterAppend?.(transcript.path);
  if (
    state === undefined || state.offset !== read.cursor.offset || state.head !== read.cursor.head ||
    state.reported !== undefined
  ) {
    await saveTranscriptState(config.logDir, {
      path: transcript.path,
      ...read.cursor,
      saved_ms: shared.now(),
    });
  }
  return { events: events.length, newSegment };
}

/**
 * Serves the jobs of `options.dir` until none are left (see the module doc). Returns `locked` at
 * once when another collector holds the directory's lock.
 */
export async function runCollector(options: CollectorOptions): Promise<CollectorResult> {
  const { config, dir } = options;
  const now = options.now ?? Date.now;
  const log = options.log ?? defaultLog;
  const result: CollectorResult = { reason: "done", jobs: 0, events: 0 };
  // A log dir removed under us (uninstalled, or a test's temp dir) is not made again.
  if (!(await exists(config.logDir))) return { ...result, reason: "no_log_dir" };
  const stateDir = await collectorDir(config.logDir, dir);
  if (!(await exists(stateDir))) return result;
  // Never through a link planted at the path, never blocking on a FIFO there.
  using lock = openOrCreateSync(`${stateDir}/${LOCK_FILE}`, {
    read: true,
    write: true,
    mode: FILE_MODE,
  }).file;
  if (!(await lock.tryLock(true))) return { ...result, reason: "locked" };

  const host = options.host ?? hostName();
  const redactor = options.redactor ?? await redactorFor(config.shared.redaction, host);
  const shared: Shared = {
    config,
    base: await baseContext(config, { redactor, host }),
    seal: { redactor, maxEventBytes: config.shared.maxEventBytes },
    now,
    afterAppend: options.afterAppend,
  };

  /** Transcripts read in this run, for the last look before leaving. */
  const read = new Map<string, { transcript: JobTranscript; job: UsageJob }>();
  /** Jobs whose transcript failed: kept on disk for the next run, skipped in this one. */
  const failed = new Set<string>();
  let newSegment = false;

  const collect = async (transcript: JobTranscript, job: UsageJob): Promise<boolean> => {
    try {
      const done = await collectTranscript(shared, { transcript, job });
      result.events += done.events;
      newSegment ||= done.newSegment;
      return true;
    } catch (error) {
      log(`Cannot collect usage from ${transcript.path}: ${errorMessage(error)}`);
      return false;
    }
  };

  /** Handles the jobs waiting now; the number taken. */
  const drain = async (): Promise<number> => {
    const paths = (await listJobs(stateDir)).filter((path) => !failed.has(path));
    if (paths.length === 0) return 0;
    const jobs: [string, UsageJob][] = [];
    const garbage: string[] = [];
    for (const path of paths) {
      let job: UsageJob | undefined;
      try {
        job = await readJob(path);
      } catch {
        continue; // taken by another collector meanwhile
      }
      if (job !== undefined && job.dir === dir) jobs.push([path, job]);
      else if (job !== undefined) garbage.push(path); // not this directory's (a hash collision)
      else {
        const mtime = (await Deno.stat(path).catch(() => undefined))?.mtime?.getTime() ?? 0;
        if (now() - mtime > TORN_JOB_GRACE_MS) garbage.push(path);
      }
    }
    // Many jobs for one transcript read it once; the latest job's context wins.
    const latest = new Map<string, { transcript: JobTranscript; job: UsageJob; files: string[] }>();
    for (const [path, job] of jobs) {
      for (const transcript of job.transcripts) {
        const files = [...(latest.get(transcript.path)?.files ?? []), path];
        latest.set(transcript.path, { transcript, job, files });
      }
    }
    const failedFiles = new Set<string>();
    for (const { transcript, job, files } of latest.values()) {
      if (await collect(transcript, job)) read.set(transcript.path, { transcript, job });
      else files.forEach((file) => failedFiles.add(file));
    }
    const queued = new Map(jobs.map(([path, job]) => [path, job.queued_ms]));
    let kept = 0;
    for (const path of [...jobs.map(([path]) => path), ...garbage]) {
      if (failedFiles.has(path) && now() - (queued.get(path) ?? 0) < FAILED_JOB_MAX_AGE_MS) {
        failed.add(path);
        kept++;
        continue;
      }
      await Deno.remove(path).catch(() => {});
    }
    result.jobs += jobs.length - kept;
    return jobs.length + garbage.length;
  };

  try {
    const lingerMs = options.lingerMs ?? DEFAULT_LINGER_MS;
    let idleSince = now();
    while (true) {
      if ((await drain()) > 0) {
        idleSince = now();
        continue;
      }
      if (now() - idleSince < lingerMs) {
        // The log dir removed under us (uninstalled, a test's temp dir): nothing to wait for.
        if (!(await exists(stateDir))) break;
        await sleep(options.pollMs ?? 100);
        continue;
      }
      // Lines Claude Code wrote after the hook fired (the end of a session) are read now.
      for (const { transcript, job } of read.values()) await collect(transcript, job);
      await lock.unlock();
      const waiting = (await listJobs(stateDir)).filter((path) => !failed.has(path));
      if (waiting.length === 0 || !(await lock.tryLock(true))) break;
      idleSince = now();
    }
  } finally {
    if (newSegment) {
      await enforceSpoolBound(config.logDir, config.spoolMaxBytes, { nowMs: now() })
        .catch((error) =>
          log(`Cannot keep the spool within ZO_SPOOL_MAX_MB: ${errorMessage(error)}`)
        );
    }
  }
  return result;
}
