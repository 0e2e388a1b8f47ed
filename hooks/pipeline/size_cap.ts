/**
 * Keeps one event under a size cap (default 256 KB) by cutting its largest strings, each with a
 * visible marker that keeps the original size and the SHA-256 of the original string, so what
 * was cut can still be matched against its source.
 *
 * @module
 */
import { sha256Hex } from "../../shared/ids.ts";

/** Fewest characters a cut string keeps, so a cut value still shows what it was. */
const MIN_KEPT_CHARS = 256;

/**
 * Fields never cut: the identity and routing of the event, and fields already bounded by the
 * schema. Everything else (`data`, `error_detail`, `artifact_refs`, `source`, unknown fields)
 * may be.
 */
const KEPT_FIELDS = new Set([
  "event_id",
  "ts",
  "schema_version",
  "session_id",
  "run_id",
  "event_type",
  "level",
  "project_id",
  "hook_event_name",
  "agent_role",
  "worker_id",
  "task_id",
  "agent_id",
  "tool_name",
  "tool_use_id",
  "parent_event_id",
  "msg",
  "indexable_text",
  "hash",
  "redaction",
]);

/** What stands for a whole field that had to go, still valid against the schema. */
const FIELD_STANDINS: Record<string, (marker: string) => unknown> = {
  data: (marker) => ({ _truncated: marker }),
  error_detail: (marker) => ({ type: "truncated", message: marker }),
  artifact_refs: () => [],
  source: () => ({}),
};

const encoder = new TextEncoder();

/** Size of a value as UTF-8 JSON, in bytes. */
export function jsonBytes(value: unknown): number {
  return encoder.encode(JSON.stringify(value)).length;
}

/** The marker appended to a cut string. */
export function truncationMarker(originalBytes: number, sha256: string): string {
  return `…[TRUNCATED:${originalBytes} bytes,sha256=${sha256}]`;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Bytes one UTF-16 unit (or surrogate pair at `i`) takes inside a JSON string, and its width. */
function jsonCharBytes(text: string, i: number): [bytes: number, units: number] {
  const c = text.charCodeAt(i);
  if (c === 0x22 || c === 0x5c) return [2, 1]; // \" and \\
  if (c < 0x20) return [c === 8 || c === 9 || c === 10 || c === 12 || c === 13 ? 2 : 6, 1];
  if (c < 0x80) return [1, 1];
  if (c < 0x800) return [2, 1];
  if (isHighSurrogate(c)) {
    const next = text.charCodeAt(i + 1);
    return next >= 0xdc00 && next <= 0xdfff ? [4, 2] : [6, 1]; // lone surrogates are escaped
  }
  if (c >= 0xdc00 && c <= 0xdfff) return [6, 1];
  return [3, 1];
}

/** The longest prefix of `text`, in UTF-16 units and never splitting a pair, within `bytes`. */
export function prefixWithinBytes(text: string, bytes: number): number {
  let used = 0;
  let i = 0;
  while (i < text.length) {
    const [size, units] = jsonCharBytes(text, i);
    if (used + size > bytes) break;
    used += size;
    i += units;
  }
  return i;
}

interface Leaf {
  parent: Record<string | number, unknown>;
  key: string | number;
  original: string;
}

function collectLeaves(
  parent: Record<string | number, unknown>,
  keys: (string | number)[],
  leaves: Leaf[],
): void {
  for (const key of keys) {
    const child = parent[key];
    if (typeof child === "string") {
      if (child.length > MIN_KEPT_CHARS) leaves.push({ parent, key, original: child });
    } else if (child !== null && typeof child === "object") {
      const record = child as Record<string | number, unknown>;
      collectLeaves(record, Array.isArray(child) ? [...child.keys()] : Object.keys(child), leaves);
    }
  }
}

/**
 * Returns `event` unchanged when it fits in `maxBytes`, else a copy whose largest strings
 * outside the identity fields are cut, largest first, until it fits. If cutting strings is not
 * enough (say, a huge array of numbers), whole fields are replaced by a marker, largest first.
 */
export async function limitEventSize<T extends Record<string, unknown>>(
  event: T,
  maxBytes: number,
): Promise<{ event: T; truncated: boolean }> {
  let size = jsonBytes(event);
  if (size <= maxBytes) return { event, truncated: false };

  const copy = structuredClone(event) as Record<string, unknown>;
  const cuttable = Object.keys(copy).filter((key) => !KEPT_FIELDS.has(key));
  const leaves: Leaf[] = [];
  collectLeaves(copy, cuttable, leaves);
  leaves.sort((a, b) => b.original.length - a.original.length);

  for (const leaf of leaves) {
    if (size <= maxBytes) break;
    const originalBytes = encoder.encode(leaf.original).length;
    const marker = truncationMarker(originalBytes, await sha256Hex(leaf.original));
    const currentBytes = jsonBytes(leaf.parent[leaf.key]);
    // Bytes the string may take, quotes and marker included, for the event to fit.
    const budget = currentBytes - (size - maxBytes) - jsonBytes(marker);
    let keep = Math.max(MIN_KEPT_CHARS, prefixWithinBytes(leaf.original, budget - 2));
    if (keep >= leaf.original.length) continue;
    if (isHighSurrogate(leaf.original.charCodeAt(keep - 1))) keep--; // never split a pair
    const cut = leaf.original.slice(0, keep) + marker;
    leaf.parent[leaf.key] = cut;
    size += jsonBytes(cut) - currentBytes;
  }

  const fields = cuttable.filter((key) => copy[key] !== undefined)
    .sort((a, b) => jsonBytes(copy[b]) - jsonBytes(copy[a]));
  for (const field of fields) {
    if (size <= maxBytes) break;
    const text = JSON.stringify(copy[field]);
    const marker = truncationMarker(encoder.encode(text).length, await sha256Hex(text));
    copy[field] = FIELD_STANDINS[field]?.(marker) ?? marker;
    size = jsonBytes(copy);
  }
  return { event: copy as T, truncated: true };
}
