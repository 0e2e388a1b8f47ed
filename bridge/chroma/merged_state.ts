/**
 * `GET /query?collection=agent_state`: the state records as one, though each bridge keeps its
 * own part of every state (`agent_state_records.ts`): the partials of a state are summed when
 * read (`mergeState`), and filters, order and paging apply to the merged records.
 *
 * How a page is made: Chroma can only filter the partials, and a merged record's status, last
 * ts and latest worker/run/session are those of its latest partial. So every filter is first a
 * superset on the partials (a merged record matches only if at least one of its partials does:
 * scope and project are the same on all of them; status, ts and the other ids come from one of
 * them), which gives the candidate states; then all partials of the candidates are read and
 * merged, the filters applied exactly to the merged records (and `text=` to their JSON), and the
 * page cut by (last ts, state id) after the cursor. The cost is linear in the candidates, not
 * in the page: narrow with `since`, `scope` or `status` (as the dashboard does) on a big fleet.
 * Records written before partials existed (id = state id, no `state_id`) merge in as one more
 * partial.
 *
 * @module
 */
import type { Collection, Where } from "chromadb";
import { type AgentState, parseState, STATE_SCOPES } from "../agent_state.ts";
import { mergeState } from "../agent_state_updater.ts";
import { encodeCursor } from "../query_params.ts";
import type { QueryParams, QueryResult } from "../store.ts";
import { LAST_EVENT_ID_KEY, STATE_ID_KEY } from "./agent_state_records.ts";
import { type ChromaCall, chunks } from "./connection.ts";
import { type Visible, whereOf } from "./query_planner.ts";

/** What {@linkcode mergedStatePage} reads with. */
export interface MergedStateOptions {
  collection: Collection;
  params: QueryParams;
  visible: Visible;
  /** The previous page's last (ts, state id), if any. */
  after: { t: number; i: string } | undefined;
  call: ChromaCall;
}

