/**
 * The relay's loopback endpoint for Claude Code's `"type": "http"` hooks: Claude Code POSTs the
 * same JSON a command hook reads on stdin; the relay turns it into the same redacted envelope
 * (through the hook pipeline of `hooks/pipeline/hook_pipeline.ts`, built once) and appends it to the same
 * spool, with no process started per event.
 *
 * The answer is `200` with an empty body, sent once the line is in the spool: Claude Code takes
 * an empty 2xx as success with no decision, reads a JSON body as a decision and adds plain text
 * to the agent's context, and shows a non-2xx as a hook error. So bad input still gets an empty
 * 200 (it is kept as an `error` event), and telemetry never steers or blocks the agent. The one
 * exception: a URL whose `install` parameter names another install than this relay's gets `421`
 * with the reason and is not recorded (a hook error Claude Code logs and goes on from), since
 * recording it here would file it under this install's project and log dir.
 *
 * `GET /relay` says whose relay holds the port ({@linkcode RelayIdentity}): doctor and bootstrap
 * ask it to tell this install's relay from another install's, or from another program.
 *
 * `POST /v1/logs` and `/v1/metrics` are Claude Code's OpenTelemetry export instead, answered as
 * OTLP/HTTP expects by `hooks/pipeline/otel/otlp_route.ts`.
 *
 * One slow client or payload never holds up the others: a body still arriving after
 * {@linkcode BODY_TIMEOUT_MS} is recorded as far as it came (the event says it was cut), and a
 * body over {@linkcode INLINE_BODY_BYTES} is redacted in a worker of the relay's record pool, off
 * the event loop that answers the other posts (a smaller one costs at most ~0.3 ms per KB).
 *
 * @module
 */
import { type HookHint, type HookPipeline, REDACTION_BUDGET_MS } from "../hook_pipeline.ts";
import { otlpSignalOf } from "../otel/otlp_signal.ts";
import type { RecordPool } from "./record_pool.ts";

/** Largest request body read; the rest is cut (the event then says so). */
export const MAX_HOOK_BODY_BYTES = 32 * 1024 * 1024;
/** How long a request body may take to arrive, as a command hook's stdin may. */
export const BODY_TIMEOUT_MS = 10_000;
/** Bodies up to this size are recorded on the event loop; bigger ones go to the record pool. */
export const INLINE_BODY_BYTES = 64 * 1024;

/** Path of the identity request: `GET /relay`. */
export const RELAY_IDENTITY_PATH = "/relay";
/** `service` of every {@linkcode RelayIdentity}: tells a relay from any other program. */
export const RELAY_SERVICE = "zo-telemetry-relay";

/** Whose relay listens: the answer of `GET /relay`. */
export interface RelayIdentity {
  service: typeof RELAY_SERVICE;
  /** The install the relay runs from (the parent of its `hooks/`), as bootstrap names it. */
  install_dir: string;
  log_dir: string;
  pid: number;
}

/** Options of {@linkcode startHttpHookServer}. */
export interface HttpHookServerOptions {
  /** Loopback port; 0 picks a free one. */
  port: number;
  /** Address to listen on; default 127.0.0.1 (never expose the endpoint beyond the VM). */
  hostname?: string;
  /** Called after each request is handled (activity, for the relay's idle timer). */
  onEvent?: () => void;
  /**
   * Who serves: answered at `GET /relay`; its `install_dir` is compared with a hook URL's
   * `install` parameter. Undefined: no identity, and every `install` is taken.
   */
  identity?: RelayIdentity;
  /** Where failures go; default stderr. */
  log?: (line: string) => void;
  /** Where bodies over {@linkcode INLINE_BODY_BYTES} are recorded; none: on the event loop. */
  pool?: RecordPool;
  /** Default {@linkcode BODY_TIMEOUT_MS}. */
  bodyTimeoutMs?: number;
  /** Redaction budget of one event; default `REDACTION_BUDGET_MS`. */
  redactionBudgetMs?: number;
}

/** A running endpoint. */
export interface HttpHookServer {
  /** The port it listens on. */
  readonly port: number;
  /** Stops accepting; resolves once requests in progress are answered (their lines written). */
  shutdown(): Promise<void>;
}

function defaultLog(line: string): void {
  // deno-lint-ignore no-console -- the relay's operator reads stderr
  console.error(line);
}

/** The Claude Code event a URL names in its last segment (`/hook/PostToolUse`), if any. */
export function eventFromPath(pathname: string): string | undefined {
  const last = pathname.slice(pathname.lastIndexOf("/") + 1);
  return /^[A-Z][A-Za-z]{1,63}$/.test(last) ? last : undefined;
}

/** Why a body was not read whole, if it was not. */
type BodyCut = "too_large" | "broke_off" | "timed_out";

/**
 * Reads a request body up to `max` bytes, for at most `timeoutMs` (default
 * {@linkcode BODY_TIMEOUT_MS}); `complete` is false when it was cut, broke off or timed out, and
 * `cut` says which.
 */
