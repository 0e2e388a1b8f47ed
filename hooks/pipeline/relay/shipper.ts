/**
 * Sends batches of spooled envelopes to the bridge (`POST <endpoint>`, NDJSON, gzip, keep-alive,
 * `Authorization: Bearer`), and decides per answer: done (dead-lettering what the bridge
 * rejected, or events of a project the key may not write), split (413, or a body the bridge could
 * not read), or retry later (429, 5xx, network, auth, anything unexpected) with capped, jittered backoff that honours `Retry-After`. Events
 * only leave the spool's custody as "shipped" or "dead-lettered", never silently.
 *
 * @module
 */
import { backoffDelay, type BackoffOptions, parseRetryAfter } from "./backoff.ts";
import { sleep } from "../_util.ts";
import type { DeadLetter } from "./dead_letter.ts";
import { isRejectionReason, type RejectionReason, REJECTIONS } from "../../../shared/contract.ts";

/** One event the bridge refused, by its index in the batch. */
export interface Rejection {
  index: number;
  error: string;
}

/** How the bridge answered one POST. */
export type SendOutcome =
  | { kind: "ok"; status: number; accepted: number; duplicates: number; rejected: Rejection[] }
  /** 400 with `rejected`: every event of the batch is invalid. */
  | { kind: "invalid"; status: number; error: string; rejected: Rejection[] }
  /** 400 without `rejected`: the bridge could not read the body; split to find the culprit. */
  | { kind: "unreadable"; status: number; error: string }
  | { kind: "too_large"; status: number; error: string }
  | { kind: "auth"; status: number; error: string }
  /**
   * 403 because the key is bound to `projectId` and some events carry another (or no)
   * `project_id`: those can never be accepted with this key, so they are dead-lettered and the
   * rest is sent again. Retrying would block the spool behind them for good.
   */
  | { kind: "forbidden_project"; status: number; error: string; projectId: string }
  | { kind: "retry"; status: number | undefined; error: string; retryAfterMs: number | undefined };

/** What delivering a batch came to. */
export interface Delivery {
  /** Events the bridge now holds (newly stored or already there). */
  shipped: number;
  /** Events the bridge refused; write them to the dead-letter file before committing. */
  deadLetters: DeadLetter[];
}

/** Options of {@linkcode createShipper}. */
export interface ShipperOptions {
  endpoint: URL;
  /** Sent as `Authorization: Bearer <apiKey>` when set. */
  apiKey?: string;
  /**
   * The variable the person sets `apiKey` in, named by the messages about a refused key;
   * default `ZO_INGEST_KEY`.
   */
  apiKeyVariable?: string;
  /** Gzip request bodies (default true). */
  gzip?: boolean;
  /** Backoff between retries (auth failures included, so a fixed key is picked up soon). */
  backoff?: BackoffOptions;
  /**
   * Failed attempts in a row after which {@linkcode Shipper.deliver} throws
   * {@linkcode DeliveryError}; default unlimited (the relay keeps events until the bridge is back).
   */
  maxAttempts?: number;
  /** Stops waits and requests (they then throw {@linkcode DeliveryError} with `aborted`). */
  signal?: AbortSignal;
  /** Where operator-facing lines go (auth failures, bridge down); default stderr. */
  log?: (line: string) => void;
  /** Called before each wait, for progress displays and tests. */
  onRetry?: (info: { attempt: number; delayMs: number; outcome: SendOutcome }) => void;
}

/** Thrown by {@linkcode Shipper.deliver} when it gives up: attempts used up, or stopped. */
export class DeliveryError extends Error {
  override name = "DeliveryError";
  /** The last answer (or network failure) before giving up. */
  readonly last: SendOutcome | undefined;
  /** True when the shipper's signal stopped it. */
  readonly aborted: boolean;
  constructor(message: string, last: SendOutcome | undefined, aborted: boolean) {
    super(message);
    this.last = last;
    this.aborted = aborted;
  }
}

/** A line of the spool to send: the envelope JSON as written. */
export interface Shippable {
  text: string;
}

/** Sends batches to one bridge endpoint over one keep-alive HTTP client. */
export interface Shipper {
  /** One POST of `lines`; never throws for network failures (they are `retry` outcomes). */
  send(lines: readonly Shippable[]): Promise<SendOutcome>;
  /**
   * Delivers `lines` until each is shipped or dead-lettered: retries transient failures, halves
   * a batch the bridge finds too large or unreadable, dead-letters a lone event it refuses.
   */
  deliver(lines: readonly Shippable[]): Promise<Delivery>;
  /** Closes the HTTP client. */
  close(): void;
}

