// @ts-check
/**
 * The dashboard's entry: asks for a read key (nothing is read without one), then shows the view
 * the URL's hash names, and keeps the header's live indicator. A key the bridge refuses (401,
 * 403) stops the view, is forgotten, and the key form comes back with the reason.
 *
 * @module
 */
import { ApiError, createApi } from "./api.js";
import { forgetKey, loadKey, saveKey } from "./key.js";
import { FLEET_MAX_RECORDS, NOT_FOUND, parseHash, stateQuery, timeBounds } from "./url_state.js";

/**
 * The views, each loaded when first shown: the page's first render only waits for the modules
 * of the view it opens on (`index.html` preloads the fleet's).
 * @type {Record<string, { title: string, load: () => Promise<(root: HTMLElement, ctx: import("./view.js").ViewContext) => void> }>}
 */
const VIEWS = {
  fleet: { title: "Fleet", load: async () => (await import("./fleet.js")).renderFleet },
  session: { title: "Session", load: async () => (await import("./session.js")).renderSession },
  events: { title: "Events", load: async () => (await import("./events.js")).renderEvents },
  usage: { title: "Usage", load: async () => (await import("./usage.js")).renderUsage },
};

const LIVE_TEXT = {
  connecting: "Live: connecting…",
  live: "Live",
  reconnecting: "Live: reconnecting…",
  off: "Live: off for this view",
};

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
function byId(id) {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`Cannot start the dashboard: #${id} is missing`);
  return /** @type {T} */ (element);
}

const gate = byId("key-gate");
const form = /** @type {HTMLFormElement} */ (byId("key-form"));
const input = /** @type {HTMLInputElement} */ (byId("key-input"));
const keyError = byId("key-error");
const view = byId("view");
const nav = byId("nav");
const controls = byId("key-controls");
const liveStatus = byId("live-status");
const forget = byId("forget-key");
const main = byId("main");
const skip = byId("skip");

/** @type {AbortController | undefined} */
let current;
/** @type {ReturnType<typeof createApi> | undefined} */
let api;

/** Stops the view on screen and removes everything it showed. */
function stopView() {
  current?.abort();
  current = undefined;
  view.replaceChildren();
}

/**
 * Shows the key form (and nothing else), with a reason when there is one.
 * @param {string} [reason]
 */
function showGate(reason) {
  stopView();
  api = undefined;
  view.hidden = true;
  nav.hidden = true;
  controls.hidden = true;
  gate.hidden = false;
  keyError.hidden = !reason;
  keyError.textContent = reason ?? "";
  input.value = "";
  input.focus();
}

/**
 * @param {number} status
 * @param {string} message
 */
function authFailed(status, message) {
  forgetKey();
  showGate(
    status === 401
      ? `The bridge does not accept this key (401): ${message}`
      : `This key may not read here (403): ${message}`,
  );
}

/** @param {string} key */
function clientFor(key) {
  return createApi({ key, onAuthFailure: authFailed });
}

/**
 * Says a route names no view, with links to the views there are (not the fleet in its place).
 * @param {string} name
 * @param {string} hash
 */
function showNotFound(name, hash) {
  for (const link of nav.querySelectorAll("a")) link.removeAttribute("aria-current");
  document.title = "Not found · Fleet telemetry";
  view.dataset.view = name;
  const heading = document.createElement("h2");
  heading.textContent = "Not found";
  const text = document.createElement("p");
  text.textContent = `No view here: ${hash}. Pick one: `;
  Object.keys(VIEWS).forEach((key, index) => {
    if (index > 0) text.append(", ");
    const link = document.createElement("a");
    link.href = `#/${key}`;
    link.textContent = VIEWS[key]?.title ?? key;
    text.append(link);
  });
  text.append(".");
  view.replaceChildren(heading, text);
  view.dataset.ready = NOT_FOUND;
}

/** Renders the view the hash names. */
async function route() {
  if (api === undefined) return;
  stopView();
  const { view: name, params } = parseHash(location.hash);
  const spec = VIEWS[name];
  if (spec === undefined || name === NOT_FOUND) {
    showNotFound(name, location.hash);
    return;
  }
  const controller = new AbortController();
  current = controller;
  for (const link of nav.querySelectorAll("a")) {
    const active = link.getAttribute("href") === `#/${name}`;
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${spec.title} · Fleet telemetry`;
  view.dataset.ready = "";
  view.dataset.view = name;
  // The fleet (the default view) starts its read while its module loads: the first render
  // then waits for the slower of the two, not for both in turn.
  const early = name === "fleet"
    ? api.queryAll(stateQuery(params, Date.now()), {
      max: FLEET_MAX_RECORDS,
      signal: controller.signal,
    })
    : undefined;
  early?.catch(() => {}); // the view reports a failure
  let render;
  try {
    render = await spec.load();
  } catch (error) {
    view.textContent = `Cannot load this view: ${/** @type {Error} */ (error).message}`;
    return;
  }
  // Another route, or a refused key, may have come while the module loaded.
  if (controller.signal.aborted || api === undefined) return;
  render(view, {
    api,
    params,
    signal: controller.signal,
    setLive: (state) => {
      liveStatus.textContent = LIVE_TEXT[state];
      liveStatus.dataset.state = state;
    },
    ready: (which) => {
      view.dataset.ready = which;
      // Measured by bench/dashboard_bench.ts: navigation start to the view's data on screen.
      performance.mark(`zo:${which}-rendered`);
    },
    bounds: () => timeBounds(params, Date.now()),
    ...(early ? { early } : {}),
  });
}

/** Shows the dashboard for a key the bridge accepted (or that this tab already used). */
function open(/** @type {string} */ key) {
  api = clientFor(key);
  gate.hidden = true;
  keyError.hidden = true;
  view.hidden = false;
  nav.hidden = false;
  controls.hidden = false;
  void route();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = input.value.trim();
  if (key === "") {
    showGate("Enter a key.");
    return;
  }
  const submit = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));
  submit.disabled = true;
  keyError.hidden = true;
  try {
    // One small read tells whether the key may read; only then is it kept.
    const probe = createApi({ key, onAuthFailure: () => {} });
    await probe.get("query", new URLSearchParams({ collection: "agent_state", limit: "1" }));
    saveKey(key);
    open(key);
  } catch (error) {
    const status = error instanceof ApiError ? error.status : 0;
    const message = error instanceof Error ? error.message : String(error);
    showGate(
      status === 401
        ? "The bridge does not know this key (401). Check it and try again."
        : status === 403
        ? `This key may not read events (403): ${message}`
        : message,
    );
  } finally {
    submit.disabled = false;
  }
});

forget.addEventListener("click", () => {
  forgetKey();
  showGate();
});

skip.addEventListener("click", () => main.focus());

addEventListener("hashchange", () => void route());

const stored = loadKey();
if (stored) open(stored);
else showGate();
