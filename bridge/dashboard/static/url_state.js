// @ts-check
/**
 * The dashboard's state lives in the URL's hash (`#/<view>?<filters>`), so any view can be
 * shared as a link and the back button works. This module reads and writes that hash and turns
 * a view's filters into `GET /query`, `GET /live` and `GET /usage` parameters. Pure.
 *
 * @module
 */

/** The views, the first being the default. */
export const VIEWS = Object.freeze(["fleet", "session", "events", "usage"]);

/** The view `parseHash()` names for a route that names no view. */
export const NOT_FOUND = "not-found";

/** The equality filters of `GET /query` on events (and `GET /live`). */
export const EVENT_FILTERS = Object.freeze([
  "project_id",
  "run_id",
  "worker_id",
  "session_id",
  "event_type",
  "hook_event_name",
  "tool_name",
  "level",
]);

/** The filters `agent_state` records hold. */
export const STATE_FILTERS = Object.freeze(["project_id", "run_id", "worker_id", "session_id"]);

/** Relative time ranges (`range=`), in milliseconds. */
export const RANGES = Object.freeze({
  "15m": 15 * 60_000,
  "1h": 60 * 60_000,
  "24h": 24 * 60 * 60_000,
  "7d": 7 * 24 * 60 * 60_000,
  "30d": 30 * 24 * 60 * 60_000,
});

/** Every parameter the hash may carry. */
export const HASH_PARAMS = Object.freeze([
  ...EVENT_FILTERS,
  "status",
  "range",
  "since",
  "until",
  "text",
  "q",
  "event",
  "errors",
  "group_by",
]);

/**
 * A view and its parameters.
 * @typedef {{ view: string, params: Record<string, string> }} Route
 */

/**
 * Reads `#/<view>?<params>`: no route (an empty hash, an in-page anchor such as `#main`) is the
 * default view; a route naming no view is {@link NOT_FOUND}, so a mistyped or stale link says so
 * instead of showing the fleet as if it were what was asked for. Unknown or empty parameters are
 * left out.
 *
 * @param {string} hash
 * @returns {Route}
 */
export function parseHash(hash) {
  const text = hash.startsWith("#") ? hash.slice(1) : hash;
  const question = text.indexOf("?");
  const path = (question < 0 ? text : text.slice(0, question)).replace(/^\/+|\/+$/g, "");
  const route = text.startsWith("/") && path !== "";
  const view = VIEWS.includes(path) ? path : route ? NOT_FOUND : "fleet";
  /** @type {Record<string, string>} */
  const params = {};
  if (question >= 0) {
    for (const [key, value] of new URLSearchParams(text.slice(question + 1))) {
      if (HASH_PARAMS.includes(key) && value.trim() !== "" && !(key in params)) {
        params[key] = value.trim();
      }
    }
  }
  return { view, params };
}

/**
 * The hash of a view and its parameters (empty ones left out, in a stable order).
 *
 * @param {string} view
 * @param {Record<string, string | undefined>} params
 * @returns {string}
 */
export function formatHash(view, params) {
  const search = new URLSearchParams();
  for (const key of HASH_PARAMS) {
    const value = params[key];
    if (value !== undefined && value.trim() !== "") search.set(key, value.trim());
  }
  const query = search.toString();
  return `#/${view}${query ? `?${query}` : ""}`;
}

/**
 * The time bounds of `params` in Unix ms: `range` (relative to `nowMs`) wins over `since`;
 * a bad `since`/`until` is left out.
 *
 * @param {Record<string, string>} params
 * @param {number} nowMs
 * @returns {{ since?: number, until?: number }}
 */
export function timeBounds(params, nowMs) {
  /** @type {{ since?: number, until?: number }} */
  const bounds = {};
  const range = params.range;
  if (range !== undefined && Object.hasOwn(RANGES, range)) {
    bounds.since = nowMs - RANGES[/** @type {keyof typeof RANGES} */ (range)];
  } else if (params.since !== undefined) {
    const since = Date.parse(params.since);
    if (Number.isFinite(since)) bounds.since = since;
  }
  if (params.until !== undefined && !(range !== undefined && Object.hasOwn(RANGES, range))) {
    const until = Date.parse(params.until);
    if (Number.isFinite(until)) bounds.until = until;
  }
  return bounds;
}

/**
 * `GET /query` parameters of the events view.
 *
 * @param {Record<string, string>} params
 * @param {number} nowMs
 * @returns {URLSearchParams}
 */
export function eventQuery(params, nowMs) {
  const search = new URLSearchParams();
  for (const key of EVENT_FILTERS) if (params[key]) search.set(key, params[key]);
  const { since, until } = timeBounds(params, nowMs);
  if (since !== undefined) search.set("since", String(Math.floor(since)));
  if (until !== undefined) search.set("until", String(Math.floor(until)));
  if (params.q) search.set("q", params.q);
  if (params.text) search.set("text", params.text);
  return search;
}

/** Most `agent_state` records the fleet view reads (beyond, it asks for narrower filters). */
export const FLEET_MAX_RECORDS = 20_000;

/**
 * `GET /query?collection=agent_state` parameters of the fleet view: records active in the
 * time range.
 *
 * @param {Record<string, string>} params
 * @param {number} nowMs
 * @returns {URLSearchParams}
 */
export function stateQuery(params, nowMs) {
  const search = new URLSearchParams({ collection: "agent_state" });
  for (const key of STATE_FILTERS) if (params[key]) search.set(key, params[key]);
  if (params.status) search.set("status", params.status);
  const { since, until } = timeBounds(params, nowMs);
  if (since !== undefined) search.set("since", String(Math.floor(since)));
  if (until !== undefined) search.set("until", String(Math.floor(until)));
  return search;
}

/**
 * `GET /live` parameters following a view: its equality filters (and `text`), or undefined
 * when the view cannot follow live (a semantic search, or a range that ended in the past).
 *
 * @param {Record<string, string>} params
 * @param {readonly string[]} filters which of the event filters the view uses
 * @param {number} nowMs
 * @returns {URLSearchParams | undefined}
 */
export function liveQuery(params, filters, nowMs) {
  if (params.q) return undefined;
  const { until } = timeBounds(params, nowMs);
  if (until !== undefined && until < nowMs) return undefined;
  const search = new URLSearchParams();
  for (const key of filters) if (params[key]) search.set(key, params[key]);
  if (params.text && filters.includes("text")) search.set("text", params.text);
  return search;
}

/**
 * The local time zone's offset as `±HH:MM` (for `GET /usage?utc_offset=`).
 * @param {number} timezoneOffsetMinutes as `Date.prototype.getTimezoneOffset()` gives it
 * @returns {string}
 */
export function utcOffset(timezoneOffsetMinutes) {
  const minutes = -timezoneOffsetMinutes;
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, "0");
  const mm = String(abs % 60).padStart(2, "0");
  return `${sign}${hh}:${mm}`;
}
