// @ts-check
/**
 * Usage and cost: tokens and dollars per day, session, run, VM, project, model or subagent,
 * from `GET /usage` (contract in the bridge README). It reads again when new usage events are
 * stored (followed live), never on a timer.
 *
 * @module
 */
import { h, notice, replace } from "./dom.js";
import { filterForm } from "./filters.js";
import { formatCount, formatUsd, shortId } from "./format.js";
import { labelCells } from "./table_cards.js";
import { formatHash, liveQuery, timeBounds, utcOffset } from "./url_state.js";
import { followThenLoad } from "./view_parts.js";

/** `group_by` dimensions and their labels. */
const DIMENSIONS = {
  day: "Day",
  session: "Session",
  run: "Run",
  worker: "Worker (VM)",
  project: "Project",
  model: "Model",
  agent: "Subagent",
};

/**
 * @typedef {import("./view.js").ViewContext} ViewContext
 * @typedef {import("./api_types.js").UsageAnswer} UsageAnswer
 * @typedef {import("./api_types.js").UsageSummary} UsageSummary
 */

/**
 * The `group_by` of the URL, checked: 1 to 2 distinct known dimensions, default `day`.
 * @param {string | undefined} text
 * @returns {string[]}
 */
function groupBy(text) {
  const dims = (text ?? "").split(",").map((d) => d.trim()).filter((d) =>
    Object.hasOwn(DIMENSIONS, d)
  );
  const unique = [...new Set(dims)].slice(0, 2);
  return unique.length > 0 ? unique : ["day"];
}

/**
 * A group's key cell: ids link to where they lead.
 * @param {string} dim
 * @param {string | null} value
 */
function keyCell(dim, value) {
  if (value === null || value === undefined) {
    return h("td", { class: "muted" }, dim === "agent" ? "main agent" : "none");
  }
  const target = {
    session: formatHash("session", { session_id: value }),
    run: formatHash("fleet", { run_id: value }),
    worker: formatHash("fleet", { worker_id: value }),
    project: formatHash("fleet", { project_id: value }),
  }[/** @type {"session"} */ (dim)];
  const text = dim === "session" || dim === "run" ? shortId(value) : value;
  return h("td", { title: value }, target ? h("a", { href: target }, text) : text);
}

/**
 * Renders the usage view into `root` until `ctx.signal` aborts.
 * @param {HTMLElement} root
 * @param {ViewContext} ctx
 */
