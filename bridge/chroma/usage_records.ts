/**
 * The `usage` collection: adding a batch's usage records and reading them back by equality
 * filters, for the write path (usage deltas) and `GET /usage`.
 *
 * @module
 */
import type { Collection, Where } from "chromadb";
import type { UsageFilter } from "../store.ts";
import { recordFromMetadata, recordMetadata, type UsageRecord } from "../usage/records.ts";
import { type ChromaCall, chunks, MAX_BATCH, PLACEHOLDER_EMBEDDING } from "./connection.ts";
import { usageProjects } from "../usage/select.ts";

/** Adds `records` (ids are content hashes: adding one again changes nothing). */
export async function addUsageRecords(
  collection: Collection,
  options: { records: readonly UsageRecord[]; call: ChromaCall },
): Promise<void> {
  for (const part of chunks(options.records)) {
    await options.call("store usage records", () =>
      collection.add({
        ids: part.map((r) => r.id),
        metadatas: part.map(recordMetadata),
        embeddings: part.map(() => [...PLACEHOLDER_EMBEDDING]),
      }));
  }
}

/**
 * Usage records matching equality filters: each field names the values it may take (`$in`
 * lists, a value at a time; never an operator from a client). Reads every match, page by page.
 */
export async function readUsageRecords(
  collection: Collection,
  options: {
    call: ChromaCall;
    filters: Record<string, readonly string[]>;
    since?: number | undefined;
    until?: number | undefined;
  },
): Promise<UsageRecord[]> {
  const records: UsageRecord[] = [];
  const lists = Object.entries(options.filters);
  // Long lists are split so that no one call names more than 500 values.
  const [field, values] = lists.find(([, v]) => v.length > 500) ?? [undefined, []];
  const parts = field === undefined ? [undefined] : chunks(values, 500);
  for (const part of parts) {
    const clauses: Where[] = [];
    for (const [name, list] of lists) {
      const use = name === field ? part! : list;
      if (use.length === 0) return records;
      clauses.push(
        use.length === 1
          ? { [name]: { $eq: use[0]! } } as Where
          : { [name]: { $in: [...use] } } as Where,
      );
    }
    if (options.since !== undefined) clauses.push({ ts_ms: { $gte: options.since } });
    if (options.until !== undefined) clauses.push({ ts_ms: { $lte: options.until } });
    const where = clauses.length === 0
      ? undefined
      : clauses.length === 1
      ? clauses[0]
      : { $and: clauses };
    for (let offset = 0;; offset += MAX_BATCH) {
      const page = await options.call("read usage records", () =>
        collection.get({
          ...(where ? { where } : {}),
          limit: MAX_BATCH,
          offset,
          include: ["metadatas"],
        }));
      page.ids.forEach((id, i) => {
        const record = recordFromMetadata(id, page.metadatas[i]);
        if (record !== undefined) records.push(record);
      });
      if (page.ids.length < MAX_BATCH) break;
    }
  }
  return records;
}

/**
 * Every stored reading of every API response that may match `filter` (see
 * `EventStore.usageRecords`): the matching readings, plus, when the filter names more than the
 * project, the other readings of the same responses, so that the report can count each
 * response whole and by its owner.
 */
export async function usageRecordsFor(
  collection: Collection,
  options: { call: ChromaCall; filter: UsageFilter },
): Promise<UsageRecord[]> {
  const { call, filter } = options;
  const projects = usageProjects(filter);
  if (projects !== undefined && projects.length === 0) return [];
  const lists: Record<string, readonly string[]> = {};
  for (const [name, value] of Object.entries(filter.filters)) {
    if (typeof value === "string" && name !== "project_id") lists[name] = [value];
  }
  if (projects !== undefined) lists.project_id = projects;
  const range = { since: filter.since, until: filter.until };
  const matching = await readUsageRecords(collection, { call, filters: lists, ...range });
  const narrowed = Object.keys(lists).some((name) => name !== "project_id") ||
    range.since !== undefined || range.until !== undefined;
  if (!narrowed || matching.length === 0) return matching;
  // The other readings of these responses: their maxima and first owner may lie outside.
  return await readUsageRecords(collection, {
    call,
    filters: { message_key: [...new Set(matching.map((r) => r.message_key))] },
  });
}
