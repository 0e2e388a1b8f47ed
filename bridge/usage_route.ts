/**
 * `GET /usage`: token usage and cost by project, worker, run, session, subagent, model or day
 * (contract: `bridge/README.md`). Needs a `read` key; a key bound to a project sees only that
 * project (asking for another is 403). Counts come from the stored usage records
 * (`usage_records.ts`, each response once, its maximum per field), costs from the price table
 * the bridge was started with (`ZO_PRICES_FILE`, else the committed one).
 *
 * @module
 */
import type { Prices } from "./usage/prices.ts";
import { type Principal, requireScope } from "./auth.ts";
import { HttpError, jsonResponse } from "./errors.ts";
import type { EventStore } from "./store.ts";
import { parseUsageParams } from "./usage/params.ts";
import { usageReport } from "./usage/report.ts";

/** The handler of `GET /usage` over `store`, pricing with `prices`. */
export function createUsageRoute(
  store: EventStore,
  prices: Prices,
): (url: URL, principal: Principal) => Promise<Response> {
  return async (url, principal) => {
    requireScope(principal, "read");
    const parsed = parseUsageParams(url.searchParams);
    if (!parsed.ok) {
      throw new HttpError(400, parsed.error, { details: { reason: "bad_query" } });
    }
    const query = parsed.query;
    if (principal.projectId !== undefined) {
      const asked = query.filters.project_id;
      if (asked !== undefined && asked !== principal.projectId) {
        throw new HttpError(
          403,
          `Cannot report usage of project "${asked}": key ${principal.name} may only read project "${principal.projectId}"`,
          { details: { project_id: principal.projectId } },
        );
      }
      query.project_ids = [principal.projectId];
    }
    if (store.usageRecords === undefined) {
      throw new HttpError(501, "Cannot report usage: this store keeps no usage records");
    }
    const records = await store.usageRecords({
      filters: query.filters,
      ...(query.since === undefined ? {} : { since: query.since }),
      ...(query.until === undefined ? {} : { until: query.until }),
      ...(query.project_ids === undefined ? {} : { project_ids: query.project_ids }),
    });
    return jsonResponse(usageReport(records, { query, prices }));
  };
}