export function renderUsage(root, ctx) {
  const { params, api, signal } = ctx;
  const dims = groupBy(params.group_by);
  const id = (/** @type {string} */ name) => `usage-${name}`;
  const dimSelect = (
    /** @type {string} */ name,
    /** @type {string} */ current,
    /** @type {boolean} */ optional,
  ) =>
    h(
      "select",
      { id: id(name), name },
      optional ? h("option", { value: "" }, "Nothing else") : null,
      Object.entries(DIMENSIONS).map(([value, text]) =>
        h("option", { value, selected: value === current }, text)
      ),
    );
  const first = dimSelect("group_first", dims[0] ?? "day", false);
  const second = dimSelect("group_second", dims[1] ?? "", true);
  const form = filterForm({
    view: "usage",
    params,
    fields: ["project_id", "worker_id", "run_id", "session_id", "range"],
    extra: [
      h("div", { class: "field" }, h("label", { for: id("group_first") }, "Per"), first),
      h("div", { class: "field" }, h("label", { for: id("group_second") }, "Then per"), second),
      // The two selects become one group_by parameter when the form is applied.
      h("input", { type: "hidden", name: "group_by", value: dims.join(",") }),
    ],
  });
  const hidden = /** @type {HTMLInputElement} */ (form.querySelector('input[name="group_by"]'));
  const sync = () => {
    hidden.value = [first.value, second.value].filter((v, i, all) => v && all.indexOf(v) === i)
      .join(",");
  };
  first.addEventListener("change", sync);
  second.addEventListener("change", sync);
  // The selects' own names must not reach the URL: only group_by does.
  first.removeAttribute("name");
  second.removeAttribute("name");

  const body = h("div", { class: "usage-body" }, h("p", { class: "muted" }, "Loading…"));
  /** @type {[string, string][]} */
  const shortcuts = [
    ["Per day", "day"],
    ["Per session", "session"],
    ["Per run", "run"],
    ["Per VM", "worker"],
    ["Per model", "model"],
    ["Per day and model", "day,model"],
  ];
  const quick = h(
    "nav",
    { class: "shortcuts", "aria-label": "Common breakdowns" },
    shortcuts.map(([text, by]) =>
      h("a", {
        href: formatHash("usage", { ...params, group_by: by }),
        "aria-current": dims.join(",") === by ? "page" : null,
      }, text)
    ),
  );
  replace(root, h("h2", { class: "view-title" }, "Usage and cost"), quick, form, body);

  const load = async () => {
    const query = new URLSearchParams({
      group_by: dims.join(","),
      utc_offset: utcOffset(new Date().getTimezoneOffset()),
    });
    for (const key of ["project_id", "worker_id", "run_id", "session_id"]) {
      if (params[key]) query.set(key, params[key]);
    }
    const { since, until } = timeBounds(params, Date.now());
    if (since !== undefined) query.set("since", String(Math.floor(since)));
    if (until !== undefined) query.set("until", String(Math.floor(until)));
    /** @type {UsageAnswer} */
    let answer;
    try {
      answer = /** @type {UsageAnswer} */ (await api.get("usage", query, signal));
    } catch (cause) {
      if (signal.aborted) return;
      const error = /** @type {import("./api.js").ApiError} */ (cause);
      replace(
        body,
        error.status === 404
          ? notice(
            "warn",
            "This bridge does not serve GET /usage: update it to see usage and cost.",
          )
          : notice("error", `Cannot read usage: ${error.message}`),
      );
      ctx.ready("usage");
      return;
    }
    const money = (/** @type {UsageSummary} */ u) =>
      `${formatUsd(u.cost_usd)}${u.cost_complete === false ? " *" : ""}`;
    const cells = (/** @type {UsageSummary} */ u) => [
      h("td", { class: "num" }, formatCount(u.messages)),
      h("td", { class: "num" }, formatCount(u.input_tokens)),
      h("td", { class: "num" }, formatCount(u.output_tokens)),
      h("td", { class: "num" }, formatCount(u.cache_creation_input_tokens)),
      h("td", { class: "num" }, formatCount(u.cache_read_input_tokens)),
      h("td", { class: "num" }, formatCount(u.total_tokens)),
      h("td", { class: "num cost" }, money(u)),
    ];
    const groups = answer.groups ?? [];
    const prices = answer.prices ?? {};
    const incomplete = groups.some((g) => g.cost_complete === false) ||
      answer.totals?.cost_complete === false;
    const table = h(
      "table",
      { class: "usage" },
      h(
        "caption",
        {},
        `Tokens and cost per ${
          dims.map((d) => DIMENSIONS[/** @type {"day"} */ (d)].toLowerCase()).join(" and ")
        }` +
          (prices.version
            ? ` · prices ${prices.version} (${prices.source ?? "?"}), ${prices.currency ?? "USD"}`
            : ""),
      ),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          dims.map((d) => h("th", { scope: "col" }, DIMENSIONS[/** @type {"day"} */ (d)])),
          ["Messages", "Input", "Output", "Cache write", "Cache read", "Total tokens", "Cost"]
            .map((t) => h("th", { scope: "col", class: "num" }, t)),
        ),
      ),
      h(
        "tbody",
        {},
        groups.map((group) =>
          h("tr", {}, dims.map((d) => keyCell(d, group.key?.[d] ?? null)), cells(group))
        ),
      ),
      answer.totals
        ? h(
          "tfoot",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "row", colspan: String(dims.length) }, "Total"),
            cells(answer.totals),
          ),
        )
        : null,
    );
    labelCells(table);
    replace(
      body,
      answer.unknown_models?.length
        ? notice(
          "warn",
          `No price for ${
            answer.unknown_models.join(", ")
          }: their tokens count, their cost is left out (marked *).`,
        )
        : null,
      answer.truncated
        ? notice("warn", "Only the first groups are listed; the totals cover all of them.")
        : null,
      groups.length === 0
        ? notice("info", "No usage matches these filters.")
        : h("div", { class: "table-wrap" }, table),
      incomplete
        ? h("p", { class: "muted" }, "* Some messages have a model without a price.")
        : null,
    );
    ctx.ready("usage");
  };

  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  signal.addEventListener("abort", () => clearTimeout(timer));
  const live = liveQuery(params, ["project_id", "worker_id", "run_id", "session_id"], Date.now());
  live?.set("event_type", "usage");
  live?.set("fields", "summary"); // only a signal to read again
  followThenLoad(ctx, live, {
    load,
    // New usage: read the totals again, once the burst is over.
    onEvents: () => {
      clearTimeout(timer);
      timer = setTimeout(() => void load(), 1_000);
    },
  });
}
