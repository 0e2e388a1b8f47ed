/**
 * The bridge's HTTP core: a plain `(req: Request) => Promise<Response>` handler, testable
 * in-process with `new Request(...)`; `main.ts` only hands it to `Deno.serve`.
 *
 * Routes: `POST /ingest` (scope `ingest`), `GET /query` (scope `read`), `GET /live` (scope
 * `read`: stored events as server-sent events, `live_route.ts`), `GET /usage` (scope `read`:
 * tokens and cost, `usage_route.ts`), `GET /health` (open),
 * `GET /metrics` (scope `read` unless public), and the dashboard's static files at `GET /` and
 * `GET /dashboard/*` (open: they hold no data; `dashboard/serve.ts`). One error handler turns known errors into 4xx
 * (or 503) JSON `{"error": ..., "details"?: ...}` and anything else into a logged 500 that
 * echoes nothing. Each request is logged as one JSON line, without keys or bodies.
 *
 * A key bound to a project may only ingest events of that project: one event with another or no
 * `project_id` makes the whole request 403 (nothing is stored), and its queries are restricted
 * to that project (asking for another one is 403).
 *
 * @module
 */
import { parseEvent } from "../shared/schema.ts";
import type { Event } from "../shared/schema.ts";
import { type Authenticator, type Principal, requireScope } from "./auth.ts";
import { errorResponse, HttpError, jsonResponse } from "./errors.ts";
import { serveDashboard } from "./dashboard/serve.ts";
import { createGroupCommitter, type GroupCommitOptions, QueueFullError } from "./group_commit.ts";
import type { GroupCommitter } from "./group_commit.ts";
import {
  type ByteBudget,
  createByteBudget,
  DEFAULT_INGEST_LIMITS,
  type IngestLimits,
  readIngestBody,
} from "./ingest_body.ts";
import { createLiveHub, type LiveHub, type LiveHubOptions } from "./live.ts";
import { liveResponse } from "./live_route.ts";
import { type BridgeMetrics, createMetrics, type RouteLabel } from "./metrics.ts";
import { parseQueryParams } from "./query_params.ts";
import { type EventStore, QueryError, StoreUnavailableError } from "./store.ts";
import { builtinPrices, type Prices } from "./usage/prices.ts";
import { createUsageRoute } from "./usage_route.ts";

/** Options of {@linkcode createApp}. */
export interface AppOptions {
  store: EventStore;
  /** From `createAuthenticator(keys)` in `auth.ts`. */
  authenticate: Authenticator;
  /** Default: a fresh registry. */
  metrics?: BridgeMetrics;
  /** `/metrics` without a key. Default false. */
  metricsPublic?: boolean;
  limits?: IngestLimits;
  groupCommit?: Omit<GroupCommitOptions, "onWrite">;
  /** Bytes of request bodies being read at once, over all requests; beyond, 429. Default 64 MB. */
  bodyBudgetBytes?: number;
  /** Seconds a client should wait after a 503 (store down). Default 5. */
  unavailableRetryAfterSeconds?: number;
  /** Receives one JSON line per request; default stderr. */
  log?: (line: string) => void;
  /** The price table of `GET /usage`; default the committed one (`bridge/usage/prices.json`). */
  prices?: Prices;
  /** Bounds of the `GET /live` hub (buffer per client, clients, heartbeat). */
  live?: Omit<LiveHubOptions, "registry">;
}

/** The bridge's request handler, with the parts tests and the entry point look at. */
export type App = ((req: Request) => Promise<Response>) & {
  readonly metrics: BridgeMetrics;
  readonly committer: GroupCommitter;
  /** The live feed; `close()` it before shutting the server down (its streams never end). */
  readonly live: LiveHub;
};

/** The response body of `POST /ingest`. */
export interface IngestSummary {
  accepted: number;
  duplicates: number;
  rejected: { index: number; error: string }[];
}

const ROUTE_METHODS: Record<Exclude<RouteLabel, "unmatched">, string> = {
  "/ingest": "POST",
  "/query": "GET",
  "/health": "GET",
  "/metrics": "GET",
  "/live": "GET",
  "/usage": "GET",
  "/dashboard": "GET",
};

const MAX_ERROR_CHARS = 1_000;
const MAX_LOGGED_PATH_CHARS = 200;

