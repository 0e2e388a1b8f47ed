// @ts-check
/**
 * The session timeline: every event of a session in order, its redacted payload one click away,
 * tool calls paired with their durations, subagents nested under their start, errors marked.
 * New events appear as they are stored. This module draws; what it draws comes from
 * `session_model.js` and `timeline_model.js`.
 *
 * @module
 */
import { copyButton, h, notice, replace, statusBadge } from "./dom.js";
import { filterForm } from "./filters.js";
import { formatCount, formatOffset, formatTime } from "./format.js";
import {
  addLiveEvents,
  allKeys,
  domId,
  eventLabel,
  MAX_EVENTS,
  responseText,
  sessionFacts,
  sessionQueries,
  subagentSummary,
  toolDuration,
  toolOutcomeText,
  toolSummary,
} from "./session_model.js";
import { buildTimeline, filterTimeline } from "./timeline_model.js";
import { formatHash } from "./url_state.js";
import { drawScheduler, flip, followThenLoad, toggleButton } from "./view_parts.js";

/**
 * @typedef {import("./timeline_model.js").TimelineEvent} TimelineEvent
 * @typedef {import("./timeline_model.js").TimelineItem} TimelineItem
 * @typedef {import("./timeline_model.js").Timeline} Timeline
 * @typedef {import("./session_model.js").Fact} Fact
 * @typedef {import("./state_fold.js").StateRecord} StateRecord
 * @typedef {import("./api_types.js").UsageAnswer} UsageAnswer
 * @typedef {import("./api_types.js").QueryResults} QueryResults
 * @typedef {import("./view.js").ViewContext} ViewContext
 */

/**
 * The payload block of some events.
 * @param {TimelineEvent[]} events
 */
function payload(events) {
  return events.map((event) =>
    h(
      "section",
      { class: "payload" },
      events.length > 1
        ? h("h4", {}, `${eventLabel(event)} · ${formatTime(Date.parse(event.ts))}`)
        : null,
      h("pre", { tabindex: "0" }, JSON.stringify(event, null, 2)),
    )
  );
}

/**
 * One header fact as a term and its value.
 * @param {Fact} fact
 * @param {(event: Event) => void} jumpToError
 */
function factElement(fact, jumpToError) {
  const value = fact.status !== undefined
    ? statusBadge(fact.status)
    : fact.time
    ? h("time", { datetime: fact.time.datetime, title: fact.time.title }, fact.text)
    : fact.jump === "error"
    ? h("a", { class: "has-errors", href: "#", onclick: jumpToError }, fact.text)
    : fact.href
    ? h("a", { href: fact.href }, fact.text)
    : fact.text;
  return h("div", {}, h("dt", {}, fact.term), h("dd", {}, value));
}

/**
 * Renders a session's timeline into `root` until `ctx.signal` aborts.
 * @param {HTMLElement} root
 * @param {ViewContext} ctx
 */
