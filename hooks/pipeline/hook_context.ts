/**
 * What a hook knows beyond its payload: the run a session belongs to (one stable id per session,
 * kept under the log dir), the worker and its host, the project, the agent's role, and the link
 * from a subagent's events to its SubagentStart.
 *
 * Both kept ids are written once, race-free: the value goes to a temporary file that is then
 * hard-linked to its final name, which fails when another hook got there first (the loser reads
 * the winner's id). A reader never sees a half-written file.
 *
 * @module
 */
import { LIMITS } from "../../shared/contract.ts";
import type { EventContext } from "./envelope.ts";
import { sha256Hex, uuidV7 } from "../../shared/ids.ts";
import type { RedactionConfig } from "../../shared/config.ts";
import { createRedactor, hostPseudonym, type Redactor } from "../../shared/redact.ts";
import { DIR_MODE, FILE_MODE, LAYOUT } from "./spool.ts";
import type { VmConfig } from "./vm_config.ts";
import { readTextSync, UnsafePathError } from "./safe_open.ts";
import { identifier } from "./_util.ts";

/** Stands in for the host name when the system does not tell it. */
export const UNKNOWN_HOST = "unknown-host";

/** The file under `dir` that holds the value kept for `key` (a hash, so any id is a safe name). */
async function keptPath(logDir: string, dir: string, key: string): Promise<string> {
  return `${logDir}/${dir}/${(await sha256Hex(key)).slice(0, 32)}`;
}

// File calls here are synchronous: see appendToSpool() on why that is faster in a hook.
function readKept(path: string): string | undefined {
  try {
    return identifier(readTextSync(path).trim());
  } catch (error) {
    // A link or FIFO planted there is never read through (nor blocked on): as if none was kept.
    if (error instanceof Deno.errors.NotFound || error instanceof UnsafePathError) return undefined;
    throw error;
  }
}

/**
 * Writes `value` to `path` unless it exists; returns the value that is kept there, ours or the
 * earlier writer's.
 */
function keepFirst(path: string, value: string): string {
  const dir = path.slice(0, path.lastIndexOf("/"));
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    Deno.writeTextFileSync(tmp, value + "\n", { createNew: true, mode: FILE_MODE });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    Deno.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    Deno.writeTextFileSync(tmp, value + "\n", { createNew: true, mode: FILE_MODE });
  }
  try {
    Deno.linkSync(tmp, path);
    return value;
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    return readKept(path) ?? value;
  } finally {
    try {
      Deno.removeSync(tmp);
    } catch {
      // A stray tmp file is harmless; the next hook does not look at it.
    }
  }
}

/**
 * The run id of a session: `CLAUDE_RUN_ID` when set, else the one kept in `runs/<key>` under the
 * log dir, minted (UUID v7) by the session's first hook.
 */
export async function sessionRunId(
  logDir: string,
  sessionId: string,
  configured?: string,
): Promise<string> {
  if (configured) return configured;
  const path = await keptPath(logDir, LAYOUT.runsDir, sessionId);
  return readKept(path) ?? keepFirst(path, uuidV7());
}

/** The key of a subagent's link file: its session and its agent id. */
function agentKey(sessionId: string, agentId: string): string {
  return `${sessionId}\n${agentId}`;
}

/**
 * Keeps the `event_id` of a subagent's SubagentStart, so that the subagent's later events link
 * to it. The first start wins: a resumed subagent keeps linking to the start that spawned it.
 */
export async function rememberSubagentStart(
  logDir: string,
  ids: { sessionId: string; agentId: string; eventId: string },
): Promise<string> {
  const path = await keptPath(logDir, LAYOUT.agentsDir, agentKey(ids.sessionId, ids.agentId));
  return keepFirst(path, ids.eventId);
}

/** The `event_id` of a subagent's SubagentStart, if a hook recorded one. */
export async function subagentStartId(
  logDir: string,
  ids: { sessionId: string; agentId: string },
): Promise<string | undefined> {
  return readKept(await keptPath(logDir, LAYOUT.agentsDir, agentKey(ids.sessionId, ids.agentId)));
}

/** The host name, or {@linkcode UNKNOWN_HOST} when it cannot be read. */
export function hostName(): string {
  try {
    return Deno.hostname() || UNKNOWN_HOST;
  } catch {
    return UNKNOWN_HOST;
  }
}

/**
 * How the host appears in events: as it is, or in strict mode its pseudonym. Asks the redactor
 * first (it already holds the pseudonyms of the names it masks), so the keyed hash is computed
 * once per hook.
 */
export async function shownHost(name: string, redactor: Redactor, salt: string): Promise<string> {
  if (redactor.mode !== "strict") return name;
  const redacted = redactor.redactText(name).value;
  return redacted !== name ? redacted : await hostPseudonym(name, salt);
}

/** The context every event of this hook process shares (everything but run and session). */
export interface BaseContext {
  worker_id: string;
  project_id?: string;
  agent_role?: EventContext["agent_role"];
  /** `source` without `cwd`, which comes with each payload. */
  source: { host: string; project_dir?: string };
}

/**
 * The context of this worker: `worker_id` from `ZO_WORKER_ID` or the host, `project_id`,
 * `agent_role`, and `source` (host and `CLAUDE_PROJECT_DIR`).
 */
export async function baseContext(
  config: VmConfig,
  options: { redactor: Redactor; host: string; projectDir?: string },
): Promise<BaseContext> {
  const host = await shownHost(options.host, options.redactor, config.shared.redaction.salt);
  const context: BaseContext = {
    worker_id: config.workerId ?? host.slice(0, LIMITS.idChars),
    source: { host },
  };
  if (config.projectId) context.project_id = config.projectId;
  if (config.agentRole) context.agent_role = config.agentRole;
  if (options.projectDir) context.source.project_dir = options.projectDir;
  return context;
}

/**
 * The redactor a VM process builds from its settings: the configured mode, extra rules and salt,
 * with this machine's host name among the names to pseudonymise.
 */
export function redactorFor(redaction: RedactionConfig, host: string): Promise<Redactor> {
  return createRedactor({
    mode: redaction.mode,
    extraRules: redaction.extraRules,
    salt: redaction.salt,
    hostNames: [host, ...redaction.hostNames],
  });
}
