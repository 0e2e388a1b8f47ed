// @ts-check
/**
 * The fleet overview: projects, then their workers (VMs), runs and sessions, each with its
 * status from `agent_state`, its last event and its counts. Live events are folded in as they
 * are stored (`state_fold.js`); after a reconnect the records are read again.
 *
 * @module
 */
import { copyButton, h, notice, replace, statusBadge } from "./dom.js";
import { filterForm } from "./filters.js";
import { formatAgo, formatCount, formatTime, plural, shortId } from "./format.js";
import { distinctSessions, foldLiveEvent, groupFleet, recordTokens } from "./state_fold.js";
import { labelCells } from "./table_cards.js";
import { drawScheduler, flip, followThenLoad } from "./view_parts.js";
import {
  FLEET_MAX_RECORDS as MAX_RECORDS,
  formatHash,
  liveQuery,
  STATE_FILTERS,
  stateQuery,
} from "./url_state.js";
/** Rows shown per table before "Show all". */
const ROWS = 50;

/**
 * @typedef {import("./state_fold.js").StateRecord} StateRecord
 * @typedef {import("./api_types.js").Envelope} Envelope
 * @typedef {import("./view.js").ViewContext} ViewContext
 */

/**
 * A link to a view with parameters.
 * @param {string} view
 * @param {Record<string, string | undefined>} params
 * @param {string} text
 * @param {string} [title]
 */
function link(view, params, text, title) {
  return h("a", { href: formatHash(view, params), title: title ?? null }, text);
}

/**
 * The "last event" cell.
 * @param {StateRecord} record
 * @param {number} now
 */
function lastEvent(record, now) {
  const what = [record.last_hook_event_name ?? record.last_event_type, record.last_tool_name]
    .filter(Boolean).join(" · ");
  return h(
    "td",
    { class: "last" },
    h(
      "time",
      { datetime: record.last_ts, title: formatTime(record.last_ts_ms) },
      formatAgo(record.last_ts_ms, now),
    ),
    what ? h("span", { class: "muted" }, ` ${what}`) : null,
  );
}

/**
 * @param {number | undefined} value
 * @param {string} [cls]
 */
function num(value, cls) {
  return h("td", { class: `num${cls ? ` ${cls}` : ""}` }, formatCount(value));
}

/**
 * @param {StateRecord} record
 */
function errorsCell(record) {
  const errors = record.counts.errors ?? 0;
  return num(errors, errors > 0 ? "has-errors" : undefined);
}

/**
 * One table of records, with its first rows and a button for the rest.
 * @param {{
 *   caption: string, records: StateRecord[], headers: string[],
 *   row: (record: StateRecord) => HTMLElement[], changed: Set<string>, expanded: Set<string>,
 *   id: string, rerender: () => void,
 * }} spec
 */
function recordTable(spec) {
  if (spec.records.length === 0) return null;
  const all = spec.expanded.has(spec.id);
  const shown = all ? spec.records : spec.records.slice(0, ROWS);
  const table = h(
    "table",
    {},
    h("caption", {}, `${spec.caption} (${formatCount(spec.records.length)})`),
    h("thead", {}, h("tr", {}, spec.headers.map((text) => h("th", { scope: "col" }, text)))),
    h(
      "tbody",
      {},
      shown.map((record) =>
        h(
          "tr",
          {
            class: [
              spec.changed.has(record.id) ? "updated" : "",
              record.status === "error" ? "is-error" : "",
            ].join(" ").trim() || null,
            dataset: { id: record.id },
          },
          spec.row(record),
        )
      ),
    ),
  );
  const more = spec.records.length > ROWS
    ? h("button", {
      type: "button",
      class: "secondary",
      onclick: () => {
        flip(spec.expanded, spec.id);
        spec.rerender();
      },
    }, all ? "Show fewer" : `Show all ${formatCount(spec.records.length)}`)
    : null;
  labelCells(table);
  return h("div", { class: "table-wrap" }, table, more);
}

/**
 * Renders the fleet view into `root` until `ctx.signal` aborts.
 * @param {HTMLElement} root
 * @param {ViewContext} ctx
 */
