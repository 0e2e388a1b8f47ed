// @ts-check
/**
 * The fleet overview's model: `agent_state` records grouped by project, and live events folded
 * into them between two reads, the way the bridge's `agent_state.ts` folds stored events
 * (`state_fold_test.ts` holds the two equal). Pure.
 *
 * @module
 */

/**
 * The part of an envelope the overview reads.
 * @typedef {{
 *   event_id: string, ts: string, event_type: string, level: string, session_id: string,
 *   run_id: string, project_id?: string, worker_id?: string, hook_event_name?: string,
 *   tool_name?: string, tool_use_id?: string, msg?: string
 * }} LiveEvent
 */

/**
 * Token totals a record may carry (added by the usage updater).
 * @typedef {{
 *   messages?: number, input_tokens?: number, output_tokens?: number,
 *   cache_creation_input_tokens?: number, cache_read_input_tokens?: number
 * }} RecordUsage
 */

/**
 * One `agent_state` record, as `GET /query?collection=agent_state` returns it.
 * @typedef {{
 *   id: string, scope: "project" | "worker" | "run" | "session", project_id?: string,
 *   worker_id?: string, run_id?: string, session_id?: string, status: string,
 *   first_ts: string, first_ts_of_usage?: true, last_ts: string, last_ts_ms: number,
 *   last_event_id: string, last_event_type: string, last_hook_event_name?: string, last_tool_name?: string,
 *   last_msg?: string, counts: StateCounts, usage?: RecordUsage, tool_use_ids?: string[]
 * }} StateRecord
 */

/**
 * A record's running totals (as `StateCounts` in `bridge/agent_state.ts`).
 * @typedef {{
 *   events: number, errors: number, tool_calls: number, tool_failures: number,
 *   sessions_started: number, subagents_started: number
 * }} StateCounts
 */

/**
 * A project with its records, newest activity first.
 * @typedef {{
 *   project_id: string | undefined, record: StateRecord | undefined, last_ts_ms: number,
 *   workers: StateRecord[], runs: StateRecord[], sessions: StateRecord[]
 * }} ProjectGroup
 */

/** @returns {StateCounts} */
function emptyCounts() {
  return {
    events: 0,
    errors: 0,
    tool_calls: 0,
    tool_failures: 0,
    sessions_started: 0,
    subagents_started: 0,
  };
}

/**
 * The status an event leaves its agent in (as `statusOf` in `bridge/agent_state.ts`).
 * @param {{ event_type: string }} event
 * @returns {"active" | "idle" | "ended" | "error"}
 */