/** One request that gets no answer this long, in ms, counts as a network error. */
const REQUEST_TIMEOUT_MS = 60_000;
/** Auth and endpoint problems are logged at most this often while they last. */
const LOG_EVERY_MS = 60_000;

function defaultLog(line: string): void {
  // deno-lint-ignore no-console -- the relay's operator reads stderr
  console.error(line);
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function rejections(value: unknown): Rejection[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.flatMap((item) =>
    item !== null && typeof item === "object" && Number.isSafeInteger(item.index)
      ? [{ index: item.index as number, error: String(item.error ?? "rejected by the bridge") }]
      : []
  );
}

/** Reads the bridge's answer into an outcome (exported for tests). */
export async function classifyResponse(
  response: Response,
  nowMs: number = Date.now(),
): Promise<SendOutcome> {
  const status = response.status;
  const text = await response.text().catch(() => "");
  let body: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(text);
    if (parsed !== null && typeof parsed === "object") body = parsed;
  } catch {
    // Not JSON (a proxy's HTML page, say): the status decides alone.
  }
  const error = typeof body.error === "string"
    ? body.error
    : text.slice(0, 200) || response.statusText || `HTTP ${status}`;
  if (status >= 200 && status < 300) {
    return {
      kind: "ok",
      status,
      accepted: Number(body.accepted) || 0,
      duplicates: Number(body.duplicates) || 0,
      rejected: rejections(body.rejected) ?? [],
    };
  }
  const details = body.details as Record<string, unknown> | undefined;
  const reason = reasonOf(status, body, details);
  const action = reason === undefined ? "retry" : REJECTIONS[reason].relay;
  switch (action) {
    case "dead_letter_rejected":
    case "split": {
      if (status === 413) return { kind: "too_large", status, error };
      const rejected = action === "dead_letter_rejected" ? rejections(body.rejected) : undefined;
      return rejected === undefined
        ? { kind: "unreadable", status, error }
        : { kind: "invalid", status, error, rejected };
    }
    case "dead_letter_foreign":
      if (typeof details?.project_id === "string") {
        return { kind: "forbidden_project", status, error, projectId: details.project_id };
      }
      return { kind: "auth", status, error };
    case "fix_key":
      return { kind: "auth", status, error };
    case "retry":
      return {
        kind: "retry",
        status,
        error,
        retryAfterMs: parseRetryAfter(response.headers.get("retry-after"), nowMs),
      };
  }
}

/**
 * The rejection reason of an answer: the body's `reason` when the bridge gives one this relay
 * knows and it agrees with the status, else what the status says (an older bridge, a proxy).
 */
function reasonOf(
  status: number,
  body: Record<string, unknown>,
  details: Record<string, unknown> | undefined,
): RejectionReason | undefined {
  const given = body.reason ?? details?.reason;
  if (isRejectionReason(given) && REJECTIONS[given].status === status) return given;
  switch (status) {
    case 400:
      return body.rejected === undefined ? "malformed" : "invalid";
    case 413:
      return "too_large";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden_scope";
    default:
      return undefined;
  }
}

function parseEnvelope(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // the reader only passes JSON objects; kept whole should that ever change
  }
}

/** The `project_id` of a spooled envelope, if it has one. */
function projectOf(line: Shippable): string | undefined {
  const event = parseEnvelope(line.text);
  return event !== null && typeof event === "object" &&
      typeof (event as Record<string, unknown>).project_id === "string"
    ? (event as Record<string, unknown>).project_id as string
    : undefined;
}

