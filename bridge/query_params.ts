/**
 * `GET /query` parameters: validated with zod into a {@linkcode QueryParams} whose every value is
 * a plain string or number, so nothing a client sends can become a Chroma operator. Unknown and
 * repeated parameters are refused, as are filters a collection does not hold.
 *
 * @module
 */
import { z } from "zod";
import { EVENT_TYPES, LEVELS, LIMITS } from "../shared/contract.ts";
import { AGENT_STATUSES, STATE_SCOPES } from "./agent_state.ts";
import {
  type CollectionName,
  COLLECTIONS,
  QUERY_FILTER_FIELDS,
  type QueryFilterField,
  type QueryParams,
  STATE_FILTER_FIELDS,
  type StateFilterField,
} from "./store.ts";

/**
 * Default and largest page size, and the default byte bound of a page (`ZO_QUERY_PAGE_BYTES`):
 * 4 MiB, a thousand 4 KB events or sixteen of the largest.
 */
export const QUERY_LIMITS = {
  defaultLimit: 100,
  maxLimit: 1_000,
  textChars: 1_000,
  pageBytes: 4 * 1024 * 1024,
} as const;

/** The outcome of {@linkcode parseQueryParams}. */
export type ParsedQuery = { ok: true; params: QueryParams } | { ok: false; error: string };

/** A decoded cursor: position after the last item (ordered pages) or an offset (`q=` pages). */
export type Cursor = { v: 1; t: number; i: string } | { v: 1; o: number };

const CursorShape = z.union([
  z.strictObject({ v: z.literal(1), t: z.int().min(0), i: z.string().min(1).max(600) }),
  z.strictObject({ v: z.literal(1), o: z.int().min(0).max(100_000) }),
]);

/** The opaque text of a cursor (base64url JSON; clients must not rely on its form). */
export function encodeCursor(cursor: Cursor): string {
  const bytes = new TextEncoder().encode(JSON.stringify(cursor));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** The cursor inside `text`, or undefined when it is not one this code made. */
export function decodeCursor(text: string): Cursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,1200}$/.test(text)) return undefined;
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    const json = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(binary, (c) => c.charCodeAt(0)),
    );
    const parsed = CursorShape.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data as Cursor : undefined;
  } catch {
    return undefined;
  }
}

/** The filters each collection holds as metadata (agent_state records have no event fields). */
export const COLLECTION_FILTERS: Record<
  CollectionName,
  readonly (QueryFilterField | StateFilterField)[]
> = {
  events: QUERY_FILTER_FIELDS,
  embeddings: QUERY_FILTER_FIELDS,
  artifacts: QUERY_FILTER_FIELDS,
  agent_state: ["project_id", "run_id", "session_id", "worker_id", ...STATE_FILTER_FIELDS],
};

/** A query parameter holding an id (the limits of the envelope's ids); `name` for its errors. */
export const identifier = (name: string): z.ZodString =>
  z.string().min(1, { error: `${name} must not be empty` }).max(LIMITS.idChars, {
    error: `${name} must be at most ${LIMITS.idChars} characters`,
  });

/** A query parameter holding an instant: RFC 3339 or Unix milliseconds, as Unix milliseconds. */
export const instant = (name: string): z.ZodPipe<z.ZodString, z.ZodTransform<number, string>> =>
  z.string().transform((text, ctx) => {
    if (/^\d{1,15}$/.test(text)) return Number(text);
    const iso = z.iso.datetime({ offset: true }).safeParse(text);
    if (iso.success) return Date.parse(text);
    ctx.addIssue({
      code: "custom",
      message: `${name} must be RFC 3339 (like 2026-11-24T10:00:00Z) or Unix milliseconds`,
    });
    return z.NEVER;
  });

