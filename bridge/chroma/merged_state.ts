/**
 * `GET /query?collection=agent_state`: the state records as one, though each bridge keeps its
 * own part of every state (`agent_state_records.ts`): the parts of a state are summed when read
 * (`mergeState`), and filters, order and paging apply to the merged records.
 *
 * How a page is made. A merged record's last ts is the latest of its parts', and its status and
 * latest worker/run/session those of its latest part; scope and project are the same on all
 * parts, and so is the scope's own key (`session_id` of a session record). Chroma filters only
 * the parts, so:
 *
 * 1. Candidates: the parts matching what is the same on every part of a state (scope, project,
 *    the scope's own key) and the lower time bound (`since`, the cursor): a state's latest part
 *    matches a lower bound whenever the merged record does, so every matching state is among the
 *    candidates, each with its latest part.
 * 2. Heads: each candidate state's last ts, status and ids, folded from its parts' metadata as
 *    `mergeState` folds them. When the query filters on nothing else, the parts read in step 1
 *    are enough (one read): they hold each state's latest part. (A head's worker/run/session
 *    then comes from parts within the time bound only: when the latest part has none, an older
 *    part's would have filled it in. Only a filter on such an id could differ, and that filter
 *    takes the two-read path.) Filters that differ between parts (an id that is not the scope's
 *    own, e.g. `session_id` without `scope`) also narrow step 1, as a superset (a merged record
 *    matches only if one of its parts does); then every part of the candidates is read for the
 *    heads (two reads).
 * 3. The exact filters (status, `until`, the ids, the caller's projects) on the heads, the order
 *    by (last ts, state id), the page after the cursor; then the documents of the page's states
 *    only, merged, and the page cut at its byte bound (`maxBytes`, taken from the caller's budget
 *    as `page_records.ts` does for agent_state records). `text=` needs the merged JSON: it merges every candidate.
 *
 * The cost is linear in the candidate parts, not in the page: narrow with `since`, `scope` or a
 * project on a big fleet (the dashboard does). Measured on this machine, 1,000 sessions each
 * with parts from 3 bridges: one page of all 1,000 in ~610 ms, ten pages of 100 in ~1.7 s, one
 * session in ~9 ms (one record per state, before parts: ~160 ms, ~700 ms, ~21 ms). Records written before parts existed (id = state
 * id, no `state_id`) merge in as one more part.
 *
 * @module
 */
import type { Collection, Metadata, Where } from "chromadb";
import { type AgentState, parseState, STATE_SCOPES } from "../agent_state.ts";
import { mergeState } from "../agent_state_updater.ts";
import { textForms, utf8Bytes } from "../_util.ts";
import { encodeCursor, QUERY_LIMITS } from "../query_params.ts";
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

const ID_FIELDS = ["worker_id", "run_id", "session_id"] as const;

