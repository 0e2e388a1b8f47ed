/**
 * The ordered-page query planner: one page of a collection by (ts, id) after a cursor, though
 * Chroma cannot sort. It reads the ids of matches (at most a probe's worth at a time), sorts them
 * here and narrows the time window until the page is certain; then reads the page's records, as
 * many as its byte bound holds (`page_records.ts`).
 *
 * @module
 */
import type { Collection, Where, WhereDocument } from "chromadb";
import { encodeCursor, QUERY_LIMITS } from "../query_params.ts";
import type { QueryParams, QueryResult } from "../store.ts";
import type { ChromaCall } from "./connection.ts";
import { COMPOSITE_KEYS, compositeValue, INDEXED_KEY, recordIdTime } from "./event_records.ts";
import { readPageRecords } from "./page_records.ts";

/** The projects a query may see: undefined for any (the caller's restriction is applied). */
export type Visible = readonly string[] | undefined;

/** A candidate of an ordered page: id and sort key. */
interface Candidate {
  id: string;
  tsMs: number;
}

const bySortKey = (a: Candidate, b: Candidate) =>
  a.tsMs - b.tsMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The project filter the caller's restriction allows: undefined = any, "none" = nothing. */
export function visibleProjects(params: QueryParams): Visible | "none" {
  if (params.project_ids === undefined) return undefined;
  const wanted = params.filters.project_id;
  if (wanted !== undefined) return params.project_ids.includes(wanted) ? undefined : "none";
  return params.project_ids.length === 0 ? "none" : params.project_ids;
}

/** What {@linkcode whereOf} adds to the query's own filters. */
export interface WhereOptions {
  visible: Visible;
  from?: number | undefined;
  to?: number | undefined;
  /**
   * The records are events (`events`, the `embeddings` view, `q=`): they carry the composite
   * keys of `event_records.ts`, so a session and its event type or tool are one equality.
   */
  events?: boolean;
  /** Only events that carry a text vector (the `embeddings` view, `q=`). */
  indexed?: boolean;
}

/** Equality filters with `$eq`, so a value can only ever be compared, never interpreted. */
export function whereOf(params: QueryParams, options: WhereOptions): Where | undefined {
  const clauses: Where[] = [];
  const filters: Record<string, string | undefined> = { ...params.filters };
  if (options.events) {
    for (const [key, [first, second]] of Object.entries(COMPOSITE_KEYS)) {
      const a = filters[first];
      const b = filters[second];
      if (a === undefined || b === undefined) continue;
      // One composite at most: the session is spent on the first that applies (so a session, its
      // event type and its tool are the composite and an equality on the tool).
      clauses.push({ [key]: { $eq: compositeValue(a, b) } } as Where);
      delete filters[first];
      delete filters[second];
    }
  }
  for (const [field, value] of Object.entries(filters)) {
    if (typeof value === "string") clauses.push({ [field]: { $eq: value } } as Where);
  }
  if (options.indexed) clauses.push({ [INDEXED_KEY]: { $eq: 1 } });
  if (options.visible !== undefined) clauses.push({ project_id: { $in: [...options.visible] } });
  const from = Math.max(params.since ?? -Infinity, options.from ?? -Infinity);
  const to = Math.min(params.until ?? Infinity, options.to ?? Infinity);
  if (Number.isFinite(from)) clauses.push({ ts_ms: { $gte: from } });
  if (Number.isFinite(to)) clauses.push({ ts_ms: { $lte: to } });
  if (clauses.length === 0) return undefined;
  return clauses.length === 1 ? clauses[0] : { $and: clauses };
}

/**
 * `text=` as a document filter. Documents are JSON, where a quote inside a value is written
 * `\"`: the text matches as given (so JSON fragments like `"tool_name":"Bash"` work) or as it
 * appears inside a JSON string.
 */
export function textFilter(text: string): WhereDocument {
  const escaped = JSON.stringify(text).slice(1, -1);
  if (escaped === text) return { $contains: text };
  return { $or: [{ $contains: text }, { $contains: escaped }] };
}

/** What {@linkcode firstAfter} and {@linkcode orderedPage} read with. */
export interface PlanOptions {
  collection: Collection;
  params: QueryParams;
  visible: Visible;
  /** The previous page's last (ts, id), if any. */
  after: { t: number; i: string } | undefined;
  /** Matches read per round trip while ordering. */
  probe: number;
  call: ChromaCall;
}

