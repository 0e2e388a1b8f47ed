/**
 * The bridge's routes, in one table: path, method, scope, handler. The dispatcher (`../app.ts`)
 * reads it to match, to answer 404 and 405, and to check the scope; the request metrics take
 * their `route` labels from it.
 *
 * @module
 */
import { serveDashboard } from "../dashboard/serve.ts";
import { healthRoute } from "./health.ts";
import { ingestRoute } from "./ingest.ts";
import { liveRoute } from "./live.ts";
import { metricsRoute } from "./metrics.ts";
import { queryRoute } from "./query.ts";
import type { Route } from "./route.ts";
import { usageRoute } from "./usage.ts";
import { whoamiRoute } from "./whoami.ts";

/** Every route the bridge answers. */
export const ROUTE_TABLE = [
  { path: "/ingest", method: "POST", scope: "ingest", handler: ingestRoute },
  { path: "/query", method: "GET", scope: "read", handler: queryRoute },
  { path: "/health", method: "GET", scope: "open", handler: healthRoute },
  {
    path: "/metrics",
    method: "GET",
    scope: "read",
    openWhen: (deps) => deps.metricsPublic,
    handler: metricsRoute,
  },
  { path: "/live", method: "GET", scope: "read", handler: liveRoute },
  { path: "/usage", method: "GET", scope: "read", handler: usageRoute },
  { path: "/whoami", method: "GET", scope: "any", handler: whoamiRoute },
  {
    // Also "/": the dashboard's static files hold no data, so they are open.
    path: "/dashboard",
    matches: (pathname) =>
      pathname === "/" || pathname === "/dashboard" || pathname.startsWith("/dashboard/"),
    method: "GET",
    scope: "open",
    handler: (ctx) => serveDashboard(ctx.req, ctx.url),
  },
] as const satisfies readonly Route[];

/** The routes' paths, plus "unmatched": the only values of the metrics' `route` label. */
export type RouteLabel = typeof ROUTE_TABLE[number]["path"] | "unmatched";

/** Every value of {@linkcode RouteLabel}, in table order. */
export const ROUTE_LABELS: readonly RouteLabel[] = [
  ...ROUTE_TABLE.map((route) => route.path),
  "unmatched",
];

/** The route answering `pathname`, if any. */
export function matchRoute(pathname: string): Route | undefined {
  return (ROUTE_TABLE as readonly Route[]).find((route) =>
    route.matches ? route.matches(pathname) : route.path === pathname
  );
}
