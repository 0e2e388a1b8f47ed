/**
 * `GET /query`: validated parameters (`../query_params.ts`), restricted to the key's project,
 * answered by the store (`../store.ts`) one page at a time. A page holds at most the configured
 * bytes of records (`ZO_QUERY_PAGE_BYTES`), and its records take their bytes from the budget of
 * query bytes in flight (`../query_budget.ts`) before they are read, until the answer has been
 * sent (or the client went away): beyond the budget, 429 `busy`.
 *
 * @module
 */
import { HttpError } from "../errors.ts";
import type { BudgetRefusal } from "../query_budget.ts";
import { parseQueryParams } from "../query_params.ts";
import type { QueryResult } from "../store.ts";
import { visibleProjects } from "./project.ts";
import { principalOf, type RouteContext } from "./route.ts";

function busy(why: BudgetRefusal, owner: string): HttpError {
  const message = why === "key_share"
    ? `Cannot answer the query now: key ${owner} already has a quarter of the bridge's query memory (ZO_QUERY_BYTES_IN_FLIGHT) in pages being read or sent; retry after Retry-After`
    : "Cannot answer the query now: the bridge holds as many query pages in memory as it may (ZO_QUERY_BYTES_IN_FLIGHT); retry after Retry-After";
  return new HttpError("busy", message, { details: { reason: `query_${why}` } });
}

/**
 * The page as a JSON body serialized one record at a time as the connection takes it (so the
 * whole answer is never held twice more, as one string and its bytes), each record let go once
 * sent; `release` is called once it has all been sent or the client stopped reading it (at once
 * for HEAD, whose body the app drops).
 */
function pageResponse(
  page: QueryResult,
  options: { release: () => void; head: boolean },
): Response {
  const { release } = options;
  const headers = { "content-type": "application/json; charset=utf-8" };
  if (options.head) {
    release();
    return new Response(null, { status: 200, headers });
  }
  const encoder = new TextEncoder();
  const results: (unknown | undefined)[] = page.results;
  let next = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (next < results.length) {
        const text = (next === 0 ? '{"results":[' : ",") + JSON.stringify(results[next]);
        results[next++] = undefined;
        controller.enqueue(encoder.encode(text));
        return;
      }
      const cursor = JSON.stringify(page.next_cursor);
      controller.enqueue(
        encoder.encode(`${next === 0 ? '{"results":[' : ""}],"next_cursor":${cursor}}`),
      );
      controller.close();
      release();
    },
    cancel: release,
  }, { highWaterMark: 0 });
  return new Response(stream, { status: 200, headers });
}

/** The handler of `GET /query`. */
export async function queryRoute(ctx: RouteContext): Promise<Response> {
  const parsed = parseQueryParams(ctx.url.searchParams);
  if (!parsed.ok) {
    throw new HttpError("bad_query", parsed.error, { details: { reason: "bad_query" } });
  }
  const params = parsed.params;
  const principal = principalOf(ctx);
  const visible = visibleProjects(principal, {
    asked: params.filters.project_id,
    action: "query",
  });
  if (visible !== undefined) params.project_ids = visible;
  const { budget, pageBytes } = ctx.deps.query;
  const owner = principal.name;
  let held = 0;
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    budget.give(held, owner);
  };
  params.maxBytes = pageBytes;
  params.reserve = async (bytes) => {
    const outcome = await budget.take(bytes, owner);
    if (outcome !== "ok") throw busy(outcome, owner);
    if (released) {
      // The query failed meanwhile (a chunk read at once with this one): give it back now.
      budget.give(bytes, owner);
      return;
    }
    held += bytes;
  };
  try {
    const page = await ctx.deps.store.query(params);
    ctx.note.results = page.results.length;
    return pageResponse(page, { release, head: ctx.req.method === "HEAD" });
  } catch (error) {
    release();
    throw error;
  }
}
