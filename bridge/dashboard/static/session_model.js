// @ts-check
/**
 * The session view's model: what it reads, how live events join what was read, and the facts
 * and row texts it shows, computed from the session's events (`timeline_model.js` orders and
 * pairs them) without touching the page. Pure, so `session_model_test.ts` runs it in Deno;
 * `session.js` only draws what this returns.
 *
 * @module
 */
import { foldLiveEvent } from "./state_fold.js";
import { formatHash } from "./url_state.js";
import { formatAgo, formatCount, formatDuration, formatTime, formatUsd } from "./format.js";

/** Most events read for one session. */
export const MAX_EVENTS = 20_000;

/**
 * @typedef {import("./timeline_model.js").TimelineEvent} TimelineEvent
 * @typedef {import("./timeline_model.js").TimelineItem} TimelineItem
 * @typedef {import("./timeline_model.js").ToolItem} ToolItem
 * @typedef {import("./timeline_model.js").SubagentItem} SubagentItem
 * @typedef {import("./timeline_model.js").Timeline} Timeline
 * @typedef {import("./state_fold.js").StateRecord} StateRecord
 * @typedef {import("./api_types.js").Envelope} Envelope
 * @typedef {import("./api_types.js").UsageAnswer} UsageAnswer
 */

/**
 * The three reads of a session: its events, its `agent_state` record, its usage per model.
 * @param {string} sessionId
 */
export function sessionQueries(sessionId) {
  return {
    events: new URLSearchParams({ session_id: sessionId }),
    state: new URLSearchParams({
      collection: "agent_state",
      scope: "session",
      session_id: sessionId,
    }),
    usage: new URLSearchParams({ session_id: sessionId, group_by: "model" }),
  };
}

/**
 * Adds live events to the session's events (by id, each once) and folds them into its state
 * records; answers the keys of the timeline items they made new (to highlight them).
 *
 * @param {Map<string, TimelineEvent>} events
 * @param {Map<string, StateRecord>} state
 * @param {readonly Envelope[]} incoming
 * @returns {Set<string>}
 */
export function addLiveEvents(events, state, incoming) {
  /** @type {Set<string>} */
  const fresh = new Set();
  for (const event of incoming) {
    if (events.has(event.event_id)) continue;
    events.set(event.event_id, event);
    foldLiveEvent(state, event);
    fresh.add(`event:${event.event_id}`);
    if (event.tool_use_id) fresh.add(`tool:${event.tool_use_id}`);
  }
  return fresh;
}

/** How the timeline names Claude Code's own telemetry records it shows by default. */
const TELEMETRY_LABELS = /** @type {Record<string, string>} */ ({
  "claude_code.api_request": "API request",
  "claude_code.api_error": "API error",
});

/**
 * How the timeline names an event: its hook, else (Claude Code's telemetry) its record's name,
 * else its type.
 * @param {TimelineEvent} event
 */
export function eventLabel(event) {
  if (event.hook_event_name) return event.hook_event_name;
  if (event.event_type === "telemetry") {
    const name = String(event.data?.name ?? "");
    return TELEMETRY_LABELS[name] ?? (name.replace(/^claude_code\./, "") || "telemetry");
  }
  return event.event_type;
}

/**
 * An element id for a timeline item (keys hold characters ids may not).
 * @param {string} key
 */