/** One page of merged agent_state records by (last ts, id); see the module doc. */
export async function mergedStatePage(options: MergedStateOptions): Promise<QueryResult> {
  const { params, after, collection, call } = options;
  const { stable, varying } = splitFilters(params);
  const lower = Math.max(params.since ?? -Infinity, after?.t ?? -Infinity);
  const from = Number.isFinite(lower) ? lower : undefined;
  const candidates = await readParts(collection, {
    where: candidateWhere({ ...params, filters: { ...stable, ...varying } }, {
      visible: options.visible,
      from,
    }),
    include: Object.keys(varying).length === 0 ? "metadatas" : "ids",
    call,
  });
  let heads: (Head | AgentState)[];
  if (params.text !== undefined) {
    heads = await mergedStates(collection, { ids: [...candidates.stateIds], call });
  } else if (candidates.metadatas !== undefined) {
    heads = foldHeads(candidates.ids, candidates.metadatas);
  } else {
    const parts = await partsOf(collection, {
      ids: [...candidates.stateIds],
      call,
      include: "metadatas",
    });
    heads = foldHeads(
      parts.flatMap((page) => page.ids),
      parts.flatMap((page) => page.metadatas),
    );
  }
  const matching = heads.filter((head) =>
    matches(head, options) &&
    (after === undefined || head.last_ts_ms > after.t ||
      (head.last_ts_ms === after.t && head.id > after.i))
  ).sort((a, b) => a.last_ts_ms - b.last_ts_ms || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const page = matching.slice(0, params.limit);
  const states = new Map(
    (await mergedStates(collection, { ids: page.map((head) => head.id), call }))
      .map((state) => [state.id, state]),
  );
  const { results, taken } = await boundedPage(page.map((head) => states.get(head.id)), params);
  // The page ends at the last record it took: the byte bound may have stopped it before `limit`.
  const last = page[taken - 1];
  const more = taken < page.length || matching.length > params.limit;
  return {
    results,
    next_cursor: more && last !== undefined
      ? encodeCursor({ v: 1, t: last.last_ts_ms, i: last.id })
      : null,
  };
}

/**
 * The page's merged records up to the query's byte bound (one at least), as `page_records.ts`
 * cuts pages of agent_state records: read whole (a few KB each), the bytes taken from the
 * caller's budget once read (at most the bound), then cut. `taken` counts the page's entries
 * used, a state gone meanwhile (undefined) included.
 */
async function boundedPage(
  page: readonly (AgentState | undefined)[],
  params: QueryParams,
): Promise<{ results: AgentState[]; taken: number }> {
  const maxBytes = params.maxBytes ?? QUERY_LIMITS.pageBytes;
  const sizes = page.map((state) => state === undefined ? 0 : utf8Bytes(JSON.stringify(state)));
  await params.reserve?.(Math.min(maxBytes, sizes.reduce((sum, size) => sum + size, 0)));
  const results: AgentState[] = [];
  let bytes = 0;
  let taken = 0;
  for (const [i, state] of page.entries()) {
    if (state !== undefined) {
      if (results.length > 0 && bytes + sizes[i]! > maxBytes) break;
      results.push(state);
      bytes += sizes[i]!;
    }
    taken = i + 1;
  }
  return { results, taken };
}

/**
 * The query's equality filters: `stable` ones, the same on every part of a state (scope,
 * project, the scope's own key), and `varying` ones (the other ids: they follow the latest part).
 * `status` is in neither: it is applied to the heads only.
 */
function splitFilters(params: QueryParams) {
  const stable: QueryParams["filters"] = {};
  const varying: QueryParams["filters"] = {};
  const { scope, status: _, ...ids } = params.filters;
  if (scope !== undefined) stable.scope = scope;
  for (const [field, value] of Object.entries(ids) as [keyof typeof ids, string][]) {
    if (field === "project_id" || field === `${scope}_id`) stable[field] = value;
    else varying[field] = value;
  }
  return { stable, varying };
}

/** Step 1's where: the filters given, a lower time bound, and state records only. */
function candidateWhere(
  params: QueryParams,
  options: { visible: Visible; from: number | undefined },
): Where {
  // Lower bounds only: an upper one (`until`) holds for a merged record when it holds for all
  // of its parts, which no filter on a single part can say.
  const bounded = { ...params, since: undefined, until: undefined };
  const clauses: Where[] = [];
  const where = whereOf(bounded, { visible: options.visible, from: options.from });
  if (where !== undefined) clauses.push(where);
  // Bridges' marker records are no state: without a scope filter, name the state scopes.
  if (params.filters.scope === undefined) clauses.push({ scope: { $in: [...STATE_SCOPES] } });
  return clauses.length === 1 ? clauses[0]! : { $and: clauses };
}

/**
 * The parts matching `where`: their state ids, with their metadata when asked for. Ids alone
 * are read much faster (3,000 parts: 9 ms against 240 ms with metadata, on this machine).
 */
async function readParts(
  collection: Collection,
  options: { where: Where; include: "metadatas" | "ids"; call: ChromaCall },
): Promise<{ stateIds: Set<string>; ids: string[]; metadatas?: (Metadata | null)[] }> {
  const result = await options.call("query", () =>
    collection.get({
      where: options.where,
      include: options.include === "ids" ? [] : ["metadatas"],
    }));
  const stateIds = new Set<string>();
  result.ids.forEach((id, i) => {
    const fromMetadata = result.metadatas?.[i]?.[STATE_ID_KEY];
    stateIds.add(typeof fromMetadata === "string" ? fromMetadata : stateIdOf(id));
  });
  return options.include === "ids"
    ? { stateIds, ids: result.ids }
    : { stateIds, ids: result.ids, metadatas: result.metadatas };
}

/**
 * The state id of a part's record id `<state id>~<bridge id>` (or of a record from before parts:
 * the state id itself). A state id is a JSON array, so it ends at the first `]~` before which
 * the text parses as one.
 */
export function stateIdOf(recordId: string): string {
  for (let at = recordId.indexOf("]~"); at !== -1; at = recordId.indexOf("]~", at + 1)) {
    try {
      if (Array.isArray(JSON.parse(recordId.slice(0, at + 1)))) return recordId.slice(0, at + 1);
    } catch { /* a "]~" inside a key: look further */ }
  }
  return recordId;
}

/** Every part of the states `ids`, from Chroma: documents or metadata. */
async function partsOf<T extends "documents" | "metadatas">(
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
        // Records from before parts (id = state id) are one more part of their state.
        options.call("read records", () => collection.get({ ids: part, include })),
      ]),
    );
  }
  return pages;
}