const Params = z.strictObject({
  collection: z.enum(COLLECTIONS, {
    error: `collection must be one of: ${COLLECTIONS.join(", ")}`,
  }).default("events"),
  project_id: identifier("project_id").optional(),
  run_id: identifier("run_id").optional(),
  session_id: identifier("session_id").optional(),
  worker_id: identifier("worker_id").optional(),
  event_type: z.enum(EVENT_TYPES as [string, ...string[]], {
    error: `event_type must be one of: ${EVENT_TYPES.join(", ")}`,
  }).optional(),
  hook_event_name: identifier("hook_event_name").optional(),
  tool_name: identifier("tool_name").optional(),
  prompt_id: identifier("prompt_id").optional(),
  level: z.enum(LEVELS, { error: `level must be one of: ${LEVELS.join(", ")}` }).optional(),
  scope: z.enum(STATE_SCOPES, { error: `scope must be one of: ${STATE_SCOPES.join(", ")}` })
    .optional(),
  status: z.enum(AGENT_STATUSES, {
    error: `status must be one of: ${AGENT_STATUSES.join(", ")}`,
  }).optional(),
  since: instant("since").optional(),
  until: instant("until").optional(),
  text: z.string().min(1, { error: "text must not be empty" }).max(QUERY_LIMITS.textChars, {
    error: `text must be at most ${QUERY_LIMITS.textChars} characters`,
  }).optional(),
  q: z.string().min(1, { error: "q must not be empty" }).max(LIMITS.indexableTextChars, {
    error: `q must be at most ${LIMITS.indexableTextChars} characters`,
  }).optional(),
  limit: z.string().regex(/^\d{1,4}$/, { error: "limit must be a whole number" })
    .transform(Number)
    .pipe(
      z.int().min(1, { error: "limit must be at least 1" }).max(QUERY_LIMITS.maxLimit, {
        error: `limit must be at most ${QUERY_LIMITS.maxLimit}`,
      }),
    )
    .optional(),
  cursor: z.string().refine((text) => decodeCursor(text) !== undefined, {
    error: "cursor is not one this server gave out; start again without it",
  }).optional(),
});

/**
 * Validates `GET /query` parameters. Each parameter may appear once and is taken as a plain
 * value; anything else is a 400 with the reason in `error`.
 */
export function parseQueryParams(search: URLSearchParams): ParsedQuery {
  const raw: Record<string, string> = {};
  for (const [key, value] of search) {
    if (!Object.hasOwn(Params.shape, key)) {
      const printable = JSON.stringify(key.slice(0, 64));
      return {
        ok: false,
        error: `Cannot query: unknown parameter ${printable}; known: ${
          Object.keys(Params.shape).join(", ")
        }`,
      };
    }
    if (Object.hasOwn(raw, key)) {
      return { ok: false, error: `Cannot query: parameter "${key}" is given more than once` };
    }
    raw[key] = value;
  }
  const parsed = Params.safeParse(raw);
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((issue) =>
      issue.path.length ? `${issue.path.join(".")}: ${issue.message}` : issue.message
    );
    return { ok: false, error: `Cannot query: ${reasons.join("; ")}` };
  }
  const data = parsed.data;
  const filters: QueryParams["filters"] = {};
  for (const field of [...QUERY_FILTER_FIELDS, ...STATE_FILTER_FIELDS]) {
    const value = data[field];
    if (value === undefined) continue;
    if (!COLLECTION_FILTERS[data.collection].includes(field)) {
      return {
        ok: false,
        error: `Cannot query: ${field} does not apply to collection ${data.collection}; it holds ${
          COLLECTION_FILTERS[data.collection].join(", ")
        }`,
      };
    }
    filters[field] = value;
  }
  if (data.since !== undefined && data.until !== undefined && data.since > data.until) {
    return { ok: false, error: "Cannot query: since is after until" };
  }
  if (data.q !== undefined && data.collection !== "events" && data.collection !== "embeddings") {
    return {
      ok: false,
      error:
        `Cannot query: q (semantic search) applies to events or embeddings, not ${data.collection}`,
    };
  }
  const cursor = data.cursor === undefined ? undefined : decodeCursor(data.cursor)!;
  if (cursor !== undefined && ("o" in cursor) !== (data.q !== undefined)) {
    return {
      ok: false,
      error: "Cannot query: cursor belongs to a different kind of query; start again without it",
    };
  }
  const params: QueryParams = {
    collection: data.collection,
    filters,
    limit: data.limit ?? QUERY_LIMITS.defaultLimit,
  };
  if (data.since !== undefined) params.since = data.since;
  if (data.until !== undefined) params.until = data.until;
  if (data.text !== undefined) params.text = data.text;
  if (data.q !== undefined) params.q = data.q;
  if (data.cursor !== undefined) params.cursor = data.cursor;
  return { ok: true, params };
}
