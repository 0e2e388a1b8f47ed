/**
 * `GET /usage` parameters (contract: `bridge/README.md`, "GET /usage"), validated with zod into a
 * {@linkcode UsageQuery} of plain strings and numbers: values are only ever compared for
 * equality, so nothing a client sends can become a Chroma operator. Unknown and repeated
 * parameters are refused.
 *
 * @module
 */
import { z } from "zod";
import { identifier, instant } from "../query_params.ts";

/** What usage can be grouped by. */
export const USAGE_DIMENSIONS = [
  "project",
  "worker",
  "run",
  "session",
  "agent",
  "model",
  "day",
] as const;
/** One of {@linkcode USAGE_DIMENSIONS}. */
export type UsageDimension = typeof USAGE_DIMENSIONS[number];

/** The fields usage can be filtered on, by equality. */
export const USAGE_FILTER_FIELDS = [
  "project_id",
  "worker_id",
  "run_id",
  "session_id",
  "agent_id",
  "model",
] as const;
/** One of {@linkcode USAGE_FILTER_FIELDS}. */
export type UsageFilterField = typeof USAGE_FILTER_FIELDS[number];

/** Default and largest number of groups in an answer. */
export const USAGE_LIMITS = { defaultLimit: 1_000, maxLimit: 10_000, maxDimensions: 3 } as const;

/** A validated usage query. */
export interface UsageQuery {
  group_by: UsageDimension[];
  filters: Partial<Record<UsageFilterField, string>>;
  /** Responses at or after this instant (Unix ms). */
  since?: number;
  /** Responses at or before this instant (Unix ms). */
  until?: number;
  /** Where `day` boundaries fall, in minutes east of UTC. */
  utc_offset_minutes: number;
  limit: number;
  /**
   * Set by the caller, never by the client: the only projects visible (a key bound to a
   * project). Absent: no restriction.
   */
  project_ids?: readonly string[];
}

/** The outcome of {@linkcode parseUsageParams}. */
export type ParsedUsageQuery = { ok: true; query: UsageQuery } | { ok: false; error: string };

const Params = z.strictObject({
  group_by: z.string().transform((text, ctx) => {
    const names = text.split(",");
    const bad = names.filter((name) => !(USAGE_DIMENSIONS as readonly string[]).includes(name));
    if (bad.length > 0 || names.length > USAGE_LIMITS.maxDimensions) {
      ctx.addIssue({
        code: "custom",
        message: `group_by must list 1 to ${USAGE_LIMITS.maxDimensions} of: ${
          USAGE_DIMENSIONS.join(", ")
        }, comma-separated`,
      });
      return z.NEVER;
    }
    if (new Set(names).size !== names.length) {
      ctx.addIssue({ code: "custom", message: "group_by names a dimension twice" });
      return z.NEVER;
    }
    return names as UsageDimension[];
  }).optional(),
  project_id: identifier("project_id").optional(),
  worker_id: identifier("worker_id").optional(),
  run_id: identifier("run_id").optional(),
  session_id: identifier("session_id").optional(),
  agent_id: identifier("agent_id").optional(),
  model: identifier("model").optional(),
  since: instant("since").optional(),
  until: instant("until").optional(),
  utc_offset: z.string().regex(/^[+-](0\d|1[0-4]):[0-5]\d$/, {
    error: "utc_offset must be ±HH:MM, from -14:00 to +14:59, like +02:00",
  }).transform((text) => (text[0] === "-" ? -1 : 1) * (+text.slice(1, 3) * 60 + +text.slice(4)))
    .optional(),
  limit: z.string().regex(/^\d{1,5}$/, { error: "limit must be a whole number" })
    .transform(Number)
    .pipe(
      z.int().min(1, { error: "limit must be at least 1" }).max(USAGE_LIMITS.maxLimit, {
        error: `limit must be at most ${USAGE_LIMITS.maxLimit}`,
      }),
    )
    .optional(),
});

/** Validates `GET /usage` parameters; anything wrong is an error a person can act on. */
export function parseUsageParams(search: URLSearchParams): ParsedUsageQuery {
  const raw: Record<string, string> = {};
  for (const [key, value] of search) {
    if (!Object.hasOwn(Params.shape, key)) {
      return {
        ok: false,
        error: `Cannot report usage: unknown parameter ${
          JSON.stringify(key.slice(0, 64))
        }; known: ${Object.keys(Params.shape).join(", ")}`,
      };
    }
    if (Object.hasOwn(raw, key)) {
      return {
        ok: false,
        error: `Cannot report usage: parameter "${key}" is given more than once`,
      };
    }
    // A "+" left unencoded in a query string arrives as a space: "+02:00" is meant.
    raw[key] = key === "utc_offset" && value.startsWith(" ") ? `+${value.slice(1)}` : value;
  }
  const parsed = Params.safeParse(raw);
  if (!parsed.success) {
    // Each message names its parameter already.
    const reasons = parsed.error.issues.map((issue) => issue.message);
    return { ok: false, error: `Cannot report usage: ${reasons.join("; ")}` };
  }
  const data = parsed.data;
  if (data.since !== undefined && data.until !== undefined && data.since > data.until) {
    return { ok: false, error: "Cannot report usage: since is after until" };
  }
  const filters: UsageQuery["filters"] = {};
  for (const field of USAGE_FILTER_FIELDS) {
    if (data[field] !== undefined) filters[field] = data[field];
  }
  const query: UsageQuery = {
    group_by: data.group_by ?? ["day"],
    filters,
    utc_offset_minutes: data.utc_offset ?? 0,
    limit: data.limit ?? USAGE_LIMITS.defaultLimit,
  };
  if (data.since !== undefined) query.since = data.since;
  if (data.until !== undefined) query.until = data.until;
  return { ok: true, query };
}
