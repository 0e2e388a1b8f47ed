// @ts-check
/**
 * The dashboard's calls to the bridge: JSON reads (`GET /query`, `GET /usage`) and the live
 * feed (`GET /live`, server-sent events read with `fetch` and a stream reader, because
 * EventSource cannot send the Authorization header and the key must never go in a URL).
 * Every call carries the key as `Authorization: Bearer`; a 401 or 403 is reported once through
 * `onAuthFailure` so the page can ask for a key again.
 *
 * @module
 */
import { createSseParser } from "./sse.js";

/** A failed call: `status` 0 when the bridge could not be reached. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   */
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/**
 * @typedef {import("./api_types.js").Envelope} Envelope
 * @typedef {import("./api_types.js").QueryPage} QueryPage
 * @typedef {import("./api_types.js").QueryResults} QueryResults
 */

/**
 * @typedef {{
 *   onReady?: (reconnected: boolean) => void,
 *   onEvents: (events: Envelope[]) => void,
 *   onState?: (state: "connecting" | "live" | "reconnecting" | "off") => void,
 *   signal: AbortSignal,
 * }} FollowHandlers
 */

/**
 * @param {number} ms
 * @param {AbortSignal} signal
 */
function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve(undefined);
    }, { once: true });
  });
}

/**
 * A client of the bridge that serves this page.
 *
 * @param {{ key: string, onAuthFailure: (status: number, message: string) => void }} options
 */
export function createApi(options) {
  // The page is /dashboard/ on the bridge: the API is one level up (also behind a path prefix).
  const base = new URL("../", document.baseURI);
  const headers = { authorization: `Bearer ${options.key}` };

  /**
   * @param {Response} response
   * @returns {Promise<never>}
   */
  async function fail(response) {
    let message = `The bridge answered ${response.status}`;
    try {
      const body = /** @type {{ error?: unknown } | null} */ (await response.json());
      if (typeof body?.error === "string") message = body.error;
    } catch { /* not JSON */ }
    if (response.status === 401 || response.status === 403) {
      options.onAuthFailure(response.status, message);
    }
    throw new ApiError(response.status, message);
  }

  /**
   * `GET <path>?<params>` as JSON (the caller names what the path answers).
   * @param {string} path
   * @param {URLSearchParams} params
   * @param {AbortSignal} [signal]
   * @returns {Promise<unknown>}
   */
  async function get(path, params, signal) {
    const url = new URL(path, base);
    url.search = params.toString();
    let response;
    try {
      response = await fetch(url, {
        headers: { ...headers, accept: "application/json" },
        cache: "no-store",
        signal,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new ApiError(0, `Cannot reach the bridge: ${/** @type {Error} */ (error).message}`);
    }
    if (!response.ok) return await fail(response);
    return await response.json();
  }

  /**
   * Every page of a `GET /query`, up to `max` results.
   * @param {URLSearchParams} params
   * @param {{ max: number, signal?: AbortSignal }} limits
   * @returns {Promise<QueryResults>}
   */
  async function queryAll(params, limits) {
    /** @type {unknown[]} */
    const results = [];
    /** @type {string | null} */
    let cursor = null;
    do {
      const page = new URLSearchParams(params);
      page.set("limit", String(Math.min(1000, limits.max - results.length)));
      if (cursor) page.set("cursor", cursor);
      const body = /** @type {QueryPage} */ (await get("query", page, limits.signal));
      results.push(...body.results);
      cursor = body.next_cursor;
    } while (cursor && results.length < limits.max);
    return { results, complete: !cursor };
  }

  /**
   * Follows `GET /live?<params>` until `handlers.signal` aborts, reconnecting with backoff when
   * the stream ends. `onReady(reconnected)` fires each time a stream opens: after a reconnect,
   * the view reloads what it may have missed. Events arriving together are delivered together.
   *
   * @param {URLSearchParams} params
   * @param {FollowHandlers} handlers
   */
  function follow(params, handlers) {
    const { signal } = handlers;
    const url = new URL("live", base);
    url.search = params.toString();
    (async () => {
      let attempt = 0;
      let opened = false;
      while (!signal.aborted) {
        handlers.onState?.(opened ? "reconnecting" : "connecting");
        try {
          const response = await fetch(url, {
            headers: { ...headers, accept: "text/event-stream" },
            cache: "no-store",
            signal,
          });
          if (response.status === 401 || response.status === 403) {
            handlers.onState?.("off");
            await fail(response);
          }
          if (!response.ok || response.body === null) throw new Error(`HTTP ${response.status}`);
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          /** @type {Envelope[]} */
          let batch = [];
          const parser = createSseParser((message) => {
            if (message.event === "envelope") {
              try {
                batch.push(JSON.parse(message.data));
              } catch { /* not an envelope: skip it */ }
            } else if (message.event === "ready") {
              attempt = 0;
              handlers.onState?.("live");
              handlers.onReady?.(opened);
              opened = true;
            }
          });
          while (true) {
            const { value, done } = await reader.read();
            if (done) break;
            parser.push(value);
            if (batch.length > 0) {
              const events = batch;
              batch = [];
              handlers.onEvents(events);
            }
          }
        } catch (error) {
          if (signal.aborted) return;
          if (error instanceof ApiError) return; // the key was refused: the page asks again
        }
        if (signal.aborted) return;
        handlers.onState?.("reconnecting");
        await sleep(Math.min(500 * 2 ** attempt, 15_000) * (0.5 + Math.random() / 2), signal);
        attempt++;
      }
    })();
  }

  return { get, queryAll, follow };
}

/** @typedef {ReturnType<typeof createApi>} Api */
