/**
 * The shape every route of the bridge has: a path, a method, the scope a key needs, and one
 * handler taking a {@linkcode RouteContext}. The dispatcher (`../app.ts`) matches the path,
 * answers 404 and 405, authenticates and checks the scope, once, before any handler runs.
 *
 * @module
 */
import type { Principal, Scope } from "../auth.ts";
import type { GroupCommitter } from "../group_commit.ts";
import type { ByteBudget, IngestLimits } from "../ingest_body.ts";
import type { LiveHub } from "../live.ts";
import type { BridgeMetrics } from "../metrics.ts";
import type { QueryBudget } from "../query_budget.ts";
import type { IngestRedaction } from "../ingest_redaction.ts";
import type { EventStore } from "../store.ts";
import type { Prices } from "../usage/prices.ts";

/** What the handlers share: the store and the parts built around it by `createApp`. */
export interface RouteDeps {
  store: EventStore;
  committer: GroupCommitter;
  live: LiveHub;
  metrics: BridgeMetrics;
  limits: IngestLimits;
  budget: ByteBudget;
  prices: Prices;
  /** `Retry-After` of a 503 for a store that is down, in seconds. */
  unavailableRetryAfterSeconds: number;
  /** `/metrics` without a key. */
  metricsPublic: boolean;
  /** The second redaction pass on ingested events; undefined: off. */
  redaction: IngestRedaction | undefined;
  /** `GET /query`: the byte bound of a page, and the budget of query bytes in flight. */
  query: { pageBytes: number; budget: QueryBudget };
}

/** Everything a handler gets: the request, its URL, who sent it, its log line, the deps. */
export interface RouteContext {
  req: Request;
  url: URL;
  /** The caller; undefined on open routes. */
  principal: Principal | undefined;
  /** Fields added to the request's log line (never keys or bodies). */
  note: Record<string, unknown>;
  deps: RouteDeps;
}

/** One route of the table. */
export interface Route {
  /** The path, and the `route` label of the request metrics. */
  readonly path: string;
  /** Other paths it answers (the dashboard's files); default only `path`. */
  readonly matches?: (pathname: string) => boolean;
  /** `GET` routes also answer `HEAD`. */
  readonly method: "GET" | "POST";
  /** The scope a key needs; "open" for none; "any" for any valid key, whatever its scopes. */
  readonly scope: Scope | "open" | "any";
  /** When true for these deps, the route is open after all (`ZO_METRICS_PUBLIC`). */
  readonly openWhen?: (deps: RouteDeps) => boolean;
  readonly handler: (ctx: RouteContext) => Promise<Response> | Response;
}

/** The caller of a route that is not open (the dispatcher authenticated it). */
export function principalOf(ctx: RouteContext): Principal {
  if (ctx.principal === undefined) {
    throw new TypeError("Cannot handle this route: it is open, so it has no principal");
  }
  return ctx.principal;
}
