/**
 * `GET /health` (open): the record count of each collection when Chroma answers, else 503 with
 * `Retry-After`.
 *
 * @module
 */
import { jsonResponse } from "../errors.ts";
import type { RouteContext } from "./route.ts";

/** The handler of `GET /health`. */
export async function healthRoute(ctx: RouteContext): Promise<Response> {
  try {
    const counts = await ctx.deps.store.counts();
    return jsonResponse({ status: "ok", counts });
  } catch {
    return jsonResponse({
      status: "unavailable",
      error: "Cannot reach the store (Chroma)",
      reason: "store_unavailable",
    }, {
      status: 503,
      headers: { "retry-after": String(ctx.deps.unavailableRetryAfterSeconds) },
    });
  }
}
