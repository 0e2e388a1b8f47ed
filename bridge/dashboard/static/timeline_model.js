// @ts-check
/**
 * The session timeline's model: a session's events in order, with each tool call's events
 * paired by `tool_use_id` (PreToolUse with its PostToolUse or PostToolUseFailure, and a
 * PermissionDenied that stopped it) and timed, and each subagent's events nested under its
 * SubagentStart (by `parent_event_id`, else by `agent_id`). Every event appears exactly once.
 * A usage event sits where it was read, not at its `ts` (the time of the API response it
 * describes, from the transcript: days old for a resumed conversation): see `readTimes`.
 * Pure, so the dashboard and its tests share it.
 *
 * @module
 */

/**
 * The part of an envelope the timeline reads.
 * @typedef {{
 *   event_id: string, ts: string, event_type: string, level: string,
 *   hook_event_name?: string, tool_name?: string, tool_use_id?: string, agent_id?: string,
 *   parent_event_id?: string, msg?: string, data?: Record<string, unknown>
 * }} TimelineEvent
 */

/**
 * One event on its own. For a usage event `ts`/`tsMs` are when it was read and
 * `responseTs`/`responseTsMs` the response's time (its `event.ts`).
 * @typedef {{ kind: "event", key: string, ts: string, tsMs: number, event: TimelineEvent,
 *   error: boolean, responseTs?: string, responseTsMs?: number }} EventItem
 */

/**
 * A tool call: its events (first the PreToolUse when there is one), outcome and one duration:
 * Claude Code's `duration_ms` of its answer (how long the tool ran) when the answer has one
 * (`durationFrom: "claude_code"`), else the time from its PreToolUse to its answer by the
 * events' clocks (`"hooks"`, which includes a permission prompt's wait).
 * @typedef {{ kind: "tool", key: string, ts: string, tsMs: number, tool_name: string,
 *   tool_use_id: string, pre?: TimelineEvent, post?: TimelineEvent, events: TimelineEvent[],
 *   outcome: "running" | "ok" | "failed" | "denied", durationMs?: number,
 *   durationFrom?: "claude_code" | "hooks", error: boolean }} ToolItem
 */

/**
 * A subagent: its SubagentStart (when seen), its SubagentStop, and what happened inside.
 * @typedef {{ kind: "subagent", key: string, ts: string, tsMs: number, agent_id: string,
 *   agent_type?: string, start?: TimelineEvent, stop?: TimelineEvent,
 *   children: TimelineItem[], durationMs?: number, error: boolean, errors: number,
 *   events: number }} SubagentItem
 */

/** @typedef {EventItem | ToolItem | SubagentItem} TimelineItem */

/**
 * The timeline and its totals.
 * @typedef {{ items: TimelineItem[], events: number, errors: number, tools: number,
 *   failedTools: number, runningTools: number, subagents: number,
 *   firstTsMs: number | undefined, lastTsMs: number | undefined }} Timeline
 */

/** Hook events that belong to a tool call when they carry its `tool_use_id`. */
const TOOL_HOOKS = new Set([
  "PreToolUse",
  "PostToolUse",
  "PostToolUseFailure",
  "PermissionRequest",
  "PermissionDenied",
]);

/**
 * True for an event that went wrong: level error, or an error event.
 * @param {TimelineEvent} event
 */
export function isErrorEvent(event) {
  return event.level === "error" || event.event_type === "error";
}

/** @param {TimelineEvent} a @param {TimelineEvent} b */
function byTime(a, b) {
  return Date.parse(a.ts) - Date.parse(b.ts) ||
    (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0);
}

/** @param {TimelineItem} item 1 for a usage event, which comes after the hook that read it */
function readRank(item) {
  return item.kind === "event" && item.responseTsMs !== undefined ? 1 : 0;
}

