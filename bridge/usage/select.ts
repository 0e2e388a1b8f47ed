/**
 * The records `GET /usage` needs, chosen in memory from every stored record: the same choice
 * `chroma/usage_records.ts` makes with Chroma filters (the old scan), so an answer from the
 * usage index (`chroma/usage_index.ts`) equals the scan's.
 *
 * @module
 */
import type { UsageFilter } from "../store.ts";
import type { UsageRecord } from "./records.ts";

/** Usage records held in memory, in the order Chroma lists them. */
export interface UsageSource {
  /** Every record. */
  all(): Iterable<UsageRecord>;
  /** The records of one project. */
  ofProject(projectId: string): Iterable<UsageRecord>;
}

/**
 * The projects whose records `filter` may read: undefined for any, empty for none (a project
 * asked for that the caller may not see). The one rule, for the index and for the scan.
 */
export function usageProjects(filter: UsageFilter): readonly string[] | undefined {
  const visible = filter.project_ids;
  const wanted = filter.filters.project_id;
  if (wanted === undefined) return visible;
  return visible !== undefined && !visible.includes(wanted) ? [] : [wanted];
}

/**
 * Every reading of every API response that may match `filter`, in the order of `source`: the
 * matching readings, plus, when the filter names more than the project, the other readings of
 * the same responses (their maxima and first owner may lie outside the filter).
 */
export function selectUsageRecords(source: UsageSource, filter: UsageFilter): UsageRecord[] {
  const projects = usageProjects(filter);
  if (projects !== undefined && projects.length === 0) return [];
  const equal: [keyof UsageRecord, string][] = [];
  for (const [name, value] of Object.entries(filter.filters)) {
    if (typeof value === "string" && name !== "project_id") {
      equal.push([name as keyof UsageRecord, value]);
    }
  }
  const projectSet = projects === undefined ? undefined : new Set(projects);
  // A response's readings share its project (the message key names it): one project's records
  // hold all of them.
  const records = projects?.length === 1 ? source.ofProject(projects[0]!) : source.all();
  const { since, until } = filter;
  const matching: UsageRecord[] = [];
  for (const record of records) {
    if (projectSet !== undefined) {
      if (record.project_id === undefined || !projectSet.has(record.project_id)) continue;
    }
    if (since !== undefined && record.ts_ms < since) continue;
    if (until !== undefined && record.ts_ms > until) continue;
    if (equal.every(([name, value]) => record[name] === value)) matching.push(record);
  }
  const narrowed = equal.length > 0 || since !== undefined || until !== undefined;
  if (!narrowed || matching.length === 0) return matching;
  const keys = new Set(matching.map((r) => r.message_key));
  const whole: UsageRecord[] = [];
  for (const record of records) if (keys.has(record.message_key)) whole.push(record);
  return whole;
}
