/**
 * OTLP's attribute values (`AnyValue`, `KeyValue[]`) as plain JSON values. The OTLP/JSON
 * encoding and the protobuf decoder (`otlp_body.ts`, numbers and 64-bit integers as strings)
 * give the same shapes here, so one reader serves both.
 *
 * @module
 */

/** One OTLP `AnyValue`, as either encoding gives it. */
export interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number | string;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
  bytesValue?: string;
}

/** One OTLP `KeyValue`. */
export interface KeyValue {
  key?: string;
  value?: AnyValue;
}

/** Nesting past this depth is cut: a hostile exporter cannot make the reader recurse forever. */
const MAX_DEPTH = 16;

/**
 * The JSON value of an `AnyValue`: a 64-bit integer becomes a number when it is safe, else it
 * stays a decimal string; bytes stay as their base64 or hex text.
 */
export function valueOf(value: AnyValue | undefined, depth = 0): unknown {
  if (value === undefined || value === null || typeof value !== "object") return null;
  if (depth >= MAX_DEPTH) return null;
  if (value.stringValue !== undefined) return String(value.stringValue);
  if (value.boolValue !== undefined) return Boolean(value.boolValue);
  if (value.intValue !== undefined) return integerOf(value.intValue);
  if (value.doubleValue !== undefined) return Number(value.doubleValue);
  if (value.arrayValue !== undefined) {
    return (value.arrayValue.values ?? []).map((item) => valueOf(item, depth + 1));
  }
  if (value.kvlistValue !== undefined) {
    return attributesOf(value.kvlistValue.values, depth + 1);
  }
  if (value.bytesValue !== undefined) return String(value.bytesValue);
  return null;
}

function integerOf(value: string | number): number | string {
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : String(value);
}

/** A `KeyValue[]` as an object; a repeated key keeps its last value. */
export function attributesOf(
  list: readonly KeyValue[] | undefined,
  depth = 0,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!Array.isArray(list)) return out;
  for (const item of list) {
    if (item === null || typeof item !== "object" || typeof item.key !== "string") continue;
    out[item.key] = valueOf(item.value, depth);
  }
  return out;
}

/** A Unix time in nanoseconds (a decimal string or number) as RFC 3339 with ms; else undefined. */
export function isoTimeOf(unixNano: unknown): string | undefined {
  if (typeof unixNano !== "string" && typeof unixNano !== "number") return undefined;
  const text = String(unixNano);
  if (!/^\d{1,20}$/.test(text) || /^0+$/.test(text)) return undefined;
  const ms = Number(BigInt(text) / 1_000_000n);
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
