/**
 * Semantic search (`q=`): the nearest `indexable_text` vectors to the query's (the events that
 * carry one, in the `events` collection), ranked by cosine distance then id, paged by offset
 * cursors up to {@linkcode MAX_SEMANTIC_RESULTS} deep; a page holds as many as its byte bound
 * allows (`page_records.ts`).
 *
 * @module
 */
import type { EmbeddingProvider } from "../embeddings.ts";
import { encodeCursor, QUERY_LIMITS } from "../query_params.ts";
import { type QueryParams, type QueryResult, StoreUnavailableError } from "../store.ts";
import type { Collections } from "./collections.ts";
import type { ChromaCall } from "./connection.ts";
import { readPageRecords } from "./page_records.ts";
import { textFilter, type Visible, whereOf } from "./query_planner.ts";

/** Deepest a `q=` search pages: similarity ranks beyond this are noise. */
export const MAX_SEMANTIC_RESULTS = 10_000;

/** One page of a `q=` search, from `offset` (the cursor's). */
export async function semanticPage(options: {
  collections: Collections;
  params: QueryParams;
  visible: Visible;
  offset: number;
  embedder: EmbeddingProvider;
  call: ChromaCall;
}): Promise<QueryResult> {
  const { collections, params, visible, offset, call } = options;
  let vector: number[];
  try {
    [vector] = await options.embedder.embed([params.q!]) as [number[]];
  } catch (error) {
    throw new StoreUnavailableError(`Cannot embed the query: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const where = whereOf(params, { visible, events: true, indexed: true });
  const end = offset + params.limit;
  if (offset >= MAX_SEMANTIC_RESULTS) return { results: [], next_cursor: null };
  let wanted = Math.min(end + 1, MAX_SEMANTIC_RESULTS);
  let ranked: { id: string; distance: number }[];
  while (true) {
    const result = await call("search by similarity", () =>
      collections.events.query({
        queryEmbeddings: [vector],
        nResults: wanted,
        ...(where ? { where } : {}),
        ...(params.text ? { whereDocument: textFilter(params.text) } : {}),
        include: ["distances"],
      }));
    const found = (result.ids[0] ?? []).map((id, i) => ({
      id,
      // Rounded so that equal texts tie exactly and the id decides, the same way every page.
      distance: Math.round((result.distances[0]?.[i] ?? 2) * 1e6) / 1e6,
    }));
    // Cosine distance 1 or more: nothing in common with q (no shared word, for offline).
    ranked = found.filter((r) => r.distance < 1);
    ranked.sort((a, b) => a.distance - b.distance || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const complete = found.length < wanted || ranked.length < found.length ||
      wanted >= MAX_SEMANTIC_RESULTS;
    // Matches tied with the page's edge may be left out of a k-nearest answer: widen it.
    const edge = ranked[Math.min(end, ranked.length) - 1]?.distance;
    if (complete || edge === undefined || ranked.at(-1)!.distance > edge) break;
    wanted = Math.min(wanted * 2, MAX_SEMANTIC_RESULTS);
  }
  const pageIds = ranked.slice(offset, end).map((r) => r.id);
  const name = params.collection === "embeddings" ? "embeddings" : "events";
  const read = await readPageRecords(collections.events, {
    name,
    ids: pageIds,
    call,
    maxBytes: params.maxBytes ?? QUERY_LIMITS.pageBytes,
    reserve: params.reserve,
  });
  // The byte bound may end the page early: the next one starts after what this one took.
  const next = offset + read.taken;
  return {
    results: read.results,
    next_cursor: ranked.length > next && next < MAX_SEMANTIC_RESULTS
      ? encodeCursor({ v: 1, o: next })
      : null,
  };
}
