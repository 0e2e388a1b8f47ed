/**
 * The CLI's calls to the bridge: `GET /query` page by page, and `GET /live` as a stream of
 * events (server-sent events read with `fetch`, the key in the Authorization header, never in
 * the URL). A refused key or a bad request is a {@linkcode BridgeError} with the bridge's own
 * message; the key never appears in one.
 *
 * @module
 */
import { createSseParser } from "../../bridge/dashboard/static/sse.js";

/** The bridge answered with an error, or could not be reached (`status` 0). */
export class BridgeError extends Error {
  override name = "BridgeError";
  /** HTTP status, 0 when unreachable. */
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Where the bridge is and how to authenticate. */
export interface BridgeTarget {
  url: string;
  key?: string;
}

function headersOf(target: BridgeTarget, accept: string): HeadersInit {
  return target.key ? { authorization: `Bearer ${target.key}`, accept } : { accept };
}

async function failure(path: string, response: Response): Promise<BridgeError> {
  let reason = `HTTP ${response.status}`;
  try {
    const body = await response.json();
    if (typeof body?.error === "string") reason = body.error;
  } catch { /* not JSON */ }
  const hint = response.status === 401
    ? " (set ZO_READ_KEY to a read key of this bridge, or give --key-file)"
    : response.status === 403
    ? " (the key needs the read scope, and its project)"
    : "";
  return new BridgeError(response.status, `Cannot read ${path}: ${reason}${hint}`);
}

/** One `GET /query` page. */
export async function queryPage(
  target: BridgeTarget,
  params: URLSearchParams,
  signal?: AbortSignal,
): Promise<{ results: unknown[]; next_cursor: string | null }> {
  let response: Response;
  try {
    response = await fetch(`${target.url}/query?${params}`, {
      headers: headersOf(target, "application/json"),
      signal,
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new BridgeError(0, `Cannot reach ${target.url}: ${(error as Error).message}`);
  }
  if (!response.ok) throw await failure("/query", response);
  return await response.json();
}

/** Every result of a query, page by page, at most `max`. */
export async function* queryAll(
  target: BridgeTarget,
  params: URLSearchParams,
  options: { pageSize: number; max: number; signal?: AbortSignal },
): AsyncGenerator<unknown[]> {
  let cursor: string | null = null;
  let read = 0;
  do {
    const page = new URLSearchParams(params);
    page.set("limit", String(Math.min(options.pageSize, options.max - read)));
    if (cursor) page.set("cursor", cursor);
    const answer = await queryPage(target, page, options.signal);
    read += answer.results.length;
    yield answer.results;
    cursor = answer.next_cursor;
  } while (cursor && read < options.max);
}

/** What the live stream yields: its opening, and stored events. */
export type LiveItem = { kind: "ready" } | { kind: "event"; event: Record<string, unknown> };

/**
 * Follows `GET /live` until the stream ends (the bridge stopped, or dropped a slow reader) or
 * `signal` aborts. Throws {@linkcode BridgeError} when the bridge refuses the request.
 */
export async function* followLive(
  target: BridgeTarget,
  params: URLSearchParams,
  signal?: AbortSignal,
): AsyncGenerator<LiveItem> {
  let response: Response;
  try {
    response = await fetch(`${target.url}/live?${params}`, {
      headers: headersOf(target, "text/event-stream"),
      signal,
    });
  } catch (error) {
    if (signal?.aborted) return;
    throw new BridgeError(0, `Cannot reach ${target.url}: ${(error as Error).message}`);
  }
  if (!response.ok || response.body === null) throw await failure("/live", response);
  const queue: LiveItem[] = [];
  const parser = createSseParser((message) => {
    if (message.event === "ready") queue.push({ kind: "ready" });
    else if (message.event === "envelope") {
      try {
        queue.push({ kind: "event", event: JSON.parse(message.data) });
      } catch { /* not an envelope */ }
    }
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    while (true) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch {
        return; // the connection broke: the caller reconnects
      }
      if (chunk.done) return;
      parser.push(chunk.value);
      while (queue.length > 0) yield queue.shift()!;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
