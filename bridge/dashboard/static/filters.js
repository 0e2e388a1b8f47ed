// @ts-check
/**
 * The filter bar: a labelled form for a view's filters. Applying it writes the filters into the
 * URL's hash (so the view can be shared), which re-renders the view.
 *
 * @module
 */
import { h } from "./dom.js";
import { formatHash, RANGES } from "./url_state.js";
import { AGENT_STATUSES, EVENT_TYPES, LEVELS } from "./vocabulary.js";

/** Labels of the filter fields, in the order they appear. */
const LABELS = {
  project_id: "Project",
  worker_id: "Worker (VM)",
  run_id: "Run",
  session_id: "Session",
  event_type: "Event type",
  hook_event_name: "Hook event",
  tool_name: "Tool",
  level: "Level",
  status: "Status",
  range: "Time range",
  text: "Full text",
  q: "Semantic search",
};

const RANGE_LABELS = {
  "": "All time",
  "15m": "Last 15 minutes",
  "1h": "Last hour",
  "24h": "Last 24 hours",
  "7d": "Last 7 days",
  "30d": "Last 30 days",
  custom: "Custom…",
};

const SELECTS = {
  event_type: EVENT_TYPES,
  level: LEVELS,
  status: AGENT_STATUSES,
};

const PLACEHOLDERS = {
  text: "words in the redacted event",
  q: "meaning, e.g. failing tests",
};

/**
 * An ISO time as a `datetime-local` value (local time, minutes).
 * @param {string | undefined} iso
 */
function toLocalInput(iso) {
  if (!iso) return "";
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return "";
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

/**
 * A `datetime-local` value as ISO (UTC), or "".
 * @param {string} value
 */
function fromLocalInput(value) {
  if (!value) return "";
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? new Date(ms).toISOString() : "";
}

/**
 * The filter form of a view.
 *
 * @param {{
 *   view: string, params: Record<string, string>, fields: readonly string[],
 *   keep?: readonly string[], extra?: HTMLElement[],
 * }} options `keep`: parameters carried over unchanged (e.g. the session of a timeline);
 *   `extra`: more controls (already labelled) whose `name` becomes a parameter
 * @returns {HTMLFormElement}
 */
export function filterForm(options) {
  const { view, params, fields } = options;
  const id = (/** @type {string} */ name) => `filter-${view}-${name}`;
  const controls = [];
  for (const name of fields) {
    const label = LABELS[/** @type {keyof typeof LABELS} */ (name)] ?? name;
    if (name === "range") {
      const current = params.range ?? (params.since || params.until ? "custom" : "");
      const select = h(
        "select",
        { id: id("range"), name: "range" },
        Object.entries(RANGE_LABELS).map(([value, text]) =>
          h("option", { value, selected: value === current }, text)
        ),
      );
      const since = h("input", {
        id: id("since"),
        name: "since",
        type: "datetime-local",
        value: toLocalInput(params.since),
      });
      const until = h("input", {
        id: id("until"),
        name: "until",
        type: "datetime-local",
        value: toLocalInput(params.until),
      });
      const custom = h(
        "div",
        { class: "field-pair", hidden: current !== "custom" },
        h("div", { class: "field" }, h("label", { for: id("since") }, "From"), since),
        h("div", { class: "field" }, h("label", { for: id("until") }, "To"), until),
      );
      select.addEventListener("change", () => {
        custom.hidden = select.value !== "custom";
      });
      controls.push(h("div", { class: "field" }, h("label", { for: id("range") }, label), select));
      controls.push(custom);
      continue;
    }
    const choices = SELECTS[/** @type {keyof typeof SELECTS} */ (name)];
    const control = choices
      ? h(
        "select",
        { id: id(name), name },
        h("option", { value: "" }, "Any"),
        choices.map((value) => h("option", { value, selected: params[name] === value }, value)),
      )
      : h("input", {
        id: id(name),
        name,
        type: name === "text" || name === "q" ? "search" : "text",
        value: params[name] ?? "",
        autocomplete: "off",
        spellcheck: "false",
        placeholder: PLACEHOLDERS[/** @type {keyof typeof PLACEHOLDERS} */ (name)] ?? null,
      });
    controls.push(h("div", { class: "field" }, h("label", { for: id(name) }, label), control));
  }
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filters" },
    controls,
    options.extra ?? [],
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit" }, "Apply"),
      h("button", { type: "reset", class: "secondary" }, "Clear"),
    ),
  );
  const apply = (/** @type {boolean} */ clear) => {
    /** @type {Record<string, string>} */
    const next = {};
    for (const name of options.keep ?? []) if (params[name]) next[name] = params[name];
    if (!clear) {
      const data = new FormData(form);
      for (const [name, value] of data) {
        if (typeof value === "string" && value.trim() !== "") next[name] = value.trim();
      }
      if (next.range === "custom") {
        delete next.range;
        next.since = fromLocalInput(next.since ?? "");
        next.until = fromLocalInput(next.until ?? "");
      } else {
        delete next.since;
        delete next.until;
      }
      if (next.range && !Object.hasOwn(RANGES, next.range)) delete next.range;
    }
    location.hash = formatHash(view, next);
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    apply(false);
  });
  form.addEventListener("reset", (event) => {
    event.preventDefault();
    apply(true);
  });
  return form;
}
