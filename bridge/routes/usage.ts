/**
 * `GET /usage`: token usage and cost by project, worker, run, session, subagent, model or day
 * (contract: `bridge/README.md`). Needs a `read` key; a key bound to a project sees only that
 * project (asking for another is 403). Counts come from the stored usage records
 * (`../usage/records.ts`, each response once, its maximum per field), costs from the price table
 * the bridge was started with (`ZO_PRICES_FILE`, else the committed one).
 *
 * @module
 */
import { HttpError, jsonResponse } from "../errors.ts";
import { parseUsageParams } from "../usage/params.ts";
import { usageReport } from "../usage/report.ts";
import { visibleProjects } from "./project.ts";
import { principalOf, type RouteContext } from "./route.ts";

/** The handler of `GET /usage`. */
export async function usageRoute(ctx: RouteContext): Promise<Response> {
  const { store, prices } = ctx.deps;
  const parsed = parseUsageParams(ctx.url.searchParams);
  if (!parsed.ok) {
    throw new HttpError("bad_query", parsed.error, { details: { reason: "bad_query" } });
  }
  const query = parsed.query;
  const visible = visibleProjects(principalOf(ctx), {
    asked: query.filters.project_id,
    action: "report usage of",
  });
  if (visible !== undefined) query.project_ids = visible;
  if (store.usageRecords === undefined) {
    throw new HttpError(
      "not_implemented",
      "Cannot report usage: this store keeps no usage records",
    );
  }
  const records = await store.usageRecords({
    filters: query.filters,
    ...(query.since === undefined ? {} : { since: query.since }),
    ...(query.until === undefined ? {} : { until: query.until }),
    ...(query.project_ids === undefined ? {} : { project_ids: query.project_ids }),
  });
  return jsonResponse(usageReport(records, { query, prices }));
}