export function renderFleet(root, ctx) {
  const { params, api, signal } = ctx;
  /** @type {Map<string, StateRecord>} */
  let records = new Map();
  let loaded = false;
  let complete = true;
  /** @type {Set<string>} */
  let changed = new Set();
  /** @type {Set<string>} */
  const expanded = new Set();
  /** @type {string | undefined} */
  let error;

  const body = h("div", { class: "fleet-body", "aria-live": "off" });
  replace(
    root,
    h("h2", { class: "view-title" }, "Fleet"),
    filterForm({
      view: "fleet",
      params,
      fields: ["project_id", "worker_id", "run_id", "session_id", "status", "range"],
    }),
    body,
  );

  const visible = () => {
    const { since } = ctx.bounds();
    return [...records.values()].filter((record) =>
      (!params.status || record.status === params.status) &&
      (since === undefined || record.last_ts_ms >= since) &&
      STATE_FILTERS.every((key) =>
        !params[key] || record.scope === "project" ||
        /** @type {Record<string, unknown>} */ (record)[key] === params[key]
      )
    );
  };

  const draw = () => {
    if (signal.aborted) return;
    if (!loaded) {
      replace(body, error ? notice("error", error) : h("p", { class: "muted" }, "Loading…"));
      return;
    }
    const now = Date.now();
    const groups = groupFleet(visible());
    const sections = groups.map((group) => {
      const project = group.project_id;
      const summary = group.record;
      const sessionCount = group.sessions.length;
      // A session resumed or compacted fires SessionStart again under the same id: the rows
      // count distinct session records, not SessionStart events (`counts.sessions_started`).
      const sessionsOf = (
        /** @type {"worker_id" | "run_id"} */ key,
        /** @type {StateRecord} */ r,
      ) => distinctSessions(group.sessions, key, r);
      const tokens = summary ? recordTokens(summary) : undefined;
      return h(
        "section",
        { class: "project", "aria-label": `Project ${project ?? "(none)"}` },
        h(
          "header",
          { class: "project-head" },
          h(
            "h3",
            {},
            project === undefined
              ? "No project"
              : link("fleet", { ...params, project_id: project }, project),
          ),
          summary ? statusBadge(summary.status) : null,
          h(
            "p",
            { class: "project-facts" },
            summary
              ? [
                "last event ",
                h(
                  "time",
                  { datetime: summary.last_ts, title: formatTime(summary.last_ts_ms) },
                  formatAgo(summary.last_ts_ms, now),
                ),
                ` · ${plural(summary.counts.events, "event")} · `,
                h(
                  "span",
                  { class: summary.counts.errors ? "has-errors" : null },
                  plural(summary.counts.errors, "error"),
                ),
                ` · ${plural(summary.counts.tool_calls, "tool call")}`,
                tokens === undefined ? "" : ` · ${plural(tokens, "token")}`,
                " · ",
              ]
              : null,
            `${plural(group.workers.length, "worker")} · ${plural(group.runs.length, "run")} · ${
              plural(sessionCount, "session")
            }`,
          ),
        ),
        recordTable({
          id: `${project}:workers`,
          caption: "Workers (VMs)",
          records: group.workers,
          headers: ["Worker", "Status", "Last event", "Events", "Errors", "Tool calls", "Sessions"],
          row: (r) => [
            h(
              "th",
              { scope: "row" },
              link("fleet", { ...params, worker_id: r.worker_id }, r.worker_id ?? ""),
            ),
            h("td", {}, statusBadge(r.status)),
            lastEvent(r, now),
            num(r.counts.events),
            errorsCell(r),
            num(r.counts.tool_calls),
            num(sessionsOf("worker_id", r)),
          ],
          changed,
          expanded,
          rerender: draw,
        }),
        recordTable({
          id: `${project}:runs`,
          caption: "Runs",
          records: group.runs,
          headers: ["Run", "Status", "Worker", "Last event", "Events", "Errors", "Sessions"],
          row: (r) => [
            h(
              "th",
              { scope: "row" },
              link("fleet", { ...params, run_id: r.run_id }, shortId(r.run_id), r.run_id),
              " ",
              copyButton(r.run_id ?? "", "run id"),
            ),
            h("td", {}, statusBadge(r.status)),
            h("td", {}, r.worker_id ?? ""),
            lastEvent(r, now),
            num(r.counts.events),
            errorsCell(r),
            num(sessionsOf("run_id", r)),
          ],
          changed,
          expanded,
          rerender: draw,
        }),
        recordTable({
          id: `${project}:sessions`,
          caption: "Sessions",
          records: group.sessions,
          headers: [
            "Session",
            "Status",
            "Worker",
            "Run",
            "Started",
            "Last event",
            "Events",
            "Errors",
            "Tool calls (failed)",
            "Subagents",
            "Tokens",
          ],
          row: (r) => [
            h(
              "th",
              { scope: "row" },
              link(
                "session",
                { session_id: r.session_id },
                shortId(r.session_id),
                `Timeline of session ${r.session_id}`,
              ),
              " ",
              copyButton(r.session_id ?? "", "session id"),
            ),
            h("td", {}, statusBadge(r.status)),
            h("td", {}, r.worker_id ?? ""),
            h("td", { title: r.run_id ?? null }, shortId(r.run_id)),
            h(
              "td",
              {},
              h(
                "time",
                { datetime: r.first_ts, title: formatTime(Date.parse(r.first_ts)) },
                formatAgo(Date.parse(r.first_ts), now),
              ),
            ),
            lastEvent(r, now),
            num(r.counts.events),
            errorsCell(r),
            h(
              "td",
              { class: "num" },
              `${formatCount(r.counts.tool_calls)} (${formatCount(r.counts.tool_failures)})`,
            ),
            num(r.counts.subagents_started),
            num(recordTokens(r)),
          ],
          changed,
          expanded,
          rerender: draw,
        }),
      );
    });
    replace(
      body,
      error ? notice("error", error) : null,
      complete ? null : notice(
        "warn",
        `Showing the first ${
          formatCount(MAX_RECORDS)
        } records: narrow the filters or the time range to see the rest.`,
      ),
      sections.length > 0 ? sections : notice("info", "No agent activity matches these filters."),
    );
    changed = new Set();
  };

  const scheduleDraw = drawScheduler(draw);

  /** @type {Envelope[][]} */
  let pending = [];
  let early = ctx.early;
  const load = async () => {
    try {
      // The first read may have been started by the page while this module loaded.
      const page = await (early ?? api.queryAll(stateQuery(params, Date.now()), {
        max: MAX_RECORDS,
        signal,
      }));
      early = undefined;
      const read = /** @type {StateRecord[]} */ (page.results);
      records = new Map(read.map((record) => [record.id, record]));
      complete = page.complete;
      error = undefined;
    } catch (cause) {
      if (signal.aborted) return;
      error = `Cannot read the fleet's state: ${/** @type {Error} */ (cause).message}`;
    }
    loaded = true;
    // Events that arrived while the records were read are folded in now.
    for (const events of pending) fold(events);
    pending = [];
    draw();
    ctx.ready("fleet");
  };

  /** @param {Envelope[]} events */
  const fold = (events) => {
    for (const event of events) {
      for (const id of foldLiveEvent(records, event)) changed.add(id);
    }
  };

  draw();
  const live = liveQuery(params, STATE_FILTERS, Date.now());
  // The overview folds who/what/when into its records: it needs no payloads.
  live?.set("fields", "summary");
  // The records are read at once, while the stream opens; what it brings meanwhile is folded
  // in after the read. The records trail the events by about a second anyway (the bridge
  // updates them off the ingest path).
  followThenLoad(ctx, live, {
    first: "now",
    load,
    onEvents: (events) => {
      if (!loaded) {
        pending.push(events);
        return;
      }
      fold(events);
      scheduleDraw();
    },
  });
  // Relative times ("5 s ago") age: redraw now and then, from memory (no request).
  const tick = setInterval(() => {
    if (loaded) draw();
  }, 15_000);
  signal.addEventListener("abort", () => clearInterval(tick));
}