function matchRoute(pathname: string): RouteLabel {
  if (pathname === "/" || pathname === "/dashboard" || pathname.startsWith("/dashboard/")) {
    return "/dashboard";
  }
  return pathname in ROUTE_METHODS ? pathname as RouteLabel : "unmatched";
}

function clipError(text: string): string {
  return text.length <= MAX_ERROR_CHARS ? text : `${text.slice(0, MAX_ERROR_CHARS)}…`;
}

// deno-lint-ignore no-console -- the request log is the point: one JSON line per request
const stderrLog = (line: string) => console.error(line);

/** Creates the handler. Checks its options once, here. */
export function createApp(options: AppOptions): App {
  const { store, authenticate } = options;
  const metrics = options.metrics ?? createMetrics();
  const limits = options.limits ?? DEFAULT_INGEST_LIMITS;
  const log = options.log ?? stderrLog;
  const budget: ByteBudget = createByteBudget(options.bodyBudgetBytes ?? 64 * 1024 * 1024);
  const retryAfter = String(options.unavailableRetryAfterSeconds ?? 5);
  const committer = createGroupCommitter(store, {
    ...options.groupCommit,
    onWrite: ({ size, seconds }) => metrics.observeWrite(size, seconds),
  });
  metrics.setQueueDepthSource(() => committer.depth);
  const live = createLiveHub({ ...options.live, registry: metrics.registry });
  const usage = createUsageRoute(store, options.prices ?? builtinPrices());

  async function ingest(req: Request, principal: Principal, note: Record<string, unknown>) {
    requireScope(principal, "ingest");
    let items;
    try {
      items = await readIngestBody(req, limits, { budget });
    } catch (error) {
      if (error instanceof HttpError) {
        metrics.rejected(error.status === 413 ? "too_large" : "malformed", 1);
      }
      throw error;
    }
    const rejected: IngestSummary["rejected"] = [];
    const valid: Event[] = [];
    items.forEach((item, index) => {
      if (!item.ok) {
        rejected.push({ index, error: item.error });
        return;
      }
      const parsed = parseEvent(item.value);
      if (parsed.ok) valid.push(parsed.event);
      else rejected.push({ index, error: clipError(parsed.error) });
    });
    const malformedCount = items.filter((item) => !item.ok).length;
    metrics.rejected("malformed", malformedCount);
    metrics.rejected("invalid", rejected.length - malformedCount);
    note.events = items.length;

    if (principal.projectId !== undefined) {
      const foreign = valid.filter((event) => event.project_id !== principal.projectId);
      if (foreign.length > 0) {
        metrics.rejected("forbidden_project", items.length);
        throw new HttpError(
          403,
          `Cannot ingest: key ${principal.name} may only write events of project "${principal.projectId}", and ${foreign.length} events here have another or no project_id; nothing was stored`,
          {
            details: {
              reason: "forbidden_project",
              project_id: principal.projectId,
              event_ids: foreign.slice(0, 10).map((event) => event.event_id),
            },
          },
        );
      }
    }
    if (valid.length === 0) {
      note.rejected = rejected.length;
      return jsonResponse({
        error: `Cannot ingest: all ${items.length} events are invalid`,
        accepted: 0,
        duplicates: 0,
        rejected,
      }, { status: 400 });
    }

    let outcomes;
    try {
      outcomes = await committer.submit(valid);
    } catch (error) {
      metrics.rejected(
        error instanceof QueueFullError ? "queue_full" : "store_unavailable",
        valid.length,
      );
      throw error;
    }
    let accepted = 0;
    const stored: Event[] = [];
    outcomes.forEach((outcome, i) => {
      if (outcome === "stored") {
        accepted++;
        metrics.ingested(valid[i]!.event_type);
        stored.push(valid[i]!);
      }
    });
    // Durable now: live followers see it (duplicates were published when first stored).
    live.publish(stored);
    const duplicates = valid.length - accepted;
    metrics.duplicates(duplicates);
    Object.assign(note, { accepted, duplicates, rejected: rejected.length });
    return jsonResponse({ accepted, duplicates, rejected } satisfies IngestSummary);
  }

  async function query(url: URL, principal: Principal) {
    requireScope(principal, "read");
    const parsed = parseQueryParams(url.searchParams);
    if (!parsed.ok) {
      throw new HttpError(400, parsed.error, { details: { reason: "bad_query" } });
    }
    const params = parsed.params;
    if (principal.projectId !== undefined) {
      const asked = params.filters.project_id;
      if (asked !== undefined && asked !== principal.projectId) {
        throw new HttpError(
          403,
          `Cannot query project "${asked}": key ${principal.name} may only read project "${principal.projectId}"`,
          { details: { project_id: principal.projectId } },
        );
      }
      params.project_ids = [principal.projectId];
    }
    return jsonResponse(await store.query(params));
  }

  async function health() {
    try {
      const counts = await store.counts();
      return jsonResponse({ status: "ok", counts });
    } catch {
      return jsonResponse({ status: "unavailable", error: "Cannot reach the store (Chroma)" }, {
        status: 503,
        headers: { "retry-after": retryAfter },
      });
    }
  }

  async function dispatch(
    req: Request,
    url: URL,
    route: RouteLabel,
    note: Record<string, unknown>,
  ): Promise<Response> {
    if (route === "unmatched") {
      throw new HttpError(
        404,
        `Cannot find ${clipError(url.pathname)}: routes are ${
          Object.entries(ROUTE_METHODS).map(([path, method]) => `${method} ${path}`).join(", ")
        }`,
      );
    }
    const allowed = ROUTE_METHODS[route];
    const method = req.method === "HEAD" && allowed === "GET" ? "GET" : req.method;
    if (method !== allowed) {
      throw new HttpError(405, `Cannot ${req.method} ${route}: use ${allowed}`, {
        headers: { allow: allowed === "GET" ? "GET, HEAD" : allowed },
      });
    }
    if (route === "/health") return await health();
    if (route === "/dashboard") return await serveDashboard(req, url);
    if (route === "/metrics" && options.metricsPublic) return await renderMetrics();
    const principal = await authenticate(req);
    note.key = principal.name;
    switch (route) {
      case "/ingest":
        return await ingest(req, principal, note);
      case "/query":
        return await query(url, principal);
      case "/live":
        requireScope(principal, "read");
        return liveResponse(live, req, { url, principal });
      case "/usage":
        return await usage(url, principal);
      case "/metrics":
        requireScope(principal, "read");
        return await renderMetrics();
    }
  }

  async function renderMetrics() {
    return new Response(await metrics.render(), {
      headers: { "content-type": metrics.contentType },
    });
  }

  function errorToResponse(error: unknown, note: Record<string, unknown>): Response {
    if (error instanceof HttpError) return errorResponse(error);
    if (error instanceof QueueFullError) {
      return errorResponse(
        new HttpError(429, error.message, {
          headers: { "retry-after": String(error.retryAfterSeconds) },
          details: { reason: "queue_full" },
        }),
      );
    }
    if (error instanceof StoreUnavailableError) {
      note.store_error = error.message;
      return errorResponse(
        new HttpError(
          503,
          "Cannot store or read events now: the store (Chroma) is unavailable; retry later",
          {
            headers: { "retry-after": retryAfter },
            details: { reason: "store_unavailable" },
          },
        ),
      );
    }
    if (error instanceof QueryError) {
      return errorResponse(
        new HttpError(400, `Cannot query: ${error.message}`, { details: { reason: "bad_query" } }),
      );
    }
    const id = crypto.randomUUID();
    note.error_id = id;
    note.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    note.stack = error instanceof Error ? error.stack : undefined;
    return errorResponse(
      new HttpError(500, `Internal error ${id}: the bridge's log has the details`),
    );
  }

  const handler = async (req: Request): Promise<Response> => {
    const started = performance.now();
    const url = new URL(req.url);
    const route = matchRoute(url.pathname);
    const note: Record<string, unknown> = {};
    let response: Response;
    try {
      response = await dispatch(req, url, route, note);
    } catch (error) {
      response = errorToResponse(error, note);
    }
    if (req.method === "HEAD") {
      response = new Response(null, { status: response.status, headers: response.headers });
    }
    const seconds = (performance.now() - started) / 1000;
    metrics.observeRequest(route, response.status, seconds);
    log(JSON.stringify({
      ts: new Date().toISOString(),
      level: response.status >= 500 ? "error" : "info",
      method: req.method.slice(0, 16),
      path: url.pathname.slice(0, MAX_LOGGED_PATH_CHARS),
      route,
      status: response.status,
      ms: Math.round(seconds * 10_000) / 10,
      ...note,
    }));
    return response;
  };
  return Object.assign(handler, { metrics, committer, live });
}
