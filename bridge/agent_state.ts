/**
 * The `agent_state` collection's records: the latest state of each project, worker, run and
 * session, folded from the events stored for it. Pure functions; the store reads the current
 * records, applies a batch of newly stored events and upserts the result.
 *
 * @module
 */
import type { Event } from "../shared/schema.ts";
import { addTokens, type TokenCounts, zeroTokens } from "../shared/usage/tokens.ts";

/** What an agent is doing, as its latest event says. */
export const AGENT_STATUSES = ["active", "idle", "ended", "error"] as const;
/** One of {@linkcode AGENT_STATUSES}. */
export type AgentStatus = typeof AGENT_STATUSES[number];

/** The level a state record summarises. */
export const STATE_SCOPES = ["project", "worker", "run", "session"] as const;
/** One of {@linkcode STATE_SCOPES}. */
export type StateScope = typeof STATE_SCOPES[number];

/** Running totals of a state record. */
export interface StateCounts {
  /** Events stored for it. */
  events: number;
  /** Events at level "error" (failed tool calls, API errors, ...). */
  errors: number;
  /**
   * Tool calls: each `tool_use_id` once, on whichever of its events comes first (PreToolUse, or
   * its answer or permission event when no PreToolUse arrives), as the session timeline pairs
   * them; a tool event without a `tool_use_id` (own events) counts on its own.
   */
  tool_calls: number;
  /** Failed tool calls (PostToolUseFailure). */
  tool_failures: number;
  /** Sessions started (SessionStart). */
  sessions_started: number;
  /** Subagents started (SubagentStart). */
  subagents_started: number;
}

/**
 * Token usage on a state record: API responses and their tokens, each response counted once
 * (only by how much it raised its response's maximum; see `usage_records.ts`).
 */
export interface StateUsage extends TokenCounts {
  messages: number;
}

/** No usage yet. */
export function zeroUsage(): StateUsage {
  return { messages: 0, ...zeroTokens() };
}

/** Adds `other` to `into`. */
export function addUsage(into: StateUsage, other: Readonly<StateUsage>): StateUsage {
  into.messages += other.messages;
  addTokens(into, other);
  return into;
}

/** One `agent_state` record. */
export interface AgentState {
  /** Record id: `["<scope>", project_id or null, <scope's id>]` as JSON. */
  id: string;
  scope: StateScope;
  project_id?: string;
  /** The worker: the key for worker scope, else the latest event's (not on project records). */
  worker_id?: string;
  /** The run: the key for run scope, else the latest event's (not on project records). */
  run_id?: string;
  /** The session: the key for session scope, else the latest event's (not on project records). */
  session_id?: string;
  status: AgentStatus;
  /**
   * The first event's time: of its hook events, once it has one. A usage event's `ts` is the
   * time of a response in the transcript, days old for a resumed conversation.
   */
  first_ts: string;
  /** True while `first_ts` comes from usage events only (no other event seen yet). */
  first_ts_of_usage?: true;
  last_ts: string;
  last_ts_ms: number;
  last_event_id: string;
  last_event_type: string;
  last_hook_event_name?: string;
  last_tool_name?: string;
  last_msg?: string;
  counts: StateCounts;
  /** Token usage of the scope, once it has any (see {@linkcode StateUsage}). */
  usage?: StateUsage;
  /**
   * Session records only: the latest `tool_use_id`s counted (at most
   * {@linkcode RECENT_TOOL_USES}), so that a call's second event does not count it again.
   */
  tool_use_ids?: string[];
}

/** Hook events of a tool call, paired by `tool_use_id` (as in the dashboard's timeline). */
export const TOOL_CALL_HOOKS: ReadonlySet<string> = new Set([
  "PreToolUse",
  "PostToolUse",
  "PostToolUseFailure",
  "PermissionRequest",
  "PermissionDenied",
]);

/**
 * How many `tool_use_id`s a session record remembers. A call's events come close together
 * (a parallel batch is a handful of calls), so a call whose other event comes more than this
 * many calls later is counted twice: a bound, so a long session's record stays small.
 */
