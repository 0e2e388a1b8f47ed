// @ts-check
/**
 * The events view: every filter of `GET /query`, full-text (`text=`) and semantic (`q=`)
 * search, results page by page, and new matching events appended live (not for a semantic
 * search, whose order is by similarity).
 *
 * @module
 */
import { h, notice, replace } from "./dom.js";
import { filterForm } from "./filters.js";
import { formatCount, formatTime, shortId } from "./format.js";
import { isErrorEvent } from "./timeline_model.js";
import { labelCells } from "./table_cards.js";
import { EVENT_FILTERS, eventQuery, formatHash, liveQuery } from "./url_state.js";
import { flip, followThenLoad, toggleButton } from "./view_parts.js";

/** Results per page. */
const PAGE = 100;
/** Most rows kept on the page (older live rows go first beyond it). */
const MAX_ROWS = 5_000;

/**
 * @typedef {import("./api_types.js").Envelope} ListedEvent
 * @typedef {import("./api_types.js").QueryPage} QueryPage
 * @typedef {import("./view.js").ViewContext} ViewContext
 */

/**
 * Renders the events view into `root` until `ctx.signal` aborts.
 * @param {HTMLElement} root
 * @param {ViewContext} ctx
 */
export function renderEvents(root, ctx) {
  const { params, api, signal } = ctx;
  /** @type {ListedEvent[]} */
  const rows = [];
  /** @type {Set<string>} */
  const seen = new Set();
  /** @type {Set<string>} */
  const open = new Set();
  /** @type {Set<string>} */
  let fresh = new Set();
  /** @type {string | null} */
  let cursor = null;
  let loaded = false;
  let loading = false;
  /** @type {string | undefined} */
  let error;

  const status = h("p", { class: "result-count", role: "status" });
  const tbody = h("tbody");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  const table = h(
    "table",
    { class: "events" },
    h("caption", { class: "visually-hidden" }, "Matching events"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Time", "Event", "Tool", "Level", "Session", "Worker", "Message", "Payload"].map((text) =>
          h("th", { scope: "col" }, text)
        ),
      ),
    ),
    tbody,
  );
  const messages = h("div");
  replace(
    root,
    h("h2", { class: "view-title" }, "Events"),
    filterForm({
      view: "events",
      params,
      fields: [...EVENT_FILTERS, "range", "text", "q"],
    }),
    messages,
    status,
    h("div", { class: "table-wrap" }, table),
    more,
  );

  /** @param {ListedEvent} event */
  const row = (event) => {
    const isOpen = open.has(event.event_id);
    const id = `ev-${event.event_id}`;
    const classes = [isErrorEvent(event) ? "is-error" : "", fresh.has(event.event_id) ? "new" : ""]
      .join(" ").trim();
    const main = h(
      "tr",
      { class: classes || null, dataset: { eventId: event.event_id } },
      h(
        "td",
        { class: "nowrap" },
        h("time", { datetime: event.ts }, formatTime(Date.parse(event.ts))),
      ),
      h("td", {}, event.hook_event_name ?? event.event_type),
      h("td", {}, event.tool_name ?? ""),
      h("td", { class: `level level-${event.level}` }, event.level),
      h(
        "td",
        {},
        h("a", {
          href: formatHash("session", { session_id: event.session_id, event: event.event_id }),
          title: `Timeline of session ${event.session_id}`,
        }, shortId(event.session_id)),
      ),
      h("td", {}, event.worker_id ?? ""),
      h("td", { class: "msg" }, event.msg ?? ""),
      h(
        "td",
        {},
        toggleButton({
          expanded: isOpen,
          controls: `${id}-payload`,
          show: "Show",
          hide: "Hide",
          onToggle: () => {
            flip(open, event.event_id);
            draw();
          },
        }),
      ),
    );
    if (!isOpen) return [main];
    return [
      main,
      h(
        "tr",
        { class: "detail-row", id: `${id}-payload` },
        h("td", { colspan: "8" }, h("pre", { tabindex: "0" }, JSON.stringify(event, null, 2))),
      ),
    ];
  };

  const draw = () => {
    if (signal.aborted) return;
    replace(messages, error ? notice("error", error) : null);
    if (!loaded) {
      status.textContent = "Searching…";
      return;
    }
    status.textContent = `${formatCount(rows.length)} events${cursor ? " (more to load)" : ""}${
      params.q ? ", most similar first" : ""
    }`;
    replace(tbody, rows.map(row));
    labelCells(table);
    more.hidden = cursor === null;
    fresh = new Set();
  };

  /** @type {ListedEvent[]} */
  let pending = [];
  /** @param {ListedEvent[]} incoming */
  const append = (incoming) => {
    for (const event of incoming) {
      // While more pages wait, a new event is read in its turn by "Load more".
      if (seen.has(event.event_id) || cursor !== null) continue;
      seen.add(event.event_id);
      rows.push(event);
      fresh.add(event.event_id);
    }
    if (rows.length > MAX_ROWS) rows.splice(0, rows.length - MAX_ROWS);
    draw();
  };

  const loadPage = async () => {
    if (loading) return;
    loading = true;
    more.disabled = true;
    try {
      const query = eventQuery(params, Date.now());
      query.set("limit", String(PAGE));
      if (cursor) query.set("cursor", cursor);
      const page = /** @type {QueryPage} */ (await api.get("query", query, signal));
      for (const event of /** @type {ListedEvent[]} */ (page.results)) {
        if (seen.has(event.event_id)) continue;
        seen.add(event.event_id);
        rows.push(event);
      }
      cursor = page.next_cursor;
      error = undefined;
    } catch (cause) {
      if (signal.aborted) return;
      error = `Cannot search: ${/** @type {Error} */ (cause).message}`;
    } finally {
      loading = false;
      more.disabled = false;
    }
    const first = !loaded;
    loaded = true;
    draw();
    if (first) {
      append(pending);
      pending = [];
      ctx.ready("events");
    }
  };
  more.addEventListener("click", () => void loadPage());

  /** After a reconnect: what was stored while the stream was down, from the last row on. */
  const catchUp = async () => {
    const last = rows.at(-1);
    if (!loaded || cursor !== null || last === undefined || params.q) return;
    try {
      const query = eventQuery(params, Date.now());
      query.set("since", String(Date.parse(last.ts)));
      const page = await api.queryAll(query, { max: MAX_ROWS, signal });
      append(/** @type {ListedEvent[]} */ (page.results));
    } catch (cause) {
      if (signal.aborted) return;
      error = `Cannot catch up after a reconnect: ${/** @type {Error} */ (cause).message}`;
      draw();
    }
  };

  draw();
  followThenLoad(ctx, liveQuery(params, [...EVENT_FILTERS, "text"], Date.now()), {
    load: loadPage,
    reload: catchUp,
    onEvents: (incoming) => {
      if (!loaded) pending.push(...incoming);
      else append(incoming);
    },
  });
}