/** @param {TimelineItem} a @param {TimelineItem} b */
function itemOrder(a, b) {
  return a.tsMs - b.tsMs || readRank(a) - readRank(b) ||
    (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/**
 * Hooks after which the usage collector reads the session's transcripts (hooks/README.md,
 * "Usage collection").
 */
const USAGE_READ_HOOKS = new Set(["Stop", "SubagentStop", "SessionEnd", "PreCompact"]);

/**
 * When each usage event was read, by event id. The envelope has no read time: the collector
 * runs after a Stop, SubagentStop, SessionEnd or PreCompact, so a response is read at the first
 * of them at or after it; with none (not read by a hook of these events), not before the
 * session's first hook event.
 *
 * @param {readonly TimelineEvent[]} events in time order
 * @returns {Map<string, number>}
 */
export function readTimes(events) {
  const reads = events.filter((e) => USAGE_READ_HOOKS.has(e.hook_event_name ?? ""))
    .map((e) => Date.parse(e.ts));
  const firstHook = events.find((e) => e.event_type !== "usage");
  const floor = firstHook === undefined ? -Infinity : Date.parse(firstHook.ts);
  /** @type {Map<string, number>} */
  const times = new Map();
  for (const event of events) {
    if (event.event_type !== "usage") continue;
    const responseMs = Date.parse(event.ts);
    const read = reads.find((ms) => ms >= responseMs);
    times.set(event.event_id, read ?? Math.max(responseMs, floor));
  }
  return times;
}

/**
 * @param {TimelineEvent} event
 * @returns {string | undefined}
 */
function agentTypeOf(event) {
  const type = event.data?.agent_type;
  return typeof type === "string" ? type : undefined;
}

/**
 * Builds the timeline of one session's events (any order, duplicates by `event_id` ignored).
 *
 * @param {readonly TimelineEvent[]} input
 * @returns {Timeline}
 */
export function buildTimeline(input) {
  /** @type {Map<string, TimelineEvent>} */
  const unique = new Map();
  for (const event of input) if (!unique.has(event.event_id)) unique.set(event.event_id, event);
  const events = [...unique.values()].sort(byTime);
  const read = readTimes(events);
  /** @param {TimelineEvent} event */
  const placedMs = (event) => read.get(event.event_id) ?? Date.parse(event.ts);

  // Subagents: one group per SubagentStart, found by its event id or its agent id.
  /** @type {Map<string, SubagentItem>} */
  const groupByStart = new Map();
  /** @type {Map<string, SubagentItem>} */
  const groupByAgent = new Map();
  /** @type {(agentId: string, start?: TimelineEvent) => SubagentItem} */
  const newGroup = (agentId, start) => {
    const ts = start?.ts ?? "";
    /** @type {SubagentItem} */
    const group = {
      kind: "subagent",
      key: start ? `subagent:${start.event_id}` : `agent:${agentId}`,
      ts,
      tsMs: start ? Date.parse(start.ts) : Infinity,
      agent_id: agentId,
      children: [],
      error: false,
      errors: 0,
      events: 0,
    };
    if (start) {
      group.start = start;
      const type = agentTypeOf(start);
      if (type !== undefined) group.agent_type = type;
    }
    return group;
  };
  for (const event of events) {
    if (event.hook_event_name === "SubagentStart") {
      const group = newGroup(event.agent_id ?? event.event_id, event);
      groupByStart.set(event.event_id, group);
      if (event.agent_id !== undefined) groupByAgent.set(event.agent_id, group);
    }
  }

  /**
   * The subagent an event happened in, if any (creating a group for an agent whose start is
   * not among the events).
   * @param {TimelineEvent} event
   * @returns {SubagentItem | undefined}
   */
  const containerOf = (event) => {
    if (event.hook_event_name === "SubagentStart") {
      return event.parent_event_id === undefined
        ? undefined
        : groupByStart.get(event.parent_event_id);
    }
    const byParent = event.parent_event_id === undefined
      ? undefined
      : groupByStart.get(event.parent_event_id);
    if (byParent) return byParent;
    if (event.agent_id === undefined) return undefined;
    let group = groupByAgent.get(event.agent_id);
    if (group === undefined) {
      group = newGroup(event.agent_id);
      groupByAgent.set(event.agent_id, group);
    }
    return group;
  };

  /** @type {TimelineItem[]} */
  const top = [];
  /** @type {Map<string, ToolItem>} */
  const tools = new Map();
  /** @type {Set<SubagentItem>} */
  const placedGroups = new Set();
  let errors = 0;

  /** @param {SubagentItem | undefined} container @param {TimelineItem} item */
  const place = (container, item) => {
    if (container) container.children.push(item);
    else top.push(item);
  };

  for (const event of events) {
    const error = isErrorEvent(event);
    if (error) errors++;
    const container = containerOf(event);
    if (container && container.tsMs === Infinity) {
      // A subagent whose start is not here begins with its first event.
      container.tsMs = placedMs(event);
      container.ts = new Date(container.tsMs).toISOString();
    }
    // A SubagentStart heads its group, which is placed below once every group exists.
    if (event.hook_event_name === "SubagentStart" && groupByStart.has(event.event_id)) continue;
    if (event.hook_event_name === "SubagentStop" && container) container.stop = event;
    const toolUseId = event.tool_use_id;
    if (toolUseId !== undefined && TOOL_HOOKS.has(event.hook_event_name ?? "")) {
      let tool = tools.get(toolUseId);
      if (tool === undefined) {
        tool = {
          kind: "tool",
          key: `tool:${toolUseId}`,
          ts: event.ts,
          tsMs: Date.parse(event.ts),
          tool_name: event.tool_name ?? "tool",
          tool_use_id: toolUseId,
          events: [],
          outcome: "running",
          error: false,
        };
        tools.set(toolUseId, tool);
        place(container, tool);
      }
      tool.events.push(event);
      if (event.tool_name !== undefined && tool.tool_name === "tool") {
        tool.tool_name = event.tool_name;
      }
      const hook = event.hook_event_name;
      if (hook === "PreToolUse" && tool.pre === undefined) tool.pre = event;
      if ((hook === "PostToolUse" || hook === "PostToolUseFailure") && tool.post === undefined) {
        tool.post = event;
        tool.outcome = hook === "PostToolUse" ? "ok" : "failed";
      }
      if (hook === "PermissionDenied" && tool.post === undefined) tool.outcome = "denied";
      if (error) tool.error = true;
      continue;
    }
    const readMs = read.get(event.event_id);
    place(
      container,
      readMs === undefined
        ? {
          kind: "event",
          key: `event:${event.event_id}`,
          ts: event.ts,
          tsMs: Date.parse(event.ts),
          event,
          error,
        }
        : {
          kind: "event",
          key: `event:${event.event_id}`,
          ts: new Date(readMs).toISOString(),
          tsMs: readMs,
          event,
          error,
          responseTs: event.ts,
          responseTsMs: Date.parse(event.ts),
        },
    );
  }

  // Subagent groups go where their start happened (top level, or inside their parent).
  for (const group of groupByStart.values()) {
    place(containerOf(/** @type {TimelineEvent} */ (group.start)), group);
    placedGroups.add(group);
  }
  for (const group of groupByAgent.values()) {
    if (!placedGroups.has(group)) top.push(group);
  }

  let failedTools = 0;
  let runningTools = 0;
  for (const tool of tools.values()) {
    if (tool.outcome === "failed") {
      tool.error = true;
      failedTools++;
    }
    if (tool.outcome === "running") runningTools++;
    const ran = tool.post?.data?.duration_ms;
    if (typeof ran === "number" && Number.isFinite(ran) && ran >= 0) {
      tool.durationMs = ran;
      tool.durationFrom = "claude_code";
    } else if (tool.pre && tool.post) {
      tool.durationMs = Date.parse(tool.post.ts) - Date.parse(tool.pre.ts);
      tool.durationFrom = "hooks";
    }
    // Listed from the PreToolUse on, whichever event arrived first.
    tool.events.sort(byTime);
    const first = tool.pre ?? tool.events[0];
    if (first) {
      tool.ts = first.ts;
      tool.tsMs = Date.parse(first.ts);
    }
  }

  /** @param {TimelineItem[]} items @returns {boolean} */
  const finish = (items) => {
    items.sort(itemOrder);
    let anyError = false;
    for (const item of items) {
      if (item.kind === "subagent") {
        const inner = finish(item.children);
        const all = eventsOf(item);
        item.events = all.length;
        item.errors = all.filter(isErrorEvent).length;
        item.error = item.errors > 0 || inner;
        if (item.start && item.stop) {
          item.durationMs = Date.parse(item.stop.ts) - Date.parse(item.start.ts);
        }
      }
      if (item.error) anyError = true;
    }
    return anyError;
  };
  finish(top);

  // The session's span comes from its hook events: a usage event's `ts` is the time of the API
  // response it describes, read from the transcript, which for a resumed session can be days
  // before this session started. Usage events only when there is nothing else.
  const hooks = events.filter((event) => event.event_type !== "usage");
  const spanned = hooks.length > 0 ? hooks : events;
  const first = spanned[0];
  const last = spanned[spanned.length - 1];
  return {
    items: top,
    events: events.length,
    errors,
    tools: tools.size,
    failedTools,
    runningTools,
    subagents: new Set([...groupByStart.values(), ...groupByAgent.values()]).size,
    firstTsMs: first ? Date.parse(first.ts) : undefined,
    lastTsMs: last ? Date.parse(last.ts) : undefined,
  };
}

/**
 * The events of an item, in order (a subagent's include its start and everything inside).
 * @param {TimelineItem} item
 * @returns {TimelineEvent[]}
 */
export function eventsOf(item) {
  if (item.kind === "event") return [item.event];
  if (item.kind === "tool") return item.events;
  return [
    ...(item.start ? [item.start] : []),
    ...item.children.flatMap(eventsOf),
  ];
}

/** Claude Code's telemetry records the timeline shows unasked: its API requests and errors. */
const SHOWN_TELEMETRY = new Set(["claude_code.api_request", "claude_code.api_error"]);

/**
 * True for one of Claude Code's own telemetry records the timeline leaves out unless the filter
 * asks for telemetry: metric points, hook runs, tool decisions (the hooks show those), ...
 * @param {TimelineEvent} event
 */
export function isTelemetryDetail(event) {
  return event.event_type === "telemetry" && !SHOWN_TELEMETRY.has(String(event.data?.name));
}

/**
 * The items that hold at least one event matching `filter` (a subagent keeps only its matching
 * children); an empty filter keeps everything but telemetry detail (`isTelemetryDetail`), which
 * `event_type: "telemetry"` shows.
 *
 * @param {readonly TimelineItem[]} items
 * @param {{ event_type?: string, tool_name?: string, level?: string, errorsOnly?: boolean }} filter
 * @returns {TimelineItem[]}
 */
export function filterTimeline(items, filter) {
  /** @param {TimelineEvent} event */
  const matches = (event) =>
    (filter.event_type === "telemetry" || !isTelemetryDetail(event)) &&
    (!filter.event_type || event.event_type === filter.event_type) &&
    (!filter.tool_name || event.tool_name === filter.tool_name) &&
    (!filter.level || event.level === filter.level) &&
    (!filter.errorsOnly || isErrorEvent(event));
  if (!filter.event_type && !filter.tool_name && !filter.level && !filter.errorsOnly) {
    return items.filter((item) => item.kind !== "event" || !isTelemetryDetail(item.event))
      .map((item) =>
        item.kind === "subagent"
          ? { ...item, children: filterTimeline(item.children, filter) }
          : item
      );
  }
  /** @type {TimelineItem[]} */
  const kept = [];
  for (const item of items) {
    if (item.kind === "subagent") {
      const children = filterTimeline(item.children, filter);
      if (children.length > 0 || (item.start && matches(item.start))) {
        kept.push({ ...item, children });
      }
    } else if (item.kind === "tool") {
      if (item.events.some(matches) || (filter.errorsOnly && item.error)) kept.push(item);
    } else if (matches(item.event)) {
      kept.push(item);
    }
  }
  return kept;
}
