/**
 * Derives an envelope's `msg`, `indexable_text` and `error_detail` from a (redacted) hook payload
 * with the templates of `hook_events.ts`.
 *
 * @module
 */
import { LIMITS } from "../../shared/contract.ts";
import type { HookEventSpec } from "../../shared/hook_events.ts";

/** Fields every hook payload carries: not worth repeating in an unknown event's text. */
const COMMON_FIELDS = new Set([
  "session_id",
  "transcript_path",
  "cwd",
  "hook_event_name",
  "permission_mode",
  "prompt_id",
  "scratchpad_dir",
]);

/** The field that best says what an object is about, e.g. a tool_input's command. */
const SUMMARY_KEYS = [
  "command",
  "file_path",
  "filePath",
  "path",
  "pattern",
  "url",
  "query",
  "prompt",
  "description",
  "skill",
  "title",
  "name",
  "tool_name",
  "text",
];

/** Cuts `text` to at most `max` characters, marking the cut with "…" and never splitting a pair. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 1) return max === 1 ? "…" : "";
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return text.slice(0, end) + "…";
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/** A short, one-line rendering of any payload value. */
export function summarize(value: unknown, budget: number = LIMITS.msgChars): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return clip(oneLine(value), budget);
  if (typeof value !== "object") return String(value);
  if (Array.isArray(value)) {
    const parts: string[] = [];
    let used = 0;
    for (const item of value) {
      if (used >= budget) break;
      const part = summarize(item, budget - used);
      if (part) {
        parts.push(part);
        used += part.length + 2;
      }
    }
    return clip(parts.join(", "), budget);
  }
  const record = value as Record<string, unknown>;
  for (const key of SUMMARY_KEYS) {
    if (typeof record[key] === "string" && record[key]) return summarize(record[key], budget);
  }
  return clip(oneLine(JSON.stringify(record)), budget);
}

/** All the text of a value, one `key: value` per line, for search. Stops once `budget` is met. */
export function textOf(value: unknown, budget: number = LIMITS.indexableTextChars): string {
  const lines: string[] = [];
  let used = 0;
  const visit = (item: unknown, label: string): void => {
    if (used >= budget || item === null || item === undefined || item === "") return;
    if (typeof item === "object") {
      const entries = Array.isArray(item)
        ? item.map((v) => ["", v] as const)
        : Object.entries(item);
      for (const [key, child] of entries) visit(child, key);
      return;
    }
    if (typeof item === "boolean") return;
    const line = label ? `${label}: ${item}` : String(item);
    lines.push(line);
    used += line.length + 1;
  };
  visit(value, "");
  return clip(lines.join("\n"), budget);
}

/**
 * Fills a template: `{field}` from the payload, `[...]` dropped when a field in it is empty.
 * One pass over the template: braces inside payload values are text, never placeholders.
 */
export function render(template: string, payload: Readonly<Record<string, unknown>>): string {
  const out = template.replace(
    /\[([^\]]*)\]|\{([a-z_]+)\}/g,
    (_, optional: string | undefined, field: string | undefined) => {
      if (field !== undefined) return summarize(payload[field]);
      let missing = false;
      const filled = optional!.replace(/\{([a-z_]+)\}/g, (_, inner: string) => {
        const text = summarize(payload[inner]);
        if (!text) missing = true;
        return text;
      });
      return missing ? "" : filled;
    },
  );
  return oneLine(out);
}

/** What a hook event's spec derives from its payload. */
export interface Description {
  msg: string;
  indexable_text: string;
  error_detail?: { type: string; message: string };
}

/** Applies a spec's templates to a redacted payload; results are within the envelope's limits. */
export function describe(
  spec: HookEventSpec,
  payload: Readonly<Record<string, unknown>>,
): Description {
  const msg = clip(render(spec.msg, payload), LIMITS.msgChars);
  // An unknown event's fields keep their names: nothing else says what they are.
  const sources = spec.text.includes("*")
    ? Object.fromEntries(Object.entries(payload).filter(([key]) => !COMMON_FIELDS.has(key)))
    : spec.text.map((field) => payload[field]);
  const text = textOf(sources);
  const description: Description = { msg, indexable_text: text || msg };
  if (spec.error) {
    description.error_detail = {
      type: render(spec.error.type, payload) || "error",
      message: clip(render(spec.error.message, payload) || msg, LIMITS.indexableTextChars),
    };
  }
  return description;
}