/** Creates a {@linkcode Shipper} for `options.endpoint`. */
export function createShipper(options: ShipperOptions): Shipper {
  const client = Deno.createHttpClient({});
  const useGzip = options.gzip ?? true;
  const maxAttempts = options.maxAttempts ?? Infinity;
  const log = options.log ?? defaultLog;
  const keyVariable = options.apiKeyVariable ?? "ZO_INGEST_KEY";
  const encoder = new TextEncoder();
  const headers: Record<string, string> = { "content-type": "application/x-ndjson" };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  if (useGzip) headers["content-encoding"] = "gzip";
  let lastLogAt = -Infinity;
  let lastLogKind = "";

  function note(kind: string, line: string) {
    const now = Date.now();
    if (kind !== lastLogKind || now - lastLogAt >= LOG_EVERY_MS) {
      lastLogAt = now;
      lastLogKind = kind;
      log(line);
    }
  }

  async function send(lines: readonly Shippable[]): Promise<SendOutcome> {
    let body: Uint8Array<ArrayBuffer> = encoder.encode(
      lines.map((line) => line.text + "\n").join(""),
    );
    if (useGzip) body = await gzip(body);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    const stop = () => controller.abort();
    options.signal?.addEventListener("abort", stop, { once: true });
    try {
      const response = await fetch(options.endpoint, {
        method: "POST",
        headers,
        body,
        client,
        signal: controller.signal,
      });
      return await classifyResponse(response);
    } catch (error) {
      const why = controller.signal.aborted && !options.signal?.aborted
        ? `no answer within ${REQUEST_TIMEOUT_MS} ms`
        : (error as Error).message;
      return { kind: "retry", status: undefined, error: why, retryAfterMs: undefined };
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", stop);
    }
  }

  async function deliver(lines: readonly Shippable[]): Promise<Delivery> {
    const result: Delivery = { shipped: 0, deadLetters: [] };
    if (lines.length === 0) return result;
    let failures = 0;
    while (true) {
      if (options.signal?.aborted) {
        throw new DeliveryError("Cannot ship events: the relay is stopping", undefined, true);
      }
      const outcome = await send(lines);
      switch (outcome.kind) {
        case "ok": {
          const refused = new Map(outcome.rejected.map((r) => [r.index, r.error]));
          lines.forEach((line, index) => {
            const reason = refused.get(index);
            if (reason === undefined) result.shipped++;
            else result.deadLetters.push({ reason, event: parseEnvelope(line.text) });
          });
          if (failures > 0) {
            note("recovered", `Shipping events again: the bridge answered ${outcome.status}`);
          }
          return result;
        }
        case "invalid": {
          const reasons = new Map(outcome.rejected.map((r) => [r.index, r.error]));
          for (const [index, line] of lines.entries()) {
            result.deadLetters.push({
              reason: reasons.get(index) ?? outcome.error,
              event: parseEnvelope(line.text),
            });
          }
          return result;
        }
        case "too_large":
        case "unreadable": {
          if (lines.length === 1) {
            result.deadLetters.push({
              reason: `${
                outcome.kind === "too_large" ? "too large" : "unreadable"
              } (HTTP ${outcome.status}): ${outcome.error}`,
              event: parseEnvelope(lines[0]!.text),
            });
            return result;
          }
          const half = Math.ceil(lines.length / 2);
          for (const part of [lines.slice(0, half), lines.slice(half)]) {
            const sub = await deliver(part);
            result.shipped += sub.shipped;
            result.deadLetters.push(...sub.deadLetters);
          }
          return result;
        }
        case "forbidden_project": {
          const foreign = lines.filter((line) => projectOf(line) !== outcome.projectId);
          if (foreign.length === 0) {
            // The bridge and the relay disagree on which events are foreign: keep them all.
            note("auth", `Cannot ship events: ${outcome.error}; retrying with backoff`);
            break;
          }
          for (const line of foreign) {
            result.deadLetters.push({
              reason: `forbidden project (HTTP ${outcome.status}): the key may only write ` +
                `project "${outcome.projectId}"; set ZO_PROJECT_ID or use a key of this project`,
              event: parseEnvelope(line.text),
            });
          }
          const rest = lines.filter((line) => projectOf(line) === outcome.projectId);
          if (rest.length > 0) {
            const sub = await deliver(rest);
            result.shipped += sub.shipped;
            result.deadLetters.push(...sub.deadLetters);
          }
          return result;
        }
        case "auth":
          note(
            "auth",
            `Cannot ship events: the bridge refused the API key (HTTP ${outcome.status}: ${outcome.error}); ` +
              `set ${keyVariable} to a valid ingest key. Events stay in the spool; retrying with backoff`,
          );
          break;
        case "retry":
          note(
            "retry",
            `Cannot ship events yet: ${
              outcome.status === undefined ? "bridge unreachable" : `HTTP ${outcome.status}`
            } ` +
              `(${outcome.error}) at ${options.endpoint.origin}${options.endpoint.pathname}; retrying with backoff`,
          );
          break;
      }
      failures++;
      if (failures >= maxAttempts) {
        const what = outcome.kind === "auth"
          ? `the bridge refused the API key (HTTP ${outcome.status}); set ${keyVariable} to a valid ingest key`
          : outcome.kind === "retry" && outcome.status === undefined
          ? `${options.endpoint.href} is unreachable (${outcome.error})`
          : `the bridge kept answering ${outcome.status} (${outcome.error})`;
        throw new DeliveryError(
          `Cannot ship events after ${failures} attempts: ${what}`,
          outcome,
          false,
        );
      }
      // The server's hint wins over the jittered guess.
      const delayMs = (outcome.kind === "retry" ? outcome.retryAfterMs : undefined) ??
        backoffDelay(failures - 1, options.backoff);
      options.onRetry?.({ attempt: failures, delayMs, outcome });
      await sleep(delayMs, options.signal);
    }
  }

  return { send, deliver, close: () => client.close() };
}