export function statusOf(event) {
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

/**
 * The record ids an event updates (as `stateKeysOf` in `bridge/agent_state.ts`).
 * @param {LiveEvent} event
 * @returns {{ id: string, scope: StateRecord["scope"], key: string }[]}
 */
export function recordKeysOf(event) {
  const project = event.project_id;
  /** @type {{ id: string, scope: StateRecord["scope"], key: string }[]} */
  const keys = [];
  /** @param {StateRecord["scope"]} scope @param {string} key */
  const add = (scope, key) =>
    keys.push({ id: JSON.stringify([scope, project ?? null, key]), scope, key });
  if (project !== undefined) add("project", project);
  if (event.worker_id !== undefined) add("worker", event.worker_id);
  add("run", event.run_id);
  add("session", event.session_id);
  return keys;
}

/** Hook events of a tool call, paired by `tool_use_id` (as `TOOL_CALL_HOOKS` on the bridge). */
export const TOOL_CALL_HOOKS = new Set([
  "PreToolUse",
  "PostToolUse",
  "PostToolUseFailure",
  "PermissionRequest",
  "PermissionDenied",
]);

/** How many `tool_use_id`s a session record remembers (as `RECENT_TOOL_USES` on the bridge). */
export const RECENT_TOOL_USES = 128;

/**
 * Whether `event` is a tool call its session has not counted yet (each `tool_use_id` once,
 * whichever of its events comes first); remembers it in the session record when it is one.
 * As `isNewToolCall` in `bridge/agent_state.ts`.
 * @param {LiveEvent} event
 * @param {StateRecord} session
 */
function isNewToolCall(event, session) {
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
 * @param {StateCounts} counts
 * @param {LiveEvent} event
 * @param {boolean} newToolCall
 */
function addCounts(counts, event, newToolCall) {
  const bump = (/** @type {keyof StateCounts} */ name) => counts[name] = (counts[name] ?? 0) + 1;
  bump("events");
  if (event.level === "error") bump("errors");
  if (newToolCall) bump("tool_calls");
  if (event.hook_event_name === "PostToolUseFailure") bump("tool_failures");
  if (event.hook_event_name === "SessionStart") bump("sessions_started");
  if (event.hook_event_name === "SubagentStart") bump("subagents_started");
}

/**
 * @param {StateRecord} record
 * @param {LiveEvent} event
 * @param {number} tsMs
 */
function setLast(record, event, tsMs) {
  record.status = statusOf(event);
  record.last_ts = event.ts;
  record.last_ts_ms = tsMs;
  record.last_event_id = event.event_id;
  record.last_event_type = event.event_type;
  delete record.last_hook_event_name;
  delete record.last_tool_name;
  delete record.last_msg;
  if (event.hook_event_name !== undefined) record.last_hook_event_name = event.hook_event_name;
  if (event.tool_name !== undefined) record.last_tool_name = event.tool_name;
  if (event.msg !== undefined) record.last_msg = event.msg;
  const scope = record.scope;
  if ((scope === "run" || scope === "session") && event.worker_id !== undefined) {
    record.worker_id = event.worker_id;
  }
  if (scope === "worker" || scope === "session") record.run_id = event.run_id;
  if (scope === "worker" || scope === "run") record.session_id = event.session_id;
}

/**
 * Folds a live event into `records` (by id), in place; answers the ids it changed. A record
 * takes an event only when it is later than the record's last one (ts, then event id): the
 * records read from the bridge already count what came before, so an event that is not later
 * is taken as counted (late arrivals, and events in the same millisecond as the record's last
 * one but ordered before it by id, show at the next read).
 *
 * @param {Map<string, StateRecord>} records
 * @param {LiveEvent} event
 * @returns {string[]}
 */
export function foldLiveEvent(records, event) {
  const tsMs = Date.parse(event.ts);
  /** @type {string[]} */
  const changed = [];
  /** @type {StateRecord[]} */
  const taking = [];
  for (const key of recordKeysOf(event)) {
    let record = records.get(key.id);
    if (record === undefined) {
      record = /** @type {StateRecord} */ ({
        id: key.id,
        scope: key.scope,
        ...(event.project_id === undefined ? {} : { project_id: event.project_id }),
        [`${key.scope}_id`]: key.key,
        status: statusOf(event),
        first_ts: event.ts,
        last_ts: event.ts,
        last_ts_ms: tsMs,
        last_event_id: event.event_id,
        last_event_type: event.event_type,
        counts: emptyCounts(),
        ...(event.event_type === "usage" ? { first_ts_of_usage: true } : {}),
      });
      records.set(key.id, record);
    } else if (
      tsMs < record.last_ts_ms ||
      (tsMs === record.last_ts_ms && event.event_id <= record.last_event_id)
    ) {
      continue;
    } else if (record.first_ts_of_usage && event.event_type !== "usage") {
      // The first hook event after usage alone: a session starts with its hooks (as the
      // bridge's setFirst; later events only, so no earlier one to take here).
      record.first_ts = event.ts;
      delete record.first_ts_of_usage;
    }
    setLast(record, event, tsMs);
    taking.push(record);
    changed.push(key.id);
  }
  // The session's record decides whether a tool call is new; when it took the event as
  // counted already, so is the call.
  const session = taking.find((record) => record.scope === "session");
  const newToolCall = session !== undefined && isNewToolCall(event, session);
  for (const record of taking) addCounts(record.counts, event, newToolCall);
  return changed;
}

/** @param {StateRecord} a @param {StateRecord} b */
const newestFirst = (a, b) =>
  b.last_ts_ms - a.last_ts_ms || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * The records grouped by project, each list newest first; projects by their latest activity.
 * Records without a project form a group of their own (`project_id` undefined).
 *
 * @param {Iterable<StateRecord>} records
 * @returns {ProjectGroup[]}
 */
export function groupFleet(records) {
  /** @type {Map<string, ProjectGroup>} */
  const groups = new Map();
  for (const record of records) {
    const name = record.project_id ?? "";
    let group = groups.get(name);
    if (group === undefined) {
      group = {
        project_id: record.project_id,
        record: undefined,
        last_ts_ms: 0,
        workers: [],
        runs: [],
        sessions: [],
      };
      groups.set(name, group);
    }
    group.last_ts_ms = Math.max(group.last_ts_ms, record.last_ts_ms);
    if (record.scope === "project") group.record = record;
    else if (record.scope === "worker") group.workers.push(record);
    else if (record.scope === "run") group.runs.push(record);
    else if (record.scope === "session") group.sessions.push(record);
  }
  const list = [...groups.values()];
  for (const group of list) {
    group.workers.sort(newestFirst);
    group.runs.sort(newestFirst);
    group.sessions.sort(newestFirst);
  }
  return list.sort((a, b) =>
    b.last_ts_ms - a.last_ts_ms || String(a.project_id).localeCompare(String(b.project_id))
  );
}

/**
 * Tokens of a record's usage, all four kinds summed; undefined when it has none.
 * @param {StateRecord} record
 * @returns {number | undefined}
 */
export function recordTokens(record) {
  const usage = record.usage;
  if (usage === undefined) return undefined;
  return (usage.input_tokens ?? 0) + (usage.output_tokens ?? 0) +
    (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0);
}

/**
 * How many distinct sessions a worker or run record had, from the session records: one session
 * id is one session, however often it was resumed or compacted (each fires SessionStart, which
 * is what `counts.sessions_started` counts).
 *
 * @param {StateRecord[]} sessions
 * @param {"worker_id" | "run_id"} key
 * @param {StateRecord} record
 * @returns {number}
 */
export function distinctSessions(sessions, key, record) {
  const ids = new Set();
  for (const session of sessions) {
    if (session[key] === record[key] && session.session_id !== undefined) {
      ids.add(session.session_id);
    }
  }
  return ids.size;
}
