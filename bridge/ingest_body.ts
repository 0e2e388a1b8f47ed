/**
 * Reads the body of `POST /ingest` into raw items (one per envelope), enforcing the limits while
 * the bytes arrive: gzip is decompressed as a stream and counted chunk by chunk, so a
 * decompression bomb is stopped at the limit instead of being inflated into memory. Validating
 * each item against the schema is the caller's job.
 *
 * Formats: one envelope (a JSON object), a JSON array of envelopes, or NDJSON (one per line),
 * told apart by `Content-Type` or, when it says neither, by sniffing.
 *
 * @module
 */
import { LIMITS } from "../shared/contract.ts";
import { HttpError } from "./errors.ts";

/** Size limits of one ingest request. */
export interface IngestLimits {
  /** Body bytes after decompression (and before, for a compressed body). */
  maxBodyBytes: number;
  /** Bytes of one serialised event (`ZO_MAX_EVENT_BYTES`). */
  maxEventBytes: number;
  /** Events in one request. */
  maxEvents: number;
}

/** The contract's limits: 5 MB a body, 256 KB an event, 1,000 events. */
export const DEFAULT_INGEST_LIMITS: IngestLimits = {
  maxBodyBytes: 5 * 1024 * 1024,
  maxEventBytes: LIMITS.defaultMaxEventBytes,
  maxEvents: 1_000,
};

/** Deepest nesting of objects and arrays accepted in an event: deeper is surely not a hook
 * payload, and recursive code downstream (hashing, canonical JSON) need not be stack-proof. */
export const MAX_EVENT_DEPTH = 128;

/** One item of a body: a parsed JSON value, or why its NDJSON line could not be parsed. */
export type IngestItem = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * A budget of bytes shared by all requests being read at once, so that many concurrent large
 * bodies cannot exhaust memory: a body that would overdraw it gets 429. Each owner (an API key)
 * may hold only its share, so one key's stalled uploads cannot starve the others.
 */
export interface ByteBudget {
  /** Takes `bytes` from the budget for `owner`; false when that would exceed it or the share. */
  tryTake(bytes: number, owner?: string): boolean;
  /** Gives `bytes` back. */
  give(bytes: number, owner?: string): void;
  /** Bytes currently taken. */
  readonly used: number;
}

/**
 * A {@linkcode ByteBudget} of `maxBytes`, of which one owner may hold `perOwnerBytes` (default a
 * quarter: four keys at their share still leave nothing spent twice).
 */
export function createByteBudget(
  maxBytes: number,
  options: { perOwnerBytes?: number } = {},
): ByteBudget {
  if (!(maxBytes > 0)) throw new RangeError(`Cannot make a byte budget of ${maxBytes} bytes`);
  const perOwner = options.perOwnerBytes ?? Math.floor(maxBytes / 4);
  if (!(perOwner > 0)) throw new RangeError(`Cannot give an owner ${perOwner} bytes`);
  let used = 0;
  const owners = new Map<string, number>();
  return {
    tryTake(bytes, owner = "") {
      const held = owners.get(owner) ?? 0;
      if (used + bytes > maxBytes || held + bytes > perOwner) return false;
      used += bytes;
      owners.set(owner, held + bytes);
      return true;
    },
    give(bytes, owner = "") {
      used = Math.max(0, used - bytes);
      const left = (owners.get(owner) ?? 0) - bytes;
      if (left > 0) owners.set(owner, left);
      else owners.delete(owner);
    },
    get used() {
      return used;
    },
  };
}

/** Default longest a request body may take to arrive, whole: a 5 MB body at 200 KB/s. */
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;

/** How {@linkcode readIngestBody} reads: from which budget, for whom, by when. */
export interface ReadBodyOptions {
  budget?: ByteBudget;
  /** Whose share of the budget the body takes (the key's name). */
  owner?: string;
  /** Longest the whole body may take, in ms; then 408 `body_timeout`. Default 30 s. */
  timeoutMs?: number;
}

const NDJSON_TYPES = new Set([
  "application/x-ndjson",
  "application/ndjson",
  "application/jsonl",
  "application/x-jsonl",
  "application/jsonlines",
  "application/x-jsonlines",
]);

type Format = "json" | "ndjson" | "sniff";

function formatOf(contentType: string | null): Format {
  const media = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (NDJSON_TYPES.has(media)) return "ndjson";
  if (media === "application/json" || media.endsWith("+json")) return "json";
  return "sniff";
}

function tooLarge(message: string, details: Record<string, unknown>): HttpError {
  return new HttpError("too_large", message, { details });
}

