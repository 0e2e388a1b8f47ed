/**
 * When to try again after a failed send: capped exponential backoff with full jitter (a random
 * delay between zero and the cap of the attempt, so many relays that failed together do not
 * retry together), unless the server said when with `Retry-After`.
 *
 * @module
 */

/** Options of {@linkcode backoffDelay}. */
export interface BackoffOptions {
  /** Cap of the first retry, in ms; doubles per attempt. Default 250. */
  baseMs?: number;
  /** Largest delay, in ms. Default 30,000. */
  capMs?: number;
  /** Source of randomness in [0, 1); default `Math.random`. */
  random?: () => number;
}

/** Default first-retry cap, in ms. */
export const DEFAULT_BACKOFF_BASE_MS = 250;
/** Default largest delay, in ms. */
export const DEFAULT_BACKOFF_CAP_MS = 30_000;
/** The longest `Retry-After` honoured as given, in ms; a larger one is cut to this. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/**
 * The delay before retry number `attempt` (0 for the first retry): uniform in
 * `[0, min(capMs, baseMs * 2^attempt))` ("full jitter").
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? DEFAULT_BACKOFF_BASE_MS;
  const cap = options.capMs ?? DEFAULT_BACKOFF_CAP_MS;
  if (!(attempt >= 0) || !(base > 0) || !(cap >= base)) {
    throw new RangeError(
      `Cannot compute a backoff: attempt ${attempt}, base ${base} ms and cap ${cap} ms must be positive, cap >= base`,
    );
  }
  // 2^attempt overflows to Infinity past ~1024; min() keeps it at the cap.
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 64));
  return Math.floor((options.random ?? Math.random)() * ceiling);
}

/**
 * The wait a `Retry-After` header asks for, in ms: delay-seconds (`"120"`) or an HTTP date
 * (`"Wed, 21 Oct 2026 07:28:00 GMT"`), measured from `nowMs`. Undefined when absent or
 * unreadable; 0 for a date in the past; at most {@linkcode MAX_RETRY_AFTER_MS}.
 */
export function parseRetryAfter(
  header: string | null | undefined,
  nowMs: number = Date.now(),
): number | undefined {
  const text = header?.trim();
  if (!text) return undefined;
  let ms: number;
  if (/^\d+$/.test(text)) {
    ms = Number(text) * 1000;
  } else {
    // HTTP dates (all three RFC 9110 forms) start with a day name; "-5" would parse as a year.
    if (!/^[A-Za-z]{3}/.test(text)) return undefined;
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - nowMs);
  }
  return Math.min(ms, MAX_RETRY_AFTER_MS);
}
