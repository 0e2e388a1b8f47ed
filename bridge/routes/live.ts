/**
 * `GET /live`: the live feed as server-sent events (`text/event-stream`), for the dashboard and
 * `deno task tail`. It takes the equality filters and `text=` of `GET /query`, validated the
 * same way, and `fields=summary` for events without their payload (`SUMMARY_FIELDS`); a key
 * bound to a project only ever sees that project (asking for another is 403).
 *
 * Messages: `event: ready` once the stream is open, `event: envelope` (with `id:` the event id,
 * `data:` the stored envelope as JSON) per stored event, `: heartbeat` comments, and
 * `event: closing` when the bridge stops. A client that reads too slowly is dropped (the
 * stream ends abruptly); it should reconnect and fill the gap from `GET /query`.
 *
 * @module
 */
import type { Principal } from "../auth.ts";
import { HttpError } from "../errors.ts";
import { type LiveFilter, LiveFullError } from "../live.ts";
import { parseQueryParams } from "../query_params.ts";
import { QUERY_FILTER_FIELDS } from "../store.ts";
import { visibleProjects } from "./project.ts";
import { principalOf, type RouteContext } from "./route.ts";

/** The parameters `GET /live` takes. */
export const LIVE_PARAMS: readonly string[] = [...QUERY_FILTER_FIELDS, "text", "fields"];

/** Headers of the stream: never cached, never compressed (compression would hold events back). */
export const LIVE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream; charset=utf-8",
  // no-transform also keeps Deno.serve from compressing (and so buffering) the stream.
  "cache-control": "no-cache, no-transform",
  // Proxies such as nginx would otherwise buffer the stream.
  "x-accel-buffering": "no",
};

/** The filter of a `GET /live` request, or an `HttpError` (400, 403) saying what is wrong. */
export function parseLiveRequest(search: URLSearchParams, principal: Principal): LiveFilter {
  for (const key of search.keys()) {
    if (!LIVE_PARAMS.includes(key)) {
      throw new HttpError(
        "bad_query",
        `Cannot follow live events: unknown parameter ${JSON.stringify(key.slice(0, 64))}; known: ${
          LIVE_PARAMS.join(", ")
        }`,
        { details: { reason: "bad_query" } },
      );
    }
  }
  const fields = search.get("fields");
  if (fields !== null && (fields !== "summary" && fields !== "all")) {
    throw new HttpError(
      "bad_query",
      'Cannot follow live events: fields must be "summary" (who, what, when; no payload) or "all" (the default)',
      { details: { reason: "bad_query" } },
    );
  }
  if (search.getAll("fields").length > 1) {
    throw new HttpError(
      "bad_query",
      'Cannot follow live events: parameter "fields" is given more than once',
      {
        details: { reason: "bad_query" },
      },
    );
  }
  const rest = new URLSearchParams(search);
  rest.delete("fields");
  const parsed = parseQueryParams(rest);
  if (!parsed.ok) {
    throw new HttpError(
      "bad_query",
      parsed.error.replace(/^Cannot query: /, "Cannot follow live events: "),
      { details: { reason: "bad_query" } },
    );
  }
  const { filters, text } = parsed.params;
  const filter: LiveFilter = { fields: filters };
  if (text !== undefined) filter.text = text;
  if (fields === "summary") filter.summary = true;
  const visible = visibleProjects(principal, { asked: filters.project_id, action: "follow" });
  if (visible !== undefined) filter.projectIds = visible;
  return filter;
}

/**
 * The handler of `GET /live` (and `HEAD`, without opening a stream). 503 (`live_full`) with
 * `Retry-After` when the hub has no room; 429 (`live_key_full`) when the key holds its share of
 * streams already.
 */
export function liveRoute(ctx: RouteContext): Response {
  const filter = parseLiveRequest(ctx.url.searchParams, principalOf(ctx));
  if (ctx.req.method === "HEAD") return new Response(null, { headers: LIVE_HEADERS });
  let body: ReadableStream<Uint8Array>;
  try {
    // Deno.serve cancels the body when the client goes away, which removes the client.
    body = ctx.deps.live.subscribe(filter, { owner: principalOf(ctx).name });
  } catch (error) {
    if (error instanceof LiveFullError) {
      const reason = error.perOwner ? "live_key_full" : "live_full";
      throw new HttpError(reason, error.message, { details: { reason } });
    }
    throw error;
  }
  return new Response(body, { headers: LIVE_HEADERS });
}