export const RECENT_TOOL_USES = 128;

/**
 * Whether `event` is a tool call not counted yet for its session; remembers it in the session
 * record's {@linkcode AgentState.tool_use_ids} when it is one.
 */
function isNewToolCall(event: Event, session: AgentState): boolean {
  const hook = event.hook_event_name;
  const id = event.tool_use_id;
  if (id === undefined || hook === undefined || !TOOL_CALL_HOOKS.has(hook)) {
    return event.event_type === "tool_invocation" && (hook === "PreToolUse" || hook === undefined);
  }
  const seen = session.tool_use_ids ?? [];
  if (seen.includes(id)) return false;
  session.tool_use_ids = [...seen, id].slice(-RECENT_TOOL_USES);
  return true;
}

/**
 * The status an event leaves its agent in: a session end ends it, a finished turn (Stop) or an
 * idle teammate makes it idle, an error event (a failed turn) marks it failed; anything else
 * means it is working. A failed tool call alone is not an error state: the agent carries on.
 */
export function statusOf(event: Pick<Event, "event_type">): AgentStatus {
  switch (event.event_type) {
    case "session_end":
      return "ended";
    case "done":
    case "worker_heartbeat":
      return "idle";
    case "error":
      return "error";
    default:
      return "active";
  }
}

/** A record key of one event. */
export interface StateKey {
  id: string;
  scope: StateScope;
  project_id?: string;
  key: string;
}

/** The records an event updates: its project, worker, run and session, where it names them. */
export function stateKeysOf(event: Event): StateKey[] {
  const project = event.project_id;
  const keys: StateKey[] = [];
  const add = (scope: StateScope, key: string) =>
    keys.push({
      id: JSON.stringify([scope, project ?? null, key]),
      scope,
      ...(project === undefined ? {} : { project_id: project }),
      key,
    });
  if (project !== undefined) add("project", project);
  if (event.worker_id !== undefined) add("worker", event.worker_id);
  add("run", event.run_id);
  add("session", event.session_id);
  return keys;
}

function emptyCounts(): StateCounts {
  return {
    events: 0,
    errors: 0,
    tool_calls: 0,
    tool_failures: 0,
    sessions_started: 0,
    subagents_started: 0,
  };
}

function addCounts(counts: StateCounts, event: Event, newToolCall: boolean): void {
  counts.events++;
  if (event.level === "error") counts.errors++;
  if (newToolCall) counts.tool_calls++;
  if (event.hook_event_name === "PostToolUseFailure") counts.tool_failures++;
  if (event.hook_event_name === "SessionStart") counts.sessions_started++;
  if (event.hook_event_name === "SubagentStart") counts.subagents_started++;
}

/**
 * False for Claude Code's own telemetry: its metric points are exported after the session ends
 * (at exit), and must not make an ended session look active again. They are counted all the same.
 */
function movesLast(event: Event): boolean {
  return event.event_type !== "telemetry";
}

/** True when `event` is later than the record's last event (ts, then event id, decide). */
function isLater(event: Event, tsMs: number, state: AgentState): boolean {
  return tsMs > state.last_ts_ms ||
    (tsMs === state.last_ts_ms && event.event_id > state.last_event_id);
}

function setLast(state: AgentState, event: Event, tsMs: number): void {
  state.status = statusOf(event);
  state.last_ts = event.ts;
  state.last_ts_ms = tsMs;
  state.last_event_id = event.event_id;
  state.last_event_type = event.event_type;
  for (const field of ["last_hook_event_name", "last_tool_name", "last_msg"] as const) {
    delete state[field];
  }
  if (event.hook_event_name !== undefined) state.last_hook_event_name = event.hook_event_name;
  if (event.tool_name !== undefined) state.last_tool_name = event.tool_name;
  if (event.msg !== undefined) state.last_msg = event.msg;
  if ((state.scope === "run" || state.scope === "session") && event.worker_id !== undefined) {
    state.worker_id = event.worker_id;
  }
  if (state.scope === "worker" || state.scope === "session") state.run_id = event.run_id;
  if (state.scope === "worker" || state.scope === "run") state.session_id = event.session_id;
}

