/**
 * Identity of an event: `event_id` (a UUID v7, minted once when the event is created) and `hash`
 * (SHA-256 over the canonical JSON of the fields that identify the occurrence). Both travel with
 * the event through spool, relay, retries and replays unchanged, so storage can keep each once.
 *
 * @module
 */
import { HASHED_FIELDS } from "./contract.ts";

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += HEX[byte];
  return out;
}

/**
 * A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then randomness, so ids sort by
 * creation time. `unixMs` lets the caller use the same instant as the event's `ts`.
 */
export function uuidV7(unixMs: number = Date.now()): string {
  if (!Number.isSafeInteger(unixMs) || unixMs < 0 || unixMs >= 2 ** 48) {
    throw new RangeError(`Cannot make a UUID v7: ${unixMs} is not a 48-bit millisecond time`);
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let time = unixMs;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = time % 256;
    time = Math.floor(time / 256);
  }
  bytes[6] = 0x70 | (bytes[6]! & 0x0f); // version 7
  bytes[8] = 0x80 | (bytes[8]! & 0x3f); // RFC 9562 variant
  const hex = toHex(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

/** The millisecond timestamp inside a UUID v7, or `undefined` for any other string. */
export function uuidV7Time(id: string): number | undefined {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(id)) {
    return undefined;
  }
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/** An instant as the envelope writes it: RFC 3339, UTC, milliseconds. */
export function formatTimestamp(unixMs: number): string {
  return new Date(unixMs).toISOString();
}

/**
 * JSON with object keys sorted (by UTF-16 code units, as RFC 8785 does) and no white space, so
 * equal values give equal text whatever order their keys were built or parsed in. Properties
 * whose value is `undefined` are left out, as `JSON.stringify` does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) {
      throw new TypeError(`Cannot write ${value} as canonical JSON: numbers must be finite`);
    }
    if (typeof value === "bigint" || typeof value === "function" || typeof value === "symbol") {
      throw new TypeError(`Cannot write a ${typeof value} as canonical JSON`);
    }
    return JSON.stringify(value) ?? "null";
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => item === undefined ? "null" : canonicalJson(item)).join(",")}]`;
  }
  const record = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(record).sort()) {
    const item = record[key];
    if (item === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${canonicalJson(item)}`);
  }
  return `{${parts.join(",")}}`;
}

/** SHA-256 of a string's UTF-8 bytes, as lowercase hex. */
export async function sha256Hex(text: string | Uint8Array): Promise<string> {
  const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource)));
}

/** The part of an envelope that `hash` covers: the fields listed in `HASHED_FIELDS`. */
export function identityOf(event: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const identity: Record<string, unknown> = {};
  for (const field of HASHED_FIELDS) {
    if (event[field] !== undefined) identity[field] = event[field];
  }
  return identity;
}

/**
 * The envelope's `hash`: SHA-256 of the canonical JSON of its identifying fields. Computed once
 * by the producer after redaction and size limiting, so anyone holding the stored event can
 * recompute and check it.
 */
export function eventHash(event: Readonly<Record<string, unknown>>): Promise<string> {
  return sha256Hex(canonicalJson(identityOf(event)));
}