export function renderSession(root, ctx) {
  const { params, api, signal } = ctx;
  const sessionId = params.session_id;
  if (!sessionId) {
    replace(
      root,
      h("h2", { class: "view-title" }, "Session"),
      notice(
        "info",
        "Pick a session in the ",
        h("a", { href: formatHash("fleet", {}) }, "fleet overview"),
        " or find one with a ",
        h("a", { href: formatHash("events", {}) }, "search"),
        ".",
      ),
    );
    ctx.ready("session");
    return;
  }

  /** @type {Map<string, TimelineEvent>} */
  const events = new Map();
  /** @type {Map<string, StateRecord>} */
  const state = new Map();
  /** @type {Set<string>} */
  const open = new Set(params.event ? [`event:${params.event}`] : []);
  /** @type {Set<string>} */
  const collapsed = new Set();
  /** @type {Set<string>} */
  let fresh = new Set();
  let loaded = false;
  let complete = true;
  /** @type {string | undefined} */
  let error;
  /** @type {UsageAnswer | undefined} */
  let usage;
  let scrolled = false;

  const header = h("div", { class: "session-head" });
  const list = h("div", { class: "timeline-wrap" });
  const expandAll = h("button", { type: "button", class: "secondary" }, "Expand all payloads");
  const collapseAll = h("button", { type: "button", class: "secondary" }, "Collapse all");
  const errorsOnly = h("input", {
    type: "checkbox",
    id: "timeline-errors",
    name: "errors",
    value: "1",
    checked: params.errors === "1",
  });
  replace(
    root,
    h(
      "h2",
      { class: "view-title" },
      "Session ",
      h("code", {}, sessionId),
      " ",
      copyButton(sessionId, "session id"),
    ),
    header,
    filterForm({
      view: "session",
      params,
      fields: ["event_type", "tool_name", "level"],
      keep: ["session_id"],
      extra: [
        h(
          "div",
          { class: "field field-check" },
          errorsOnly,
          h("label", { for: "timeline-errors" }, "Errors only"),
        ),
      ],
    }),
    h("div", { class: "toolbar" }, expandAll, collapseAll),
    list,
  );

  /** @param {Event} event */
  const jumpToError = (event) => {
    event.preventDefault();
    const first = list.querySelector(".is-error");
    if (first instanceof HTMLElement) {
      first.scrollIntoView({ block: "center" });
      const focusable = first.querySelector("button, a");
      if (focusable instanceof HTMLElement) focusable.focus();
    }
  };

  /** @param {Timeline} model */
  const drawHeader = (model) => {
    const record = [...state.values()].find((r) =>
      r.scope === "session" && r.session_id === sessionId
    );
    const facts = sessionFacts({
      sessionId,
      timeline: model,
      now: Date.now(),
      ...(record ? { record } : {}),
      ...(usage ? { usage } : {}),
    });
    replace(
      header,
      h("dl", { class: "facts" }, facts.map((fact) => factElement(fact, jumpToError))),
    );
  };

  /**
   * @param {TimelineItem} item
   * @param {number} start
   * @returns {HTMLElement}
   */
  const renderItem = (item, start) => {
    const id = domId(item.key);
    const isOpen = open.has(item.key);
    const classes = ["item", `kind-${item.kind}`];
    if (item.error) classes.push("is-error");
    if (fresh.has(item.key)) classes.push("new");
    const offset = h(
      "time",
      { class: "offset", datetime: item.ts, title: formatTime(item.tsMs) },
      formatOffset(item.tsMs - start),
    );
    const toggle = (/** @type {string} */ what) =>
      toggleButton({
        expanded: isOpen,
        controls: `${id}-payload`,
        show: `Show ${what}`,
        hide: `Hide ${what}`,
        onToggle: () => {
          flip(open, item.key);
          draw();
        },
      });
    if (item.kind === "event") {
      const event = item.event;
      const response = responseText(item);
      return h(
        "li",
        { class: classes.join(" "), id, dataset: { eventId: event.event_id } },
        h(
          "div",
          { class: "row" },
          offset,
          h("span", { class: `badge type-${event.event_type}` }, eventLabel(event)),
          item.error ? h("span", { class: "flag" }, "error") : null,
          event.tool_name ? h("span", { class: "tool" }, event.tool_name) : null,
          response === undefined ? null : h(
            "time",
            { class: "response", datetime: item.responseTs ?? null },
            response,
          ),
          h("span", { class: "msg" }, event.msg ?? ""),
          toggle("payload"),
        ),
        isOpen ? h("div", { class: "detail", id: `${id}-payload` }, payload([event])) : null,
      );
    }
    if (item.kind === "tool") {
      const duration = toolDuration(item);
      return h(
        "li",
        {
          class: classes.join(" "),
          id,
          dataset: {
            toolUseId: item.tool_use_id,
            eventId: item.events.map((e) => e.event_id).join(" "),
          },
        },
        h(
          "div",
          { class: "row" },
          offset,
          h("span", { class: "badge type-tool_invocation" }, "tool call"),
          h("span", { class: "tool" }, item.tool_name),
          h("span", { class: `outcome outcome-${item.outcome}` }, toolOutcomeText(item)),
          duration ? h("span", { class: "duration", title: duration.title }, duration.text) : null,
          h("span", { class: "msg" }, toolSummary(item)),
          toggle(item.events.length === 1 ? "payload" : `${item.events.length} payloads`),
        ),
        isOpen ? h("div", { class: "detail", id: `${id}-payload` }, payload(item.events)) : null,
      );
    }
    const isCollapsed = collapsed.has(item.key);
    return h(
      "li",
      { class: classes.join(" "), id, dataset: { agentId: item.agent_id } },
      h(
        "div",
        { class: "row" },
        offset,
        h("span", { class: "badge type-subagent" }, "subagent"),
        h(
          "span",
          { class: "tool" },
          item.agent_type ? `${item.agent_id} (${item.agent_type})` : item.agent_id,
        ),
        item.error ? h("span", { class: "flag" }, `${formatCount(item.errors)} errors`) : null,
        h("span", { class: "msg" }, subagentSummary(item)),
        toggleButton({
          expanded: !isCollapsed,
          controls: `${id}-children`,
          show: "Show events",
          hide: "Hide events",
          onToggle: () => {
            flip(collapsed, item.key);
            draw();
          },
        }),
        item.start ? toggle("start payload") : null,
      ),
      isOpen && item.start
        ? h("div", { class: "detail", id: `${id}-payload` }, payload([item.start]))
        : null,
      isCollapsed ? null : h(
        "ol",
        {
          class: "children",
          id: `${id}-children`,
          "aria-label": `Events of subagent ${item.agent_id}`,
        },
        item.children.map((child) => renderItem(child, start)),
      ),
    );
  };

  const draw = () => {
    if (signal.aborted) return;
    if (!loaded) {
      replace(list, error ? notice("error", error) : h("p", { class: "muted" }, "Loading…"));
      return;
    }
    const model = buildTimeline([...events.values()]);
    drawHeader(model);
    const items = filterTimeline(model.items, {
      event_type: params.event_type,
      tool_name: params.tool_name,
      level: params.level,
      errorsOnly: params.errors === "1",
    });
    const start = model.firstTsMs ?? 0;
    replace(
      list,
      error ? notice("error", error) : null,
      complete
        ? null
        : notice("warn", `Showing the first ${formatCount(MAX_EVENTS)} events of this session.`),
      items.length === 0
        ? notice(
          "info",
          events.size === 0
            ? "No events stored for this session."
            : "No event matches these filters.",
        )
        : h(
          "ol",
          { class: "timeline", "aria-label": `Events of session ${sessionId}` },
          items.map((item) => renderItem(item, start)),
        ),
    );
    fresh = new Set();
    if (!scrolled && params.event) {
      const target = list.querySelector(`[data-event-id~="${CSS.escape(params.event)}"]`);
      if (target instanceof HTMLElement) {
        scrolled = true;
        target.classList.add("target");
        target.scrollIntoView({ block: "center" });
      }
    }
  };
  const scheduleDraw = drawScheduler(draw);

  expandAll.addEventListener("click", () => {
    for (const key of allKeys(buildTimeline([...events.values()]).items)) open.add(key);
    collapsed.clear();
    draw();
  });
  collapseAll.addEventListener("click", () => {
    open.clear();
    draw();
  });

  const load = async () => {
    const queries = sessionQueries(sessionId);
    try {
      const [page, records, usageAnswer] = await Promise.all([
        api.queryAll(queries.events, { max: MAX_EVENTS, signal }),
        api.get("query", queries.state, signal),
        // Usage is optional: a bridge without GET /usage still shows the timeline.
        api.get("usage", queries.usage, signal).catch(() => undefined),
      ]);
      const read = /** @type {TimelineEvent[]} */ (page.results);
      for (const event of read) events.set(event.event_id, event);
      const stateRecords = /** @type {{ results: StateRecord[] }} */ (records).results;
      for (const record of stateRecords) state.set(record.id, record);
      usage = /** @type {UsageAnswer | undefined} */ (usageAnswer);
      complete = page.complete;
      error = undefined;
    } catch (cause) {
      if (signal.aborted) return;
      error = `Cannot read this session: ${/** @type {Error} */ (cause).message}`;
    }
    loaded = true;
    draw();
    ctx.ready("session");
  };

  draw();
  followThenLoad(ctx, sessionQueries(sessionId).events, {
    load,
    onEvents: (incoming) => {
      for (const key of addLiveEvents(events, state, incoming)) fresh.add(key);
      if (loaded) scheduleDraw();
    },
  });
}
