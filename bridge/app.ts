/**
 * The bridge's HTTP core: a plain `(req: Request) => Promise<Response>` handler, testable
 * in-process with `new Request(...)`; `main.ts` only hands it to `Deno.serve`.
 *
 * Routes are one table (`routes/table.ts`: path, method, scope, handler; the handlers beside it
 * in `routes/`). The dispatcher here matches the path (404 otherwise), the method (405 with
 * `Allow`), authenticates and checks the route's scope, once, then calls the handler. One error
 * handler turns known errors into 4xx (or 503) JSON `{"error", "reason", "details"?}` (status
 * and `Retry-After` from the contract's `REJECTIONS`) and anything else into a logged 500 that
 * echoes nothing. Each request is logged as one JSON line, without keys or bodies.
 *
 * A key bound to a project may only ingest events of that project: one event with another or no
 * `project_id` makes the whole request 403 (nothing is stored), and its queries are restricted
 * to that project (asking for another one is 403; `routes/project.ts`).
 *
 * @module
 */
import {
  addStoredEvents,
  type AgentStateUpdater,
  type AgentStateUpdaterOptions,
  createAgentStateUpdater,
} from "./agent_state_updater.ts";
import { type Authenticator, type Principal, requireScope } from "./auth.ts";
import { errorResponse, HttpError } from "./errors.ts";
import { createGroupCommitter, type GroupCommitOptions, QueueFullError } from "./group_commit.ts";
import type { GroupCommitter } from "./group_commit.ts";
import { createByteBudget, DEFAULT_INGEST_LIMITS, type IngestLimits } from "./ingest_body.ts";
import { createLiveHub, type LiveHub, type LiveHubOptions } from "./live.ts";
import { createLiveFeed, type LiveFeed, type LiveFeedOptions } from "./live_feed.ts";
import { createIngestRedaction, type IngestRedaction } from "./ingest_redaction.ts";
import { type BridgeMetrics, createMetrics } from "./metrics.ts";
import {
  createQueryBudget,
  DEFAULT_QUERY_BYTES_IN_FLIGHT,
  type QueryBudget,
} from "./query_budget.ts";
import { QUERY_LIMITS } from "./query_params.ts";
import { clipError } from "./routes/ingest.ts";
import type { Route, RouteDeps } from "./routes/route.ts";
import { matchRoute, ROUTE_TABLE, type RouteLabel } from "./routes/table.ts";
import { type EventStore, QueryError, StoreUnavailableError } from "./store.ts";
import { builtinPrices, type Prices } from "./usage/prices.ts";

export type { IngestSummary } from "./routes/ingest.ts";
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
  groupCommit?: Omit<GroupCommitOptions, "onWrite" | "onStored">;
  /** Bytes of request bodies being read at once, over all requests; beyond, 429. Default 64 MB. */
  bodyBudgetBytes?: number;
  /**
   * Most bytes of serialized records in one `GET /query` page (`ZO_QUERY_PAGE_BYTES`). Default
   * 4 MiB.
   */
  queryPageBytes?: number;
  /**
   * Bytes of `GET /query` pages being read or sent at once, over all queries
   * (`ZO_QUERY_BYTES_IN_FLIGHT`); one key may hold a quarter; beyond, 429. Default 16 MiB.
   */
  queryBytesInFlight?: number;
  /** Longest a query page waits for bytes in flight before its 429, in ms. Default 5,000. */
  queryWaitMs?: number;
  /** Seconds a client should wait after a 503 (store down). Default 5. */
  unavailableRetryAfterSeconds?: number;
  /** Receives one JSON line per request; default stderr. */
  log?: (line: string) => void;
  /** The price table of `GET /usage`; default the committed one (`bridge/usage/prices.json`). */
  prices?: Prices;
  /** Bounds of the `GET /live` hub (buffer per client, clients, heartbeat). */
  live?: Omit<LiveHubOptions, "registry" | "onActive" | "onPublish">;
  /**
   * The shared live feed (`live_feed.ts`): `/live` streams also carry what other bridges on the
   * same store write. Off when absent, or when the store cannot tell writers apart.
   */
  liveFeed?: Omit<LiveFeedOptions, "publish" | "registry">;
  /** Tuning of the agent_state updater (run when the store keeps `agentStateRecords`). */
  agentState?: AgentStateUpdaterOptions;
  /**
   * The second redaction pass at ingest (`ingest_redaction.ts`); default: on, built on the first
   * ingest. `false` turns it off (benchmarks and tests that measure without it).
   */
  redaction?: IngestRedaction | false;
}

/** The bridge's request handler, with the parts tests and the entry point look at. */
export type App = ((req: Request) => Promise<Response>) & {
  readonly metrics: BridgeMetrics;
  readonly committer: GroupCommitter;
  /** The live feed; `close()` it before shutting the server down (its streams never end). */
  readonly live: LiveHub;
  /**
   * The shared live feed, when on; `close()` it after the hub, before the store goes away (it
   * waits for a poll in flight).
   */
  readonly liveFeed: LiveFeed | undefined;
  /**
   * The agent_state updater, fed after every write (undefined when the store keeps no
   * agent_state). `close()` it after the server, before Chroma goes away.
   */
  readonly agentState: AgentStateUpdater | undefined;
  /** The budget of `GET /query` bytes in flight (what tests look at). */
  readonly queryBudget: QueryBudget;
};

const MAX_LOGGED_PATH_CHARS = 200;

const ROUTE_LIST = ROUTE_TABLE.map((route) => `${route.method} ${route.path}`).join(", ");

// deno-lint-ignore no-console -- the request log is the point: one JSON line per request
const stderrLog = (line: string) => console.error(line);