/**
 * The first `count` records after the cursor, by (ts_ms, id). When `idTime` is set, every id is
 * a UUID v7 whose time is the record's ts, or a derived id starting with one (`recordIdTime()`), so ids alone give the order (the cheapest read Chroma
 * has); otherwise the ts comes from the metadata. When a probe comes back full, unseen matches
 * may sort first, but none later than the `count`-th smallest ts seen: the time window shrinks
 * to that and the probe is repeated. A window that cannot shrink any more is read whole.
 * Answers undefined when `idTime` meets an id that is not v7.
 */
export async function firstAfter(
  options: PlanOptions & { count: number; idTime: boolean },
): Promise<Candidate[] | undefined> {
  const { collection, params, visible, after: cursor, count, idTime, call } = options;
  const whereDocument = params.text === undefined ? undefined : textFilter(params.text);
  const keyedByEvent = params.collection === "events" || params.collection === "embeddings";
  const shape = {
    visible,
    events: keyedByEvent,
    indexed: params.collection === "embeddings",
  };
  let upper: number | undefined;
  let limit: number | undefined = Math.max(options.probe, count * 2);
  // Chroma answers one equality clause much faster than an $and with a range: the cursor
  // joins the filter only when a probe has to narrow; until then it applies here.
  let ranged = false;
  while (true) {
    const where = whereOf(params, ranged ? { ...shape, from: cursor?.t, to: upper } : shape);
    const result = await call("query", () =>
      collection.get({
        ...(where ? { where } : {}),
        ...(whereDocument ? { whereDocument } : {}),
        ...(limit === undefined ? {} : { limit }),
        include: idTime ? [] : ["metadatas"],
      }));
    const candidates: Candidate[] = [];
    for (const [i, id] of result.ids.entries()) {
      const tsMs = idTime ? recordIdTime(id) : result.metadatas[i]?.ts_ms;
      if (typeof tsMs !== "number") {
        if (idTime) return undefined;
        continue;
      }
      if (cursor && (tsMs < cursor.t || (tsMs === cursor.t && id <= cursor.i))) continue;
      candidates.push({ id, tsMs });
    }
    candidates.sort(bySortKey);
    if (limit === undefined || result.ids.length < limit) return candidates.slice(0, count);
    const bound = candidates[count - 1]?.tsMs;
    if (bound !== undefined && bound !== upper) {
      upper = bound;
      ranged = true;
    } else if (!ranged && cursor !== undefined) {
      ranged = true;
    } else {
      limit = undefined;
    }
  }
}

/**
 * One page by (ts, id). `idsCarryTime` says whether ids may give the order (events and the
 * embeddings view are keyed by event_id; artifacts and agent_state are not).
 */
export async function orderedPage(
  options: PlanOptions & { idsCarryTime: () => Promise<boolean> },
): Promise<QueryResult> {
  const { params } = options;
  const count = params.limit + 1;
  const keyedByEvent = params.collection === "events" || params.collection === "embeddings";
  // The flag and the ids-only probe at once (asking for the flag first cost a round trip a
  // page); the probe counts only if the flag says every id carries its time.
  let candidates: Candidate[] | undefined;
  if (keyedByEvent) {
    const probe = firstAfter({ ...options, count, idTime: true });
    const [regular, byIds] = await Promise.allSettled([options.idsCarryTime(), probe]);
    if (regular.status === "rejected") throw regular.reason;
    if (regular.value) {
      if (byIds.status === "rejected") throw byIds.reason;
      candidates = byIds.value;
    }
  }
  candidates ??= (await firstAfter({ ...options, count, idTime: false }))!;
  const page = candidates.slice(0, params.limit);
  const read = await readPageRecords(options.collection, {
    name: params.collection,
    ids: page.map((c) => c.id),
    call: options.call,
    maxBytes: params.maxBytes ?? QUERY_LIMITS.pageBytes,
    reserve: params.reserve,
  });
  // The page ends at the last id it took: the byte bound may have stopped it before `limit`.
  const last = page[read.taken - 1];
  const more = read.taken < page.length || candidates.length > params.limit;
  return {
    results: read.results,
    next_cursor: more && last !== undefined
      ? encodeCursor({ v: 1, t: last.tsMs, i: last.id })
      : null,
  };
}
