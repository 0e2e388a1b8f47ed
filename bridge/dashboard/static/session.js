/**
 * The session timeline: every event of a session in order, its redacted payload one click away,
 * tool calls paired with their durations, subagents nested under their start, errors marked.
 * New events appear as they are stored.
 *
 * @module
 */
import { copyButton, h, notice, replace, statusBadge } from "./dom.js";
import { filterForm } from "./filters.js";
import {
  formatAgo,
  formatCount,
  formatDuration,
  formatOffset,
  formatTime,
  formatUsd,
} from "./format.js";
import { foldLiveEvent } from "./state_fold.js";
import { buildTimeline, filterTimeline } from "./timeline_model.js";
import { formatHash } from "./url_state.js";

/** Most events read for one session. */
const MAX_EVENTS = 20_000;

/**
 * @typedef {import("./timeline_model.js").TimelineEvent} TimelineEvent
 * @typedef {import("./timeline_model.js").TimelineItem} TimelineItem
 * @typedef {import("./state_fold.js").StateRecord} StateRecord
 * @typedef {import("./view.js").ViewContext} ViewContext
 */

/** @param {TimelineEvent} event */
function label(event) {
  return event.hook_event_name ?? event.event_type;
}

/** @param {string} key */
function domId(key) {
  return `t-${key.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

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
        ? h("h4", {}, `${label(event)} · ${formatTime(Date.parse(event.ts))}`)
        : null,
      h("pre", { tabindex: "0" }, JSON.stringify(event, null, 2)),
    )
  );
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
  /** @type {any} */
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

  const drawHeader = (/** @type {import("./timeline_model.js").Timeline} */ model) => {
    const record = [...state.values()].find((r) =>
      r.scope === "session" && r.session_id === sessionId
    );
    const now = Date.now();
    /** @type {HTMLElement[]} */
    const facts = [];
    const fact = (/** @type {string} */ term, /** @type {any} */ value) =>
      facts.push(h("div", {}, h("dt", {}, term), h("dd", {}, value)));
    if (record) {
      fact("Status", statusBadge(record.status));
      if (record.project_id) {
        fact(
          "Project",
          h(
            "a",
            { href: formatHash("fleet", { project_id: record.project_id }) },
            record.project_id,
          ),
        );
      }
      if (record.worker_id) {
        fact(
          "Worker",
          h("a", { href: formatHash("fleet", { worker_id: record.worker_id }) }, record.worker_id),
        );
      }
      if (record.run_id) {
        fact(
          "Run",
          h("a", { href: formatHash("fleet", { run_id: record.run_id }) }, record.run_id),
        );
      }
      fact(
        "Last event",
        h(
          "time",
          { datetime: record.last_ts, title: formatTime(record.last_ts_ms) },
          formatAgo(record.last_ts_ms, now),
        ),
      );
    }
    if (model.firstTsMs !== undefined && model.lastTsMs !== undefined) {
      fact("Started", formatTime(model.firstTsMs));
      fact("Span", formatDuration(model.lastTsMs - model.firstTsMs));
    }
    fact("Events", formatCount(model.events));
    fact(
      "Errors",
      model.errors > 0
        ? h(
          "a",
          { class: "has-errors", href: "#", onclick: jumpToError },
          formatCount(model.errors),
        )
        : "0",
    );
    fact(
      "Tool calls",
      `${formatCount(model.tools)} (${formatCount(model.failedTools)} failed, ${
        formatCount(model.runningTools)
      } without an answer)`,
    );
    fact("Subagents", formatCount(model.subagents));
    if (usage && usage.totals && usage.totals.messages > 0) {
      const t = usage.totals;
      fact(
        "Tokens",
        `${formatCount(t.total_tokens)} (in ${formatCount(t.input_tokens)}, out ${
          formatCount(t.output_tokens)
        }, cache ${formatCount(t.cache_creation_input_tokens)} + ${
          formatCount(t.cache_read_input_tokens)
        })`,
      );
      fact(
        "Cost",
        h(
          "a",
          { href: formatHash("usage", { session_id: sessionId, group_by: "model" }) },
          `${formatUsd(t.cost_usd)}${t.cost_complete === false ? " (incomplete)" : ""}`,
        ),
      );
    }
    replace(header, h("dl", { class: "facts" }, facts));
  };

  /** @param {Event} event */
  function jumpToError(event) {
    event.preventDefault();
    const first = list.querySelector(".is-error");
    if (first instanceof HTMLElement) {
      first.scrollIntoView({ block: "center" });
      const focusable = first.querySelector("button, a");
      if (focusable instanceof HTMLElement) focusable.focus();
    }
  }

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
      h("button", {
        type: "button",
        class: "toggle",
        "aria-expanded": String(isOpen),
        "aria-controls": `${id}-payload`,
        onclick: () => {
          if (open.has(item.key)) open.delete(item.key);
          else open.add(item.key);
          draw();
        },
      }, isOpen ? `Hide ${what}` : `Show ${what}`);
    if (item.kind === "event") {
      const event = item.event;
      return h(
        "li",
        { class: classes.join(" "), id, dataset: { eventId: event.event_id } },
        h(
          "div",
          { class: "row" },
          offset,
          h("span", { class: `badge type-${event.event_type}` }, label(event)),
          item.error ? h("span", { class: "flag" }, "error") : null,
          event.tool_name ? h("span", { class: "tool" }, event.tool_name) : null,
          h("span", { class: "msg" }, event.msg ?? ""),
          toggle("payload"),
        ),
        isOpen ? h("div", { class: "detail", id: `${id}-payload` }, payload([event])) : null,
      );
    }
    if (item.kind === "tool") {
      const outcome = item.outcome;
      const summary = (item.post ?? item.pre ?? item.events[0])?.msg ?? "";
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
          h(
            "span",
            { class: `outcome outcome-${outcome}` },
            outcome === "running" ? "no answer yet" : outcome,
          ),
          item.durationMs !== undefined
            ? h(
              "span",
              { class: "duration", title: "PreToolUse to its answer" },
              formatDuration(item.durationMs),
            )
            : null,
          h("span", { class: "msg" }, summary),
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
        h(
          "span",
          { class: "msg" },
          `${formatCount(item.events)} events${
            item.durationMs !== undefined
              ? ` · ${formatDuration(item.durationMs)}`
              : item.stop
              ? ""
              : " · running"
          }`,
        ),
        h("button", {
          type: "button",
          class: "toggle",
          "aria-expanded": String(!isCollapsed),
          "aria-controls": `${id}-children`,
          onclick: () => {
            if (collapsed.has(item.key)) collapsed.delete(item.key);
            else collapsed.add(item.key);
            draw();
          },
        }, isCollapsed ? "Show events" : "Hide events"),
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

  expandAll.addEventListener("click", () => {
    const model = buildTimeline([...events.values()]);
    const walk = (/** @type {TimelineItem[]} */ items) => {
      for (const item of items) {
        open.add(item.key);
        if (item.kind === "subagent") walk(item.children);
      }
    };
    walk(model.items);
    collapsed.clear();
    draw();
  });
  collapseAll.addEventListener("click", () => {
    open.clear();
    draw();
  });

  let scheduled = false;
  const scheduleDraw = () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      draw();
    });
  };

  const load = async () => {
    try {
      const query = new URLSearchParams({ session_id: sessionId });
      const states = new URLSearchParams({
        collection: "agent_state",
        scope: "session",
        session_id: sessionId,
      });
      const usageParams = new URLSearchParams({ session_id: sessionId, group_by: "model" });
      const [page, records, usageAnswer] = await Promise.all([
        api.queryAll(query, { max: MAX_EVENTS, signal }),
        api.get("query", states, signal),
        // Usage is optional: a bridge without GET /usage still shows the timeline.
        api.get("usage", usageParams, signal).catch(() => undefined),
      ]);
      for (const event of page.results) events.set(event.event_id, event);
      for (const record of records.results) state.set(record.id, record);
      usage = usageAnswer;
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
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    void load();
  };
  const fallback = setTimeout(start, 1_500);
  signal.addEventListener("abort", () => clearTimeout(fallback));
  api.follow(new URLSearchParams({ session_id: sessionId }), {
    signal,
    onState: ctx.setLive,
    onReady: (reconnected) => {
      clearTimeout(fallback);
      if (reconnected) void load();
      else start();
    },
    onEvents: (incoming) => {
      for (const raw of incoming) {
        const event = /** @type {TimelineEvent} */ (/** @type {unknown} */ (raw));
        if (events.has(event.event_id)) continue;
        events.set(event.event_id, event);
        foldLiveEvent(state, /** @type {any} */ (raw));
        fresh.add(`event:${event.event_id}`);
        if (event.tool_use_id) fresh.add(`tool:${event.tool_use_id}`);
      }
      if (loaded) scheduleDraw();
    },
  });
}
