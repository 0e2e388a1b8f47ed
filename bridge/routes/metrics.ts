/**
 * `GET /metrics`: the Prometheus text exposition of the bridge's registry (`../metrics.ts`).
 * Needs a `read` key unless `ZO_METRICS_PUBLIC=1`.
 *
 * @module
 */
import type { RouteContext } from "./route.ts";

/** The handler of `GET /metrics`. */
export async function metricsRoute(ctx: RouteContext): Promise<Response> {
  const { metrics } = ctx.deps;
  return new Response(await metrics.render(), {
    headers: { "content-type": metrics.contentType },
  });
}