/** Moves `first_ts` to `event` when it is earlier, or the first event that is not usage. */
function setFirst(state: AgentState, event: Event, tsMs: number): void {
  const usage = event.event_type === "usage";
  if (!usage && state.first_ts_of_usage) {
    state.first_ts = event.ts;
    delete state.first_ts_of_usage;
  } else if (tsMs < Date.parse(state.first_ts) && (!usage || state.first_ts_of_usage)) {
    state.first_ts = event.ts;
  }
}

/**
 * Folds newly stored events into their records. `previous` holds the current records by id
 * (absent ones start empty); the answer holds every record the events touch. Events may come in
 * any order: counts add up, and the "last" fields follow the latest event by ts.
 * Pass each event once: the caller has already removed duplicates. `usage` holds, by event id,
 * how much a usage event raised the usage of the records it touches.
 */
export function applyEvents(
  previous: ReadonlyMap<string, AgentState>,
  events: readonly Event[],
  usage?: ReadonlyMap<string, StateUsage>,
): Map<string, AgentState> {
  const touched = new Map<string, AgentState>();
  for (const event of events) {
    const tsMs = Date.parse(event.ts);
    const states = stateKeysOf(event).map((key) => {
      const current = touched.get(key.id) ?? previous.get(key.id);
      if (current !== undefined) {
        const state = touched.has(key.id) ? current : structuredClone(current);
        if (movesLast(event) && isLater(event, tsMs, state)) setLast(state, event, tsMs);
        setFirst(state, event, tsMs);
        return state;
      }
      const state: AgentState = {
        id: key.id,
        scope: key.scope,
        ...(key.project_id === undefined ? {} : { project_id: key.project_id }),
        ...({ [`${key.scope}_id`]: key.key } as Partial<AgentState>),
        status: statusOf(event),
        first_ts: event.ts,
        last_ts: event.ts,
        last_ts_ms: tsMs,
        last_event_id: event.event_id,
        last_event_type: event.event_type,
        counts: emptyCounts(),
      };
      if (event.event_type === "usage") state.first_ts_of_usage = true;
      setLast(state, event, tsMs);
      return state;
    });
    // Every event names its session, whose record decides whether a tool call is new.
    const session = states.find((state) => state.scope === "session")!;
    const newToolCall = isNewToolCall(event, session);
    const raised = usage?.get(event.event_id);
    for (const state of states) {
      addCounts(state.counts, event, newToolCall);
      if (raised !== undefined) state.usage = addUsage(state.usage ?? zeroUsage(), raised);
      touched.set(state.id, state);
    }
  }
  return touched;
}

/** The record's filterable fields, as Chroma metadata (scalars only). */
export function stateMetadata(state: AgentState): Record<string, string | number> {
  const metadata: Record<string, string | number> = {
    scope: state.scope,
    status: state.status,
    ts: state.last_ts,
    ts_ms: state.last_ts_ms,
    last_event_type: state.last_event_type,
    events: state.counts.events,
    errors: state.counts.errors,
    tool_calls: state.counts.tool_calls,
  };
  for (const field of ["project_id", "worker_id", "run_id", "session_id"] as const) {
    const value = state[field];
    if (value !== undefined) metadata[field] = value;
  }
  return metadata;
}

/** Reads a stored record back; undefined for anything that is not one. */
export function parseState(document: string | null | undefined): AgentState | undefined {
  if (typeof document !== "string") return undefined;
  try {
    const value = JSON.parse(document);
    if (
      value === null || typeof value !== "object" || typeof value.id !== "string" ||
      typeof value.last_ts_ms !== "number" || typeof value.counts !== "object"
    ) return undefined;
    const state = { ...value, counts: { ...emptyCounts(), ...value.counts } } as AgentState;
    if (value.usage !== undefined) state.usage = { ...zeroUsage(), ...value.usage };
    return state;
  } catch {
    return undefined;
  }
}