export function domId(key) {
  return `t-${key.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

/**
 * Every item key a timeline has, subagents' children included ("Expand all").
 * @param {readonly TimelineItem[]} items
 * @returns {string[]}
 */
export function allKeys(items) {
  return items.flatMap((item) => [
    item.key,
    ...(item.kind === "subagent" ? allKeys(item.children) : []),
  ]);
}

/**
 * One fact of the session's header: a term and its value, with where it links to.
 * `status`: shown as a status badge; `time`: a `<time>` with the exact time as its title;
 * `jump`: a link to the first item of that kind.
 * @typedef {{ term: string, text: string, href?: string, status?: string,
 *   time?: { datetime: string, title: string }, jump?: "error" }} Fact
 */

/**
 * The session's header facts, in order. `record` is the session's `agent_state` record (its
 * status and owners); `usage` the answer of `GET /usage` for it, when the bridge has one.
 *
 * @param {{ sessionId: string, timeline: Timeline, record?: StateRecord, usage?: UsageAnswer,
 *   now: number }} input
 * @returns {Fact[]}
 */
export function sessionFacts(input) {
  const { timeline: model, record, usage } = input;
  /** @type {Fact[]} */
  const facts = [];
  if (record) {
    facts.push({ term: "Status", text: record.status, status: record.status });
    for (
      const [term, key] of /** @type {const} */ ([
        ["Project", "project_id"],
        ["Worker", "worker_id"],
        ["Run", "run_id"],
      ])
    ) {
      const value = record[key];
      if (value) facts.push({ term, text: value, href: formatHash("fleet", { [key]: value }) });
    }
    facts.push({
      term: "Last event",
      text: formatAgo(record.last_ts_ms, input.now),
      time: { datetime: record.last_ts, title: formatTime(record.last_ts_ms) },
    });
  }
  if (model.firstTsMs !== undefined && model.lastTsMs !== undefined) {
    facts.push({ term: "Started", text: formatTime(model.firstTsMs) });
    facts.push({ term: "Span", text: formatDuration(model.lastTsMs - model.firstTsMs) });
  }
  facts.push({ term: "Events", text: formatCount(model.events) });
  facts.push(
    model.errors > 0
      ? { term: "Errors", text: formatCount(model.errors), jump: "error" }
      : { term: "Errors", text: "0" },
  );
  facts.push({
    term: "Tool calls",
    text: `${formatCount(model.tools)} (${formatCount(model.failedTools)} failed, ${
      formatCount(model.runningTools)
    } without an answer)`,
  });
  facts.push({ term: "Subagents", text: formatCount(model.subagents) });
  const totals = usage?.totals;
  if (totals && totals.messages > 0) {
    facts.push({
      term: "Tokens",
      text: `${formatCount(totals.total_tokens)} (in ${formatCount(totals.input_tokens)}, out ${
        formatCount(totals.output_tokens)
      }, cache ${formatCount(totals.cache_creation_input_tokens)} + ${
        formatCount(totals.cache_read_input_tokens)
      })`,
    });
    facts.push({
      term: "Cost",
      text: `${formatUsd(totals.cost_usd)}${totals.cost_complete === false ? " (incomplete)" : ""}`,
      href: formatHash("usage", { session_id: input.sessionId, group_by: "model" }),
    });
  }
  const reported = totals?.claude_code;
  if (reported) {
    const difference = totals.cost_difference_usd;
    facts.push({
      term: "Claude Code's cost",
      text: `${formatUsd(reported.cost_usd)} over ${formatCount(reported.requests)} API requests` +
        (difference === null || difference === undefined
          ? ""
          : difference === 0
          ? " (as computed)"
          : ` (${difference > 0 ? "+" : "-"}${
            formatUsd(Math.abs(difference))
          } against the computed)`),
      href: formatHash("usage", { session_id: input.sessionId, group_by: "model" }),
    });
  }
  return facts;
}

/**
 * A tool call's outcome, as its row says it.
 * @param {ToolItem} tool
 */
export function toolOutcomeText(tool) {
  return tool.outcome === "running" ? "no answer yet" : tool.outcome;
}

/**
 * The duration shown on a tool call's row: its text says where it comes from.
 * @typedef {{ ms: number, text: string, title: string }} ToolDuration
 */

/**
 * The one duration of a tool call's row (see `ToolItem` in `timeline_model.js`).
 * @param {ToolItem} tool
 * @returns {ToolDuration | undefined}
 */
export function toolDuration(tool) {
  if (tool.durationMs === undefined) return undefined;
  const time = formatDuration(tool.durationMs);
  return tool.durationFrom === "claude_code"
    ? {
      ms: tool.durationMs,
      text: `ran ${time}`,
      title: "How long the tool ran, as Claude Code measured it (duration_ms)",
    }
    : {
      ms: tool.durationMs,
      text: `${time} between hooks`,
      title: "From the PreToolUse to its answer, by the events' times",
    };
}

/**
 * The message of a tool call's row: its answer's (what it did or why it failed), else the
 * call's. The answer's message names its `duration_ms` ("Bash done in 4187 ms: npm test"),
 * which the row shows already: it is left out, so the row has one duration.
 * @param {ToolItem} tool
 */
export function toolSummary(tool) {
  const event = tool.post ?? tool.pre ?? tool.events[0];
  const msg = event?.msg ?? "";
  const ran = tool.post?.data?.duration_ms;
  if (event !== tool.post || tool.durationFrom !== "claude_code" || typeof ran !== "number") {
    return msg;
  }
  // The templates of PostToolUse and PostToolUseFailure (shared/hook_events.ts).
  return msg.replace(new RegExp(`^(.*? (?:done|failed)) (?:in|after) ${ran} ms`), "$1");
}

/**
 * What a usage event's row says of the response it describes (it sits where it was read).
 * @param {import("./timeline_model.js").EventItem} item
 * @returns {string | undefined}
 */
export function responseText(item) {
  if (item.responseTsMs === undefined) return undefined;
  return `response at ${formatTime(item.responseTsMs)}`;
}

/**
 * The message of a subagent's row: its events, and how long it ran (or that it still runs).
 * @param {SubagentItem} item
 */
export function subagentSummary(item) {
  const time = item.durationMs !== undefined
    ? ` · ${formatDuration(item.durationMs)}`
    : item.stop
    ? ""
    : " · running";
  return `${formatCount(item.events)} events${time}`;
}
