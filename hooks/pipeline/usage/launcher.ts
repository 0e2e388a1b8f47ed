/**
 * Starting usage collection. A hook (only on Stop, SubagentStop, SessionEnd and PreCompact) writes
 * a usage job; the collector of that transcript directory is then started unless one runs (it
 * holds an exclusive lock on its `collector.lock` for as long as it runs), detached with no stdio,
 * so nobody waits for it; the transcript is never read on the hook's path.
 *
 * Who starts it: when events are shipped (`ZO_EVENT_ENDPOINT` set) the relay does, from its own
 * loop ({@linkcode startPendingCollectors}), so the hook only writes its job: starting a process
 * costs a Deno hook 15-30 ms, and the hook makes sure a relay runs anyway. With no endpoint (the
 * spool is the local log, no relay) the hook starts the collector itself.
 *
 * Why no job is lost: the hook writes its job BEFORE testing the lock, and a collector, before it
 * exits, lets go of the lock and THEN looks for jobs once more (taking the lock again if it finds
 * any). Either the leaving collector sees the job, or the hook sees the lock free and starts one.
 *
 * @module
 */
import { collectorCommand } from "./collector_flags.ts";
import {
  collectorDir,
  jobsOf,
  listJobs,
  LOCK_FILE,
  readJob,
  USAGE_DIR,
  writeJobSync,
} from "./jobs.ts";
import { DIR_MODE, FILE_MODE } from "../spool.ts";
import { openOrCreateSync } from "../safe_open.ts";

/** Options of {@linkcode queueUsage}. */
export interface QueueOptions {
  /** Start the collector when none runs; false leaves that to the relay. Default true. */
  launch?: boolean;
  nowMs?: number;
  /** The deno binary; default `Deno.execPath()`. */
  denoPath?: string;
  /** `hooks/`; default next to this module. */
  hooksDir?: string;
}

/** What {@linkcode queueUsage} did. */
export interface QueueResult {
  /** Job files written. */
  jobs: string[];
  /** Transcript directories whose collector was started now. */
  launched: string[];
}

/** `hooks/`, next to `shared/`. */
export function hooksDir(): string {
  return decodeURIComponent(new URL("../..", import.meta.url).pathname);
}

/** True when no collector holds the lock of `stateDir` (tested and released at once). */
export function collectorIdle(stateDir: string): boolean {
  const path = `${stateDir}/${LOCK_FILE}`;
  let file: Deno.FsFile;
  try {
    // Never through a link planted at the path, never blocking on a FIFO there.
    file = openOrCreateSync(path, { read: true, write: true, mode: FILE_MODE }).file;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    Deno.mkdirSync(stateDir, { recursive: true, mode: DIR_MODE });
    file = openOrCreateSync(path, { read: true, write: true, mode: FILE_MODE }).file;
  }
  try {
    if (!file.tryLockSync(true)) return false;
    file.unlockSync();
    return true;
  } finally {
    file.close();
  }
}

/**
 * Queues the usage jobs of one hook payload (see `jobsOf`) and starts the collectors needed.
 * Throws on a file error; the caller reports it and carries on.
 */
export async function queueUsage(
  logDir: string,
  hook: {
    payload: Readonly<Record<string, unknown>>;
    context: { session_id: string; run_id: string; agent_id?: string; project_dir?: string };
  },
  options: QueueOptions = {},
): Promise<QueueResult> {
  const result: QueueResult = { jobs: [], launched: [] };
  for (const job of jobsOf(hook.payload, hook.context, { nowMs: options.nowMs })) {
    const stateDir = await collectorDir(logDir, job.dir);
    result.jobs.push(writeJobSync(stateDir, job));
    if (options.launch === false || !collectorIdle(stateDir)) continue;
    spawnCollector(logDir, job.dir, options);
    result.launched.push(job.dir);
  }
  return result;
}

/** Starts the collector of transcript directory `dir`, detached, with its exact flags. */
export function spawnCollector(
  logDir: string,
  dir: string,
  options: Pick<QueueOptions, "denoPath" | "hooksDir"> = {},
): void {
  const [program, ...args] = collectorCommand({
    logDir,
    transcriptDir: dir,
    denoPath: options.denoPath ?? Deno.execPath(),
    hooksDir: options.hooksDir ?? hooksDir(),
  });
  new Deno.Command(program!, {
    args,
    cwd: logDir,
    // The log dir its flags name, whatever the environment it inherits says.
    env: { ZO_LOG_DIR: logDir },
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn().unref();
}

/** A directory's collector is started again at most this often while its jobs stay. */
export const RESTART_INTERVAL_MS = 5_000;

/** Options of {@linkcode startPendingCollectors}. */
export interface PendingOptions extends Pick<QueueOptions, "denoPath" | "hooksDir"> {
  nowMs?: number;
  /** When each state directory's collector was last started (kept by the caller between calls). */
  started: Map<string, number>;
}

/**
 * Starts a collector for every transcript directory with jobs waiting and no collector running
 * (the relay calls this from its loop). Returns the directories started.
 */
export async function startPendingCollectors(
  logDir: string,
  options: PendingOptions,
): Promise<string[]> {
  const nowMs = options.nowMs ?? Date.now();
  const launched: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(`${logDir}/${USAGE_DIR}`)];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return launched;
    throw error;
  }
  for (const entry of entries) {
    if (!entry.isDirectory || !/^[0-9a-f]{32}$/.test(entry.name)) continue;
    const stateDir = `${logDir}/${USAGE_DIR}/${entry.name}`;
    if (nowMs - (options.started.get(stateDir) ?? -Infinity) < RESTART_INTERVAL_MS) continue;
    const jobs = await listJobs(stateDir);
    if (jobs.length === 0 || !collectorIdle(stateDir)) continue;
    let job;
    for (const path of jobs) {
      job = await readJob(path).catch(() => undefined);
      if (job !== undefined) break;
    }
    // Its jobs are torn or foreign: the collector clears those, but needs a directory to run for.
    if (job === undefined || (await collectorDir(logDir, job.dir)) !== stateDir) continue;
    options.started.set(stateDir, nowMs);
    spawnCollector(logDir, job.dir, options);
    launched.push(job.dir);
  }
  return launched;
}
