/**
 * The ordered-page query planner: one page of a collection by (ts, id) after a cursor, though
 * Chroma cannot sort. It reads the ids of matches (at most a probe's worth at a time), sorts them
 * here and narrows the time window until the page is certain; then reads the page's records.
 *
 * @module
 */
import type { Collection, Where, WhereDocument } from "chromadb";
import { uuidV7Time } from "../../shared/ids.ts";
import { encodeCursor } from "../query_params.ts";
import type { CollectionName, QueryParams, QueryResult } from "../store.ts";
import type { ChromaCall } from "./connection.ts";

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

/** Equality filters with `$eq`, so a value can only ever be compared, never interpreted. */
export function whereOf(
  params: QueryParams,
  options: { visible: Visible; from?: number | undefined; to?: number | undefined },
): Where | undefined {
  const clauses: Where[] = [];
  for (const [field, value] of Object.entries(params.filters)) {
    if (typeof value === "string") clauses.push({ [field]: { $eq: value } } as Where);
  }
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
 * appears inside a JSON string. The embeddings collection's documents are the plain texts.
 */
function textFilter(text: string, collection: CollectionName): WhereDocument {
  const escaped = JSON.stringify(text).slice(1, -1);
  if (collection === "embeddings" || escaped === text) return { $contains: text };
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
 * a UUID v7 whose time is the record's ts, so ids alone give the order (the cheapest read Chroma
 * has); otherwise the ts comes from the metadata. When a probe comes back full, unseen matches
 * may sort first, but none later than the `count`-th smallest ts seen: the time window shrinks
 * to that and the probe is repeated. A window that cannot shrink any more is read whole.
 * Answers undefined when `idTime` meets an id that is not v7.
 */
export async function firstAfter(
  options: PlanOptions & { count: number; idTime: boolean },
): Promise<Candidate[] | undefined> {
  const { collection, params, visible, after: cursor, count, idTime, call } = options;
  const whereDocument = params.text === undefined
    ? undefined
    : textFilter(params.text, params.collection);
  let upper: number | undefined;
  let limit: number | undefined = Math.max(options.probe, count * 2);
  // Chroma answers one equality clause much faster than an $and with a range: the cursor
  // joins the filter only when a probe has to narrow; until then it applies here.
  let ranged = false;
  while (true) {
    const where = whereOf(params, ranged ? { visible, from: cursor?.t, to: upper } : { visible });
    const result = await call("query", () =>
      collection.get({
        ...(where ? { where } : {}),
        ...(whereDocument ? { whereDocument } : {}),
        ...(limit === undefined ? {} : { limit }),
        include: idTime ? [] : ["metadatas"],
      }));
    const candidates: Candidate[] = [];
    for (const [i, id] of result.ids.entries()) {
      const tsMs = idTime ? uuidV7Time(id) : result.metadatas[i]?.ts_ms;
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
 * One page by (ts, id). `idsCarryTime` says whether ids may give the order (events and
 * embeddings are keyed by event_id; artifacts and agent_state are not).
 */
export async function orderedPage(
  options: PlanOptions & { idsCarryTime: () => Promise<boolean> },
): Promise<QueryResult> {
  const { params } = options;
  const count = params.limit + 1;
  const keyedByEvent = params.collection === "events" || params.collection === "embeddings";
  const candidates = (keyedByEvent && await options.idsCarryTime() &&
    await firstAfter({ ...options, count, idTime: true })) ||
    (await firstAfter({ ...options, count, idTime: false }))!;
  const page = candidates.slice(0, params.limit);
  const results = await readRecords(options.collection, {
    name: params.collection,
    ids: page.map((c) => c.id),
    call: options.call,
  });
  const last = page.at(-1);
  return {
    results,
    next_cursor: candidates.length > params.limit && last !== undefined
      ? encodeCursor({ v: 1, t: last.tsMs, i: last.id })
      : null,
  };
}

/** The records of `ids`, in that order, as the API shows them. */
export async function readRecords(
  collection: Collection,
  options: { name: CollectionName; ids: string[]; call: ChromaCall },
): Promise<unknown[]> {
  const { name, ids } = options;
  if (ids.length === 0) return [];
  const include: ("documents" | "metadatas")[] = name === "embeddings"
    ? ["documents", "metadatas"]
    : ["documents"];
  const result = await options.call("read records", () => collection.get({ ids, include }));
  const byId = new Map<string, unknown>();
  result.ids.forEach((id, i) => {
    const document = result.documents[i];
    if (name === "embeddings") {
      byId.set(id, { event_id: id, indexable_text: document, ...result.metadatas[i] });
      return;
    }
    try {
      byId.set(id, JSON.parse(document ?? "null"));
    } catch {
      // A record this store did not write: show what there is rather than fail the page.
      byId.set(id, { id, document });
    }
  });
  return ids.filter((id) => byId.has(id)).map((id) => byId.get(id));
}