export async function readBody(
  request: Request,
  max: number,
  timeoutMs: number = BODY_TIMEOUT_MS,
): Promise<{ bytes: Uint8Array; complete: boolean; cut?: BodyCut }> {
  const { bytes, cut } = await readCut(request, max, timeoutMs);
  return cut === undefined ? { bytes, complete: true } : { bytes, complete: false, cut };
}

async function readCut(
  request: Request,
  max: number,
  timeoutMs: number,
): Promise<{ bytes: Uint8Array; cut?: BodyCut }> {
  if (!request.body) return { bytes: new Uint8Array(0) };
  const parts: Uint8Array[] = [];
  let length = 0;
  const reader = request.body.getReader();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    reader.cancel().catch(() => {});
  }, timeoutMs);
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (timedOut) return { bytes: concat(parts, length), cut: "timed_out" };
      if (done) break;
      const room = max - length;
      parts.push(value.length > room ? value.subarray(0, room) : value);
      length += Math.min(value.length, room);
      if (value.length > room) {
        await reader.cancel();
        return { bytes: concat(parts, length), cut: "too_large" };
      }
    }
  } catch {
    return { bytes: concat(parts, length), cut: timedOut ? "timed_out" : "broke_off" };
  } finally {
    clearTimeout(timer);
  }
  return { bytes: concat(parts, length) };
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The install a hook URL names in its `install` parameter, without a trailing slash. */
function installParam(url: URL): string | undefined {
  const value = url.searchParams.get("install");
  return value === null ? undefined : value.replace(/(.)\/+$/, "$1");
}

/**
 * The request handler alone (for in-process tests): POST → record → empty 200 (421 for another
 * install's URL); other methods get an empty 200 too, except `GET /health`, which answers `ok`
 * for people and scripts, and `GET /relay`, which answers the identity as JSON.
 */
export function httpHookHandler(
  pipeline: HookPipeline,
  options: Omit<HttpHookServerOptions, "port" | "hostname"> = {},
): (request: Request) => Promise<Response> {
  const log = options.log ?? defaultLog;
  const identity = options.identity;
  let misdirected = 0;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? BODY_TIMEOUT_MS;
  const budgetMs = options.redactionBudgetMs ?? REDACTION_BUDGET_MS;
  const cutReasons: Record<BodyCut, string> = {
    too_large: `input cut at ${MAX_HOOK_BODY_BYTES} bytes`,
    broke_off: "request body broke off",
    timed_out: `request body still arriving after ${bodyTimeoutMs} ms`,
  };
  return async (request) => {
    const url = new URL(request.url);
    if (request.method !== "POST") {
      await request.body?.cancel();
      if (request.method === "GET" && url.pathname === "/health") return new Response("ok\n");
      if (request.method === "GET" && url.pathname === RELAY_IDENTITY_PATH && identity) {
        return Response.json(identity);
      }
      return new Response(null, { status: 200 });
    }
    const install = installParam(url);
    if (identity && install !== undefined && install !== identity.install_dir) {
      await request.body?.cancel();
      // Once per relay, not per event: a misdirected settings block sends every event here.
      if (misdirected++ === 0) {
        log(
          `Cannot record http hook events for ${install}: this relay is ${identity.install_dir}'s; ` +
            `run deno task doctor --install-dir ${install}`,
        );
      }
      return new Response(
        `Cannot record this event: the relay on this port belongs to ${identity.install_dir}, ` +
          `not ${install}; run deno task doctor --install-dir ${install}\n`,
        { status: 421 },
      );
    }
    const signal = otlpSignalOf(url.pathname);
    if (signal !== undefined) {
      // Claude Code's OpenTelemetry export, when its endpoint names this relay.
      const { handleOtlpRequest } = await import("../otel/otlp_route.ts");
      const response = await handleOtlpRequest(pipeline, signal, request, {
        pool: options.pool,
        inlineBodyBytes: INLINE_BODY_BYTES,
        budgetMs,
      });
      options.onEvent?.();
      return response;
    }
    try {
      const { bytes, cut } = await readBody(request, MAX_HOOK_BODY_BYTES, bodyTimeoutMs);
      const event = eventFromPath(url.pathname);
      const hint: HookHint = {
        script: "relay http hook",
        ...(event === undefined ? {} : { event }),
        ...(cut === undefined ? {} : { incomplete: cutReasons[cut] }),
      };
      if (options.pool && bytes.length > INLINE_BODY_BYTES) {
        await options.pool.record(bytes, hint, budgetMs);
      } else {
        await pipeline.record(bytes, hint, { deadline: performance.now() + budgetMs });
      }
    } catch (error) {
      // record() does not throw; this guards the agent against a bug all the same.
      log(`Cannot record an http hook event: ${(error as Error).message}`);
    }
    options.onEvent?.();
    return new Response(null, { status: 200 });
  };
}

/**
 * Listens on `hostname:port` (127.0.0.1 by default) for http hooks. Throws
 * `Deno.errors.AddrInUse` when the port is taken.
 */
export function startHttpHookServer(
  pipeline: HookPipeline,
  options: HttpHookServerOptions,
): HttpHookServer {
  const server = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port,
    onListen: () => {},
  }, httpHookHandler(pipeline, options));
  return {
    port: server.addr.port,
    shutdown: () => server.shutdown(),
  };
}