/** The heads of the states the parts `ids` (with `metadatas`) belong to, one per state. */
function foldHeads(ids: readonly string[], metadatas: readonly (Metadata | null)[]): Head[] {
  const heads = new Map<string, Head>();
  ids.forEach((recordId, i) => {
    const m = metadatas[i] ?? {};
    const text = (key: string) => typeof m[key] === "string" ? m[key] as string : undefined;
    const scope = text("scope");
    if (typeof m.ts_ms !== "number" || scope === undefined) return;
    const id = text(STATE_ID_KEY) ?? stateIdOf(recordId);
    const part: Head = {
      id,
      scope: scope as Head["scope"],
      status: text("status") as Head["status"],
      last_ts_ms: m.ts_ms,
      last_event_id: text(LAST_EVENT_ID_KEY) ?? "",
    };
    for (const field of ["project_id", ...ID_FIELDS] as const) {
      const value = text(field);
      if (value !== undefined) part[field] = value;
    }
    const base = heads.get(id);
    heads.set(id, base === undefined ? part : mergeHead(base, part));
  });
  return [...heads.values()];
}

/** `mergeState`'s rules for the head fields: the later part (ts, then event id) decides. */
function mergeHead(a: Head, b: Head): Head {
  const bLater = b.last_ts_ms > a.last_ts_ms ||
    (b.last_ts_ms === a.last_ts_ms && b.last_event_id > a.last_event_id);
  const [earlier, later] = bLater ? [a, b] : [b, a];
  const merged: Head = { ...earlier, ...later };
  for (const field of ID_FIELDS) {
    const value = later[field] ?? earlier[field];
    if (value === undefined) delete merged[field];
    else merged[field] = value;
  }
  return merged;
}

/** Every part of the states `ids`, merged: one record per state. */
async function mergedStates(
  collection: Collection,
  options: { ids: string[]; call: ChromaCall },
): Promise<AgentState[]> {
  const parts = new Map<string, AgentState[]>();
  for (const page of await partsOf(collection, { ...options, include: "documents" })) {
    for (const document of page.documents) {
      const state = parseState(document);
      if (state === undefined) continue;
      const list = parts.get(state.id) ?? [];
      list.push(state);
      parts.set(state.id, list);
    }
  }
  return [...parts.values()].map((list) => {
    // Earliest first, so that each merge folds in a later part (the order does not change the
    // sums; it keeps "last" fields from the latest part).
    list.sort((a, b) => a.last_ts_ms - b.last_ts_ms);
    return list.slice(1).reduce((base, part) => mergeState(base, part), list[0]!);
  });
}

/** Whether a merged record (or its head) passes the query's filters, exactly. */
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
    const json = JSON.stringify(state);
    if (!textForms(params.text).some((form) => json.includes(form))) return false;
  }
  return true;
}
