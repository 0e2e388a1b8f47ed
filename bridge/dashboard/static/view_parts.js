// @ts-check
/**
 * What every view does the same way: follow the live feed and read once it is open (with a
 * fallback when it does not open), redraw at most once per frame, and show/hide buttons.
 *
 * @module
 */
import { h } from "./dom.js";

/** How long a view waits for the live feed to open before it reads anyway, in ms. */
export const LIVE_FALLBACK_MS = 1_500;

/**
 * @typedef {import("./view.js").ViewContext} ViewContext
 * @typedef {import("./api.js").FollowHandlers["onEvents"]} OnEvents
 */

/**
 * Follows `GET /live?<live>` and reads the view's data. With `first: "after-live"` (the
 * default) the first read waits until the stream is open, so nothing stored in between is
 * missed, but at most {@linkcode LIVE_FALLBACK_MS}; with `first: "now"` it starts at once
 * (events that arrive before it ends are the view's to hold). After a reconnect `reload` runs
 * (default: `load` again), to fetch what the stream missed. Without a live query (the filters
 * cannot be followed) the view reads once and the live indicator says "off".
 *
 * @param {ViewContext} ctx
 * @param {URLSearchParams | undefined} live
 * @param {{ load: () => unknown, reload?: () => unknown, onEvents: OnEvents,
 *   first?: "after-live" | "now" }} options
 */
export function followThenLoad(ctx, live, options) {
  const { api, signal } = ctx;
  const reload = options.reload ?? options.load;
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    void options.load();
  };
  if (live === undefined) {
    ctx.setLive("off");
    start();
    return;
  }
  const fallback = setTimeout(start, LIVE_FALLBACK_MS);
  signal.addEventListener("abort", () => clearTimeout(fallback));
  api.follow(live, {
    signal,
    onState: ctx.setLive,
    onReady: (reconnected) => {
      clearTimeout(fallback);
      // A reconnect before the first read ended still counts as the first read's.
      if (reconnected && started) void reload();
      else start();
    },
    onEvents: options.onEvents,
  });
  // The stream opens while the first read runs: that read waits for no round trip more.
  if (options.first === "now") start();
}

/**
 * A redraw for bursts of live events: however often it is asked for, `draw` runs once, at the
 * next animation frame.
 *
 * @param {() => void} draw
 * @returns {() => void}
 */
export function drawScheduler(draw) {
  let scheduled = false;
  return () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      draw();
    });
  };
}

/**
 * Adds `key` to `set` when it is not there, else removes it.
 * @param {Set<string>} set
 * @param {string} key
 */
export function flip(set, key) {
  if (set.has(key)) set.delete(key);
  else set.add(key);
}

/**
 * A button that shows or hides a region: it says what a click does and carries
 * `aria-expanded` and `aria-controls` for screen readers.
 *
 * @param {{ expanded: boolean, controls: string, show: string, hide: string,
 *   onToggle: () => void }} options `show`/`hide`: its text when the region is hidden/shown
 * @returns {HTMLButtonElement}
 */
export function toggleButton(options) {
  return h("button", {
    type: "button",
    class: "toggle",
    "aria-expanded": String(options.expanded),
    "aria-controls": options.controls,
    onclick: options.onToggle,
  }, options.expanded ? options.hide : options.show);
}
