/**
 * `GET /query`: validated parameters (`../query_params.ts`), restricted to the key's project,
 * answered by the store (`../store.ts`) one page at a time.
 *
 * @module
 */
import { HttpError, jsonResponse } from "../errors.ts";
import { parseQueryParams } from "../query_params.ts";
import { visibleProjects } from "./project.ts";
import { principalOf, type RouteContext } from "./route.ts";

/** The handler of `GET /query`. */
export async function queryRoute(ctx: RouteContext): Promise<Response> {
  const parsed = parseQueryParams(ctx.url.searchParams);
  if (!parsed.ok) {
    throw new HttpError("bad_query", parsed.error, { details: { reason: "bad_query" } });
  }
  const params = parsed.params;
  const visible = visibleProjects(principalOf(ctx), {
    asked: params.filters.project_id,
    action: "query",
  });
  if (visible !== undefined) params.project_ids = visible;
  return jsonResponse(await ctx.deps.store.query(params));
}