function bodyTooLarge(limits: IngestLimits): HttpError {
  return tooLarge(
    `Cannot accept the body: it is over ${limits.maxBodyBytes} bytes (after decompression); send fewer events per request`,
    { reason: "body_too_large", limit_bytes: limits.maxBodyBytes },
  );
}

function eventTooLarge(index: number, bytes: number, limits: IngestLimits): HttpError {
  return tooLarge(
    `Cannot accept event ${index}: it is ${bytes} bytes, over the ${limits.maxEventBytes}-byte limit (ZO_MAX_EVENT_BYTES)`,
    { reason: "event_too_large", index, bytes, limit_bytes: limits.maxEventBytes },
  );
}

function tooManyEvents(count: number, limits: IngestLimits): HttpError {
  return tooLarge(
    `Cannot accept ${count} events in one request: the limit is ${limits.maxEvents}; split the batch`,
    { reason: "too_many_events", count, limit: limits.maxEvents },
  );
}

const bodyTimeout = (ms: number) =>
  new HttpError(
    "body_timeout",
    `Cannot read the body: it did not arrive whole within ${ms} ms; send it again`,
    { details: { reason: "body_timeout", limit_ms: ms } },
  );

const busy = () =>
  new HttpError("busy", "Cannot read the body now: the bridge is busy; retry shortly", {
    details: { reason: "busy" },
  });

/** Reads the request's bytes (decompressed), at most `limits.maxBodyBytes` on the wire and
 * after inflating, taking them from `budget`; the caller gives `bytes.length` back when done. */
async function readBytes(
  req: Request,
  limits: IngestLimits,
  options: ReadBodyOptions,
): Promise<Uint8Array> {
  const { budget, owner } = options;
  const encoding = (req.headers.get("content-encoding") ?? "").trim().toLowerCase();
  const gzip = encoding === "gzip" || encoding === "x-gzip";
  if (!gzip && encoding !== "" && encoding !== "identity") {
    throw new HttpError(
      "unsupported_encoding",
      "Cannot decode the body: Content-Encoding must be gzip or absent",
      {
        details: { reason: "unsupported_encoding" },
      },
    );
  }
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (declared > limits.maxBodyBytes) throw bodyTooLarge(limits);
  if (req.body === null || declared === 0) throw emptyBody();

  // Bytes on the wire count too: gzip of empty blocks inflates to nothing, yet streams for ever.
  let wire = 0;
  const counted = req.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        wire += chunk.length;
        if (wire > limits.maxBodyBytes) controller.error(bodyTooLarge(limits));
        else controller.enqueue(chunk);
      },
    }),
  );
  const stream: ReadableStream<Uint8Array> = gzip
    ? counted.pipeThrough(
      new DecompressionStream("gzip") as TransformStream<Uint8Array, Uint8Array>,
    )
    : counted;
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const timeoutMs = options.timeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(bodyTimeout(timeoutMs)), timeoutMs);
  });
  deadline.catch(() => {});
  try {
    while (true) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await Promise.race([reader.read(), deadline]);
      } catch (error) {
        if (error instanceof HttpError) throw error;
        throw new HttpError(
          "malformed",
          gzip
            ? "Cannot decompress the body: it is not valid gzip"
            : "Cannot read the body: the upload broke off",
          { details: { reason: gzip ? "bad_gzip" : "broken_body" } },
        );
      }
      if (result.done) break;
      const chunk = result.value;
      if (total + chunk.length > limits.maxBodyBytes) throw bodyTooLarge(limits);
      if (budget !== undefined && !budget.tryTake(chunk.length, owner)) throw busy();
      total += chunk.length;
      chunks.push(chunk);
    }
  } catch (error) {
    budget?.give(total, owner);
    // Stops the upload (and the decompressor) instead of draining the rest of a bomb.
    reader.cancel().catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
  if (chunks.length === 1) return chunks[0]!;
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

const emptyBody = () =>
  new HttpError(
    "malformed",
    "Cannot ingest an empty body: send an envelope, a JSON array or NDJSON",
    {
      details: { reason: "empty_body" },
    },
  );

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
const encoder = new TextEncoder();

function isBlank(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    if (b !== 0x20 && b !== 0x09 && b !== 0x0d && b !== 0x0a) return false;
  }
  return true;
}

function firstByte(bytes: Uint8Array): number | undefined {
  let i = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3; // BOM
  while (i < bytes.length && isBlank(bytes, i, i + 1)) i++;
  return bytes[i];
}

/** Byte ranges of the non-blank lines. */
function lineRanges(bytes: Uint8Array): [number, number][] {
  const ranges: [number, number][] = [];
  let start = 0;
  while (start <= bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    if (!isBlank(bytes, start, end)) ranges.push([start, end]);
    start = end + 1;
  }
  return ranges;
}

