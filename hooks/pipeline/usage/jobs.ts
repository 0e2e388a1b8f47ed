/**
 * Usage jobs: how a hook hands transcript reading to the collector without doing it itself. On
 * Stop, SubagentStop, SessionEnd and PreCompact the hook writes one small JSON file (the
 * transcript paths and the session's context) into the job directory of the transcripts'
 * directory, `$ZO_LOG_DIR/usage/<dir-key>/jobs/`; the collector of that directory reads the
 * transcripts, then deletes the jobs it handled.
 *
 * One collector per transcript directory (a Claude Code project's `projects/<slug>/`), so each
 * runs with `--allow-read` of that one directory and no more. This module is on the hook's path
 * for those four events only: no dependencies, synchronous file calls (see `appendToSpool`).
 *
 * @module
 */
import { sha256Hex } from "../../../shared/ids.ts";
import { DIR_MODE, FILE_MODE } from "../spool.ts";
import { readText } from "../safe_open.ts";
import { identifier } from "../_util.ts";

/** The usage state directory, relative to the log dir. */
export const USAGE_DIR = "usage";

/** One transcript to read, and which kind it is. */
export interface JobTranscript {
  path: string;
  kind: "main" | "subagent";
}

/** A usage job, as a hook writes it. */
export interface UsageJob {
  v: 1;
  /** The directory the collector may read (its `--allow-read`); every path below is inside. */
  dir: string;
  transcripts: JobTranscript[];
  session_id: string;
  run_id: string;
  /** The subagent of a SubagentStop. */
  agent_id?: string;
  hook_event_name: string;
  cwd?: string;
  project_dir?: string;
  queued_ms: number;
}

/**
 * True for a transcript path the collector may be pointed at: absolute, a `.jsonl` file, no `.`
 * or `..` segment, no comma (permission flags are comma lists) and no control character.
 */
export function isTranscriptPath(path: unknown): path is string {
  if (typeof path !== "string" || path.length > 4096 || !path.startsWith("/")) return false;
  if (!path.endsWith(".jsonl") || path.includes(",")) return false;
  // deno-lint-ignore no-control-regex -- control characters are what is refused here
  if (/[\u0000-\u001f]/.test(path)) return false;
  const segments = path.split("/").slice(1);
  return segments.every((s) => s !== "." && s !== "..") && segments.length >= 2;
}

/** The directory part of a path ("/a/b/c.jsonl" -> "/a/b"). */
export function dirname(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

/**
 * The jobs a hook payload asks for, one per directory: the session's transcript
 * (`transcript_path`) and, for a subagent, its own (`agent_transcript_path`), which Claude Code
 * keeps below the session's directory and so shares its job. Empty when the payload names no
 * usable transcript.
 */
export function jobsOf(
  payload: Readonly<Record<string, unknown>>,
  context: { session_id: string; run_id: string; agent_id?: string; project_dir?: string },
  options: { nowMs?: number } = {},
): UsageJob[] {
  const hookEvent = identifier(payload.hook_event_name);
  if (hookEvent === undefined) return [];
  const byDir = new Map<string, JobTranscript[]>();
  const main = isTranscriptPath(payload.transcript_path) ? payload.transcript_path : undefined;
  if (main !== undefined) byDir.set(dirname(main), [{ path: main, kind: "main" }]);
  const agent = isTranscriptPath(payload.agent_transcript_path)
    ? payload.agent_transcript_path
    : undefined;
  if (agent !== undefined && agent !== main) {
    const mainDir = main === undefined ? undefined : dirname(main);
    const dir = mainDir !== undefined && agent.startsWith(`${mainDir}/`) ? mainDir : dirname(agent);
    byDir.set(dir, [...(byDir.get(dir) ?? []), { path: agent, kind: "subagent" }]);
  }
  const jobs: UsageJob[] = [];
  for (const [dir, transcripts] of byDir) {
    if (dir === "/") continue;
    const job: UsageJob = {
      v: 1,
      dir,
      transcripts,
      session_id: context.session_id,
      run_id: context.run_id,
      hook_event_name: hookEvent,
      queued_ms: options.nowMs ?? Date.now(),
    };
    if (context.agent_id) job.agent_id = context.agent_id;
    if (typeof payload.cwd === "string" && payload.cwd !== "") job.cwd = payload.cwd;
    if (context.project_dir) job.project_dir = context.project_dir;
    jobs.push(job);
  }
  return jobs;
}

/** The state directory of the collector of transcript directory `dir`. */
export async function collectorDir(logDir: string, dir: string): Promise<string> {
  return `${logDir}/${USAGE_DIR}/${(await sha256Hex(dir)).slice(0, 32)}`;
}

/** The collector's lock file inside its state directory. */
export const LOCK_FILE = "collector.lock";
/** The job directory inside the collector's state directory. */
export const JOBS_DIR = "jobs";

/** Writes `job` as a new file in `stateDir`'s job directory (created when missing). */
export function writeJobSync(stateDir: string, job: UsageJob): string {
  const name = `${job.queued_ms}-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}.json`;
  const path = `${stateDir}/${JOBS_DIR}/${name}`;
  const text = JSON.stringify(job);
  try {
    Deno.writeTextFileSync(path, text, { createNew: true, mode: FILE_MODE });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    Deno.mkdirSync(`${stateDir}/${JOBS_DIR}`, { recursive: true, mode: DIR_MODE });
    Deno.writeTextFileSync(path, text, { createNew: true, mode: FILE_MODE });
  }
  return path;
}

/** The job files waiting in `stateDir`, oldest first (names start with their time). */
export async function listJobs(stateDir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(`${stateDir}/${JOBS_DIR}`)) {
      if (entry.isFile && entry.name.endsWith(".json")) names.push(entry.name);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return names.sort().map((name) => `${stateDir}/${JOBS_DIR}/${name}`);
}

/** The job in file `path`, or undefined when it is not one (torn, foreign, another version). */
export async function readJob(path: string): Promise<UsageJob | undefined> {
  try {
    const job = JSON.parse(await readText(path)); // never through a link, never on a FIFO
    if (
      job?.v === 1 && typeof job.dir === "string" && Array.isArray(job.transcripts) &&
      job.transcripts.every((t: JobTranscript) =>
        isTranscriptPath(t?.path) && (t.kind === "main" || t.kind === "subagent")
      ) && identifier(job.session_id) && identifier(job.run_id) &&
      typeof job.hook_event_name === "string" && Number.isFinite(job.queued_ms)
    ) {
      return job as UsageJob;
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw error;
  }
  return undefined;
}