/** One page of merged agent_state records by (last ts, id); see the module doc. */
export async function mergedStatePage(options: MergedStateOptions): Promise<QueryResult> {
  const { params, after } = options;
  const candidates = [...await candidateStates(options)];
  // text= needs the merged JSON; everything else is decided on the partials' metadata alone,
  // so that only the page's documents are read.
  const heads = params.text === undefined
    ? await mergedHeads(options.collection, { ids: candidates, call: options.call })
    : (await mergedStates(options.collection, { ids: candidates, call: options.call }));
  const matching = heads.filter((head) =>
    matches(head, options) &&
    (after === undefined || head.last_ts_ms > after.t ||
      (head.last_ts_ms === after.t && head.id > after.i))
  ).sort((a, b) => a.last_ts_ms - b.last_ts_ms || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const pageIds = matching.slice(0, params.limit).map((head) => head.id);
  const states = new Map(
    (await mergedStates(options.collection, { ids: pageIds, call: options.call }))
      .map((state) => [state.id, state]),
  );
  const page = pageIds.flatMap((id) => states.get(id) ?? []);
  const last = matching[pageIds.length - 1];
  return {
    results: page,
    next_cursor: matching.length > params.limit && last !== undefined
      ? encodeCursor({ v: 1, t: last.last_ts_ms, i: last.id })
      : null,
  };
}

/** What a merged record's filters and order need: as `mergeState` would make them. */
type Head = Pick<
  AgentState,
  | "id"
  | "scope"
  | "project_id"
  | "status"
  | "last_ts_ms"
  | "last_event_id"
  | "worker_id"
  | "run_id"
  | "session_id"
>;

/** The ids of the states with at least one partial matching the filters (a superset). */
async function candidateStates(options: MergedStateOptions): Promise<Set<string>> {
  const { params, visible, after } = options;
  const clauses: Where[] = [];
  const where = whereOf(params, { visible, from: after?.t });
  if (where !== undefined) clauses.push(where);
  // Bridges' marker records are no state: without a scope filter, name the state scopes.
  if (params.filters.scope === undefined) clauses.push({ scope: { $in: [...STATE_SCOPES] } });
  const result = await options.call("query", () =>
    options.collection.get({
      where: clauses.length === 1 ? clauses[0]! : { $and: clauses },
      include: ["metadatas"],
    }));
  const ids = new Set<string>();
  result.ids.forEach((id, i) => {
    const stateId = result.metadatas[i]?.[STATE_ID_KEY];
    ids.add(typeof stateId === "string" ? stateId : id);
  });
  return ids;
}

/** Every partial of the states `ids`, from Chroma: documents or metadata only. */
async function partialsOf<T extends "documents" | "metadatas">(
  collection: Collection,
  options: { ids: string[]; call: ChromaCall; include: T },
) {
  const pages = [];
  for (const part of chunks(options.ids)) {
    const include = [options.include];
    pages.push(
      ...await Promise.all([
        options.call(
          "read records",
          () => collection.get({ where: { [STATE_ID_KEY]: { $in: part } }, include }),
        ),
        // Records from before partials (id = state id) are one more partial of their state.
        options.call("read records", () => collection.get({ ids: part, include })),
      ]),
    );
  }
  return pages;
}

/** The merged records' heads (see {@linkcode Head}) of the states `ids`, from metadata. */
async function mergedHeads(
  collection: Collection,
  options: { ids: string[]; call: ChromaCall },
): Promise<Head[]> {
  const heads = new Map<string, Head>();
  for (const page of await partialsOf(collection, { ...options, include: "metadatas" })) {
    page.ids.forEach((recordId, i) => {
      const m = page.metadatas[i] ?? {};
      const text = (key: string) => typeof m[key] === "string" ? m[key] as string : undefined;
      const id = text(STATE_ID_KEY) ?? recordId;
      if (typeof m.ts_ms !== "number" || text("scope") === undefined) return;
      const partial: Head = {
        id,
        scope: text("scope") as Head["scope"],
        status: text("status") as Head["status"],
        last_ts_ms: m.ts_ms,
        last_event_id: text(LAST_EVENT_ID_KEY) ?? "",
      };
      for (const field of ["project_id", "worker_id", "run_id", "session_id"] as const) {
        const value = text(field);
        if (value !== undefined) partial[field] = value;
      }
      const base = heads.get(id);
      heads.set(id, base === undefined ? partial : mergeHead(base, partial));
    });
  }
  return [...heads.values()];
}

/** `mergeState`'s rules for the head fields: the later partial (ts, then event id) decides. */
function mergeHead(a: Head, b: Head): Head {
  const bLater = b.last_ts_ms > a.last_ts_ms ||
    (b.last_ts_ms === a.last_ts_ms && b.last_event_id > a.last_event_id);
  const [earlier, later] = bLater ? [a, b] : [b, a];
  const merged: Head = { ...earlier, ...later };
  for (const field of ["worker_id", "run_id", "session_id"] as const) {
    merged[field] = later[field] ?? earlier[field];
    if (merged[field] === undefined) delete merged[field];
  }
  return merged;
}

/** Every partial of the states `ids`, merged: one record per state. */
async function mergedStates(
  collection: Collection,
  options: { ids: string[]; call: ChromaCall },
): Promise<AgentState[]> {
  const partials = new Map<string, AgentState[]>();
  for (const page of await partialsOf(collection, { ...options, include: "documents" })) {
    for (const document of page.documents) {
      const state = parseState(document);
      if (state === undefined) continue;
      const list = partials.get(state.id) ?? [];
      list.push(state);
      partials.set(state.id, list);
    }
  }
  return [...partials.values()].map((list) => {
    // Earliest first, so that each merge folds in a later partial (the order does not change
    // the sums; it keeps "last" fields from the latest partial).
    list.sort((a, b) => a.last_ts_ms - b.last_ts_ms);
    return list.slice(1).reduce((base, partial) => mergeState(base, partial), list[0]!);
  });
}

/** Whether a merged record passes the query's filters, exactly. */
function matches(state: Head | AgentState, options: MergedStateOptions): boolean {
  const { params, visible } = options;
  for (const [field, value] of Object.entries(params.filters)) {
    if (value !== undefined && (state as unknown as Record<string, unknown>)[field] !== value) {
      return false;
    }
  }
  if (visible !== undefined && !visible.includes(state.project_id ?? "")) return false;
  if (params.since !== undefined && state.last_ts_ms < params.since) return false;
  if (params.until !== undefined && state.last_ts_ms > params.until) return false;
  if (params.text !== undefined) {
    // As `textFilter` in the query planner: the text as given, or as written inside JSON.
    const json = JSON.stringify(state);
    const escaped = JSON.stringify(params.text).slice(1, -1);
    if (!json.includes(params.text) && !json.includes(escaped)) return false;
  }
  return true;
}