/** True when `value` nests objects or arrays deeper than `max` (checked without recursion). */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== "object") continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
    }
  }
  return false;
}

function checkedDepth(item: IngestItem): IngestItem {
  if (item.ok && nestedDeeperThan(item.value, MAX_EVENT_DEPTH)) {
    return {
      ok: false,
      error:
        `Cannot accept this event: it nests objects or arrays deeper than ${MAX_EVENT_DEPTH} levels`,
    };
  }
  return item;
}

function parseNdjson(bytes: Uint8Array, limits: IngestLimits): IngestItem[] {
  const ranges = lineRanges(bytes);
  if (ranges.length === 0) throw emptyBody();
  if (ranges.length > limits.maxEvents) throw tooManyEvents(ranges.length, limits);
  return ranges.map(([start, end], index): IngestItem => {
    if (end > start && bytes[end - 1] === 0x0d) end--;
    if (end - start > limits.maxEventBytes) throw eventTooLarge(index, end - start, limits);
    let text: string;
    try {
      text = decoder.decode(bytes.subarray(start, end));
    } catch {
      return { ok: false, error: "Cannot read this line: it is not valid UTF-8" };
    }
    try {
      return checkedDepth({ ok: true, value: JSON.parse(text) });
    } catch (error) {
      return { ok: false, error: `Cannot parse this line as JSON: ${(error as Error).message}` };
    }
  });
}

function decodeAll(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new HttpError("malformed", "Cannot read the body: it is not valid UTF-8", {
      details: { reason: "bad_utf8" },
    });
  }
}

function malformed(error: unknown): HttpError {
  return new HttpError("malformed", `Cannot parse the body as JSON: ${(error as Error).message}`, {
    details: { reason: "malformed_json" },
  });
}

function itemsOfJson(value: unknown, limits: IngestLimits, bodyBytes: number): IngestItem[] {
  if (Array.isArray(value)) {
    if (value.length === 0) throw emptyBody();
    if (value.length > limits.maxEvents) throw tooManyEvents(value.length, limits);
    const items = value.map((item): IngestItem => checkedDepth({ ok: true, value: item }));
    // A body within the event limit cannot hold an element above it: skip re-serialising.
    if (bodyBytes > limits.maxEventBytes) {
      items.forEach((item, index) => {
        if (!item.ok) return;
        const size = encoder.encode(JSON.stringify(item.value) ?? "").length;
        if (size > limits.maxEventBytes) throw eventTooLarge(index, size, limits);
      });
    }
    return items;
  }
  if (value !== null && typeof value === "object") {
    const item = checkedDepth({ ok: true, value });
    if (item.ok && bodyBytes > limits.maxEventBytes) {
      const size = encoder.encode(JSON.stringify(value)).length;
      if (size > limits.maxEventBytes) throw eventTooLarge(0, size, limits);
    }
    return [item];
  }
  throw new HttpError(
    "malformed",
    "Cannot ingest this body: expected an envelope object, a JSON array of them, or NDJSON",
    { details: { reason: "not_envelopes" } },
  );
}

/**
 * Reads and parses an ingest body. Throws {@linkcode HttpError}: 400 (empty, malformed JSON,
 * bad gzip or UTF-8), 413 (body, event or count over the limits, with `details.reason`), 415
 * (unknown Content-Encoding), 408 (not whole within `timeoutMs`), 429 (the shared `budget`, or
 * the owner's share of it, is spent). A malformed NDJSON line is
 * not fatal: it becomes an item with `ok: false`, reported by index like an invalid envelope.
 */
export async function readIngestBody(
  req: Request,
  limits: IngestLimits = DEFAULT_INGEST_LIMITS,
  options: ReadBodyOptions = {},
): Promise<IngestItem[]> {
  const bytes = await readBytes(req, limits, options);
  try {
    const first = firstByte(bytes);
    if (first === undefined) throw emptyBody();
    let format = formatOf(req.headers.get("content-type"));
    if (format === "sniff") format = first === 0x5b /* [ */ ? "json" : "sniff";
    if (format === "ndjson") return parseNdjson(bytes, limits);
    const text = decodeAll(bytes);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      // One object per line reads as NDJSON unless the client said it sent JSON.
      if (format === "sniff" && lineRanges(bytes).length > 1) return parseNdjson(bytes, limits);
      throw malformed(error);
    }
    return itemsOfJson(value, limits, bytes.length);
  } finally {
    options.budget?.give(bytes.length, options.owner);
  }
}
