/**
 * Plain-text tables for `deno task query` and `deno task tail`: one line per record, columns
 * padded, the last one (the message) cut to the terminal's width. Knows the shapes of events,
 * `agent_state` records, artifacts and embeddings records.
 *
 * @module
 */

/** A column: its header and how to read a cell from a record. */
interface Column {
  header: string;
  cell: (record: Record<string, unknown>) => string;
  /** Fixed width; the last column takes what is left. */
  width?: number;
}

function text(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/** A local time with milliseconds: `2026-11-24 10:00:05.123`. */
export function localTime(iso: unknown): string {
  const ms = typeof iso === "string" ? Date.parse(iso) : typeof iso === "number" ? iso : NaN;
  if (!Number.isFinite(ms)) return "";
  const d = new Date(ms);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${
    pad(d.getMinutes())
  }:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/**
 * An id cut to its ends: `00893aaf…3ca0`, for ids nobody types back (event ids). Session ids
 * print whole, since `--session` takes the whole id.
 */
export function shortId(value: unknown): string {
  const id = text(value);
  return id.length <= 16 ? id : `${id.slice(0, 8)}…${id.slice(-4)}`;
}

const EVENT_COLUMNS: Column[] = [
  { header: "TIME", cell: (r) => localTime(r.ts), width: 23 },
  { header: "EVENT", cell: (r) => text(r.hook_event_name ?? r.event_type), width: 19 },
  { header: "TOOL", cell: (r) => text(r.tool_name), width: 14 },
  { header: "LEVEL", cell: (r) => text(r.level), width: 5 },
  { header: "SESSION", cell: (r) => text(r.session_id), width: 36 },
  { header: "WORKER", cell: (r) => text(r.worker_id), width: 12 },
  { header: "MESSAGE", cell: (r) => text(r.msg) },
];

const STATE_COLUMNS: Column[] = [
  { header: "SCOPE", cell: (r) => text(r.scope), width: 7 },
  {
    header: "ID",
    cell: (r) => text(r[`${text(r.scope)}_id`] ?? r.project_id),
    width: 36,
  },
  { header: "PROJECT", cell: (r) => text(r.project_id), width: 12 },
  { header: "STATUS", cell: (r) => text(r.status), width: 6 },
  { header: "LAST EVENT", cell: (r) => localTime(r.last_ts), width: 23 },
  {
    header: "EVENTS",
    cell: (r) => text((r.counts as Record<string, unknown> | undefined)?.events),
    width: 7,
  },
  {
    header: "ERRORS",
    cell: (r) => text((r.counts as Record<string, unknown> | undefined)?.errors),
    width: 6,
  },
  {
    header: "LAST",
    cell: (r) =>
      [r.last_hook_event_name ?? r.last_event_type, r.last_tool_name, r.last_msg]
        .filter((part) => part !== undefined).map(text).join(" · "),
  },
];

const ARTIFACT_COLUMNS: Column[] = [
  { header: "TIME", cell: (r) => localTime(r.ts), width: 23 },
  { header: "TYPE", cell: (r) => text(r.type), width: 8 },
  { header: "BYTES", cell: (r) => text(r.size_bytes), width: 9 },
  { header: "HASH", cell: (r) => text(r.hash).slice(0, 12), width: 12 },
  { header: "SESSION", cell: (r) => text(r.session_id), width: 36 },
  { header: "PATH", cell: (r) => text(r.path) },
];

const EMBEDDING_COLUMNS: Column[] = [
  { header: "TIME", cell: (r) => localTime(r.ts), width: 23 },
  { header: "EVENT", cell: (r) => shortId(r.event_id), width: 13 },
  { header: "SESSION", cell: (r) => text(r.session_id), width: 36 },
  { header: "TEXT", cell: (r) => text(r.indexable_text) },
];

const COLUMNS: Record<string, Column[]> = {
  events: EVENT_COLUMNS,
  agent_state: STATE_COLUMNS,
  artifacts: ARTIFACT_COLUMNS,
  embeddings: EMBEDDING_COLUMNS,
};

function fit(value: string, width: number): string {
  // One line per record: breaks in a message would split the table.
  const flat = value.replace(/[\r\n\t]+/g, " ");
  if (flat.length <= width) return flat.padEnd(width);
  return width <= 1 ? flat.slice(0, width) : `${flat.slice(0, width - 1)}…`;
}

/** Formats records of a collection as table lines; `columns` is the terminal's width. */
export function tableLines(
  collection: string,
  records: readonly unknown[],
  options: { columns: number; header?: boolean },
): string[] {
  const columns = COLUMNS[collection] ?? EVENT_COLUMNS;
  const fixed = columns.reduce((sum, c) => sum + (c.width ?? 0) + 2, 0);
  const rest = Math.max(20, options.columns - fixed);
  const line = (cells: string[]) =>
    cells.map((cell, i) => fit(cell, columns[i]!.width ?? rest)).join("  ").trimEnd();
  const lines = options.header === false ? [] : [line(columns.map((c) => c.header))];
  for (const record of records) {
    const row = (record ?? {}) as Record<string, unknown>;
    lines.push(line(columns.map((c) => c.cell(row))));
  }
  return lines;
}