/** The default redaction pass, built (its rules compiled) when the first event comes. */
function lazyRedaction(): IngestRedaction {
  let built: Promise<IngestRedaction> | undefined;
  return {
    async redact(event) {
      built ??= createIngestRedaction();
      return await (await built).redact(event);
    },
  };
}

/** Creates the handler. Checks its options once, here. */
export function createApp(options: AppOptions): App {
  const { store, authenticate } = options;
  const metrics = options.metrics ?? createMetrics();
  const limits = options.limits ?? DEFAULT_INGEST_LIMITS;
  const log = options.log ?? stderrLog;
  const budget = createByteBudget(options.bodyBudgetBytes ?? 64 * 1024 * 1024);
  const queryPageBytes = options.queryPageBytes ?? QUERY_LIMITS.pageBytes;
  const queryBytesInFlight = options.queryBytesInFlight ?? DEFAULT_QUERY_BYTES_IN_FLIGHT;
  // One key's quarter must hold a whole page, or its largest pages could never be answered.
  const queryBudget = createQueryBudget(queryBytesInFlight, {
    perOwnerBytes: Math.max(Math.floor(queryBytesInFlight / 4), queryPageBytes),
    waitMs: options.queryWaitMs ?? 5_000,
  });
  const retryAfter = options.unavailableRetryAfterSeconds ?? 5;
  const agentState = store.agentStateRecords &&
    createAgentStateUpdater(store.agentStateRecords, options.agentState);
  const committer = createGroupCommitter(store, {
    ...options.groupCommit,
    onWrite: ({ size, seconds }) => metrics.observeWrite(size, seconds),
    // The stages after a write, in order: agent_state (here, before the acknowledgement, so a
    // flush after it sees them), then the live feed (in the ingest route, once acknowledged).
    ...(agentState && {
      onStored: (events, result) => addStoredEvents(agentState, { events, result }),
    }),
  });
  metrics.setQueueDepthSource(() => committer.depth);
  if (agentState) metrics.setStatePendingSource(() => agentState.pending);
  let liveFeed: LiveFeed | undefined;
  const live = createLiveHub({
    ...options.live,
    registry: metrics.registry,
    onActive: (active) => liveFeed?.setActive(active),
    onPublish: (events) => liveFeed?.notePublished(events),
  });
  if (options.liveFeed && store.storedWrites) {
    liveFeed = createLiveFeed(store.storedWrites, {
      ...options.liveFeed,
      publish: (events) => live.publish(events),
      registry: metrics.registry,
    });
  }
  const deps: RouteDeps = {
    store,
    committer,
    live,
    metrics,
    limits,
    budget,
    prices: options.prices ?? builtinPrices(),
    unavailableRetryAfterSeconds: retryAfter,
    metricsPublic: options.metricsPublic ?? false,
    redaction: options.redaction === false ? undefined : options.redaction ?? lazyRedaction(),
    query: { pageBytes: queryPageBytes, budget: queryBudget },
  };

  async function dispatch(
    req: Request,
    url: URL,
    route: Route | undefined,
    note: Record<string, unknown>,
  ): Promise<Response> {
    if (route === undefined) {
      throw new HttpError(
        "not_found",
        `Cannot find ${clipError(url.pathname)}: routes are ${ROUTE_LIST}`,
      );
    }
    const method = req.method === "HEAD" && route.method === "GET" ? "GET" : req.method;
    if (method !== route.method) {
      throw new HttpError(
        "method_not_allowed",
        `Cannot ${req.method} ${route.path}: use ${route.method}`,
        { headers: { allow: route.method === "GET" ? "GET, HEAD" : route.method } },
      );
    }
    let principal: Principal | undefined;
    if (route.scope !== "open" && !route.openWhen?.(deps)) {
      principal = await authenticate(req);
      note.key = principal.name;
      if (route.scope !== "any") requireScope(principal, route.scope);
    }
    return await route.handler({ req, url, principal, note, deps });
  }

  function errorToResponse(error: unknown, note: Record<string, unknown>): Response {
    if (error instanceof HttpError) return errorResponse(error);
    if (error instanceof QueueFullError) {
      return errorResponse(
        new HttpError("queue_full", error.message, {
          retryAfterSeconds: error.retryAfterSeconds,
          details: { reason: "queue_full" },
        }),
      );
    }
    if (error instanceof StoreUnavailableError) {
      note.store_error = error.message;
      return errorResponse(
        new HttpError(
          "store_unavailable",
          "Cannot store or read events now: the store (Chroma) is unavailable; retry later",
          {
            retryAfterSeconds: retryAfter,
            details: { reason: "store_unavailable" },
          },
        ),
      );
    }
    if (error instanceof QueryError) {
      return errorResponse(
        new HttpError("bad_query", `Cannot query: ${error.message}`, {
          details: { reason: "bad_query" },
        }),
      );
    }
    const id = crypto.randomUUID();
    note.error_id = id;
    note.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    note.stack = error instanceof Error ? error.stack : undefined;
    return errorResponse(
      new HttpError("internal", `Internal error ${id}: the bridge's log has the details`),
    );
  }

  const handler = async (req: Request): Promise<Response> => {
    const started = performance.now();
    const url = new URL(req.url);
    const route = matchRoute(url.pathname);
    const label: RouteLabel = route?.path as RouteLabel ?? "unmatched";
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
    metrics.observeRequest(label, response.status, seconds);
    log(JSON.stringify({
      ts: new Date().toISOString(),
      level: response.status >= 500 ? "error" : "info",
      method: req.method.slice(0, 16),
      path: url.pathname.slice(0, MAX_LOGGED_PATH_CHARS),
      route: label,
      status: response.status,
      ms: Math.round(seconds * 10_000) / 10,
      ...note,
    }));
    return response;
  };
  return Object.assign(handler, { metrics, committer, live, liveFeed, agentState, queryBudget });
}
