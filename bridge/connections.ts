/**
 * The bridge's front door: bounds on TCP connections that `Deno.serve` does not offer (Deno 2.9
 * has no connection cap, header deadline or idle timeout, denoland/deno#3515). Clients connect
 * to a listener here; each connection is piped to the app's `Deno.serve`, which listens on a
 * loopback port of its own. The pipe sees only bytes, which is enough for:
 *
 * - a cap on connections at once: when it is reached, a new connection takes the place of the
 *   longest-idle one that is not waiting for an answer (a slow header, a kept-alive idle
 *   socket); when every connection is busy, the newcomer gets `503` and is closed;
 * - a header deadline: a request's header block (up to the blank line) must arrive within it;
 * - an idle timeout: a connection with nothing in flight and no byte either way for that long is
 *   closed;
 * - accept errors (`EMFILE` "Too many open files", ...) logged and retried after a pause, never
 *   fatal, and the app's own server restarted should an error escape it.
 *
 * A request body's deadline is the ingest route's (`ingest_body.ts`): only it knows a body.
 *
 * @module
 */
import { sleep, wholeNumberOption } from "./_util.ts";

/** Bounds of {@linkcode serveWithLimits}. */
export interface ConnectionLimits {
  /** Most client connections at once (`ZO_MAX_CONNECTIONS`). */
  maxConnections: number;
  /** Longest a request's header block may take to arrive, in ms (`ZO_HEADER_TIMEOUT_MS`). */
  headerTimeoutMs: number;
  /** Longest a connection with nothing in flight may stay silent, in ms (`ZO_IDLE_TIMEOUT_MS`). */
  idleTimeoutMs: number;
}

/** Defaults: 1,000 connections (3 file descriptors each: see the systemd unit's
 * `LimitNOFILE`), 10 s for a header, 60 s idle (the live feed's heartbeat is every 15 s). */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxConnections: 1_000,
  headerTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
};

/** Options of {@linkcode serveWithLimits}. */
export interface ServeWithLimitsOptions {
  hostname: string;
  /** 0: any free port. */
  port: number;
  limits?: Partial<ConnectionLimits>;
  onListen?: (addr: Deno.NetAddr) => void;
  /** Receives warnings (accept errors, restarts), rate-limited; default dropped. */
  log?: (msg: string, extra: Record<string, unknown>) => void;
}

/** A running front door and the app's server behind it. */
export interface LimitedServer {
  readonly addr: Deno.NetAddr;
  /** Client connections open now. */
  readonly connections: number;
  /** Connections closed for a bound, since start: by kind. */
  readonly closed: Readonly<Record<"header_timeout" | "idle" | "evicted" | "refused", number>>;
  /**
   * Stops accepting, lets requests in progress finish for up to `graceMs` (default 5 s), then
   * closes whatever is left and waits at most 1 s more, so shutdown is bounded (under 10 s).
   */
  shutdown(options?: { graceMs?: number }): Promise<void>;
  /** Resolves once {@linkcode LimitedServer.shutdown} is done. */
  readonly finished: Promise<void>;
}

const HEADER_END = [0x0d, 0x0a, 0x0d, 0x0a];
/** Pause after an accept error, so a full file table is not spun on. */
const ACCEPT_RETRY_MS = 100;
const SWEEP_MS = 250;
/** A connection silent this long after its answer may give its place to a newcomer. */
const EVICTABLE_AFTER_MS = 1_000;
const LOG_EVERY_MS = 10_000;
const BUSY_BODY =
  '{"error":"Cannot take the connection: the bridge has as many as it holds","reason":"busy"}';
const BUSY_RESPONSE = new TextEncoder().encode(
  "HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\ncontent-type: application/json\r\n" +
    `connection: close\r\ncontent-length: ${BUSY_BODY.length}\r\n\r\n${BUSY_BODY}`,
);

interface Tracked {
  client: Deno.Conn;
  upstream?: Deno.Conn;
  /** When the current request's header began (or the connection opened). */
  headerStartedAt: number;
  /** The current request's header block has arrived. */
  headerDone: boolean;
  /** Bytes of `\r\n\r\n` matched so far, across chunks. */
  headerMatch: number;
  /** The client sent bytes the app has not answered yet. */
  awaiting: boolean;
  lastActiveAt: number;
  closed: boolean;
}

function check(name: keyof ConnectionLimits, value: number): number {
  return wholeNumberOption(name, value, 1);
}

/**
 * Serves `handler` behind the bounds of {@linkcode ConnectionLimits}. Checks the limits once,
 * here.
 */
export async function serveWithLimits(
  handler: Deno.ServeHandler<Deno.NetAddr>,
  options: ServeWithLimitsOptions,
): Promise<LimitedServer> {
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...options.limits };
  for (const name of Object.keys(DEFAULT_CONNECTION_LIMITS) as (keyof ConnectionLimits)[]) {
    check(name, limits[name]);
  }
  const log = options.log ?? (() => {});
  const lastLogged = new Map<string, number>();
  const warn = (msg: string, extra: Record<string, unknown>) => {
    const now = Date.now();
    if (now - (lastLogged.get(msg) ?? 0) < LOG_EVERY_MS) return;
    lastLogged.set(msg, now);
    log(msg, extra);
  };

  // The app's server, on a loopback port only the front door uses.
  let stopping = false;
  let inner!: Deno.HttpServer<Deno.NetAddr>;
  let innerPort = 0;
  const startInner = async () => {
    const { promise, resolve } = Promise.withResolvers<Deno.NetAddr>();
    inner = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: resolve }, handler);
    innerPort = (await promise).port;
    const current = inner;
    current.finished.catch((error) => {
      // An accept error escaping Deno.serve ends that server: start another one behind the door.
      if (stopping || current !== inner) return;
      warn("the app's server stopped; restarting it", { error: String(error) });
      startInner().catch((e) => warn("Cannot restart the app's server", { error: String(e) }));
    });
  };
  // Listen first: a port in use fails here, before the app's server exists to be leaked.
  const listener = Deno.listen({ hostname: options.hostname, port: options.port });
  try {
    await startInner();
  } catch (error) {
    listener.close();
    throw error;
  }
  const addr = listener.addr as Deno.NetAddr;
  options.onListen?.(addr);
  const open = new Set<Tracked>();
  const closed = { header_timeout: 0, idle: 0, evicted: 0, refused: 0 };

  /** Woken when the last open connection closes (shutdown waits for the pipes to drain). */
  let onEmpty: (() => void) | undefined;
  const close = (conn: Tracked) => {
    if (conn.closed) return;
    conn.closed = true;
    open.delete(conn);
    if (open.size === 0) onEmpty?.();
    try {
      conn.client.close();
    } catch { /* already closed */ }
    try {
      conn.upstream?.close();
    } catch { /* already closed */ }
  };

  /** The connection to give up for a newcomer: the longest idle that waits for nothing. */
  const evictable = (now: number): Tracked | undefined => {
    let best: Tracked | undefined;
    for (const conn of open) {
      const waitsForNothing = !conn.headerDone ||
        (!conn.awaiting && now - conn.lastActiveAt >= EVICTABLE_AFTER_MS);
      if (waitsForNothing && (best === undefined || conn.lastActiveAt < best.lastActiveAt)) {
        best = conn;
      }
    }
    return best;
  };

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const conn of open) {
      if (
        !conn.headerDone && conn.awaiting && now - conn.headerStartedAt > limits.headerTimeoutMs
      ) {
        closed.header_timeout++;
        close(conn);
      } else if (!conn.awaiting && now - conn.lastActiveAt > limits.idleTimeoutMs) {
        closed.idle++;
        close(conn);
      }
    }
  }, SWEEP_MS);

  /** Copies `from` to `to`, telling `onChunk` of each chunk before it is written. */
  const pipe = async (from: Deno.Conn, to: Deno.Conn, onChunk: (chunk: Uint8Array) => void) => {
    const buffer = new Uint8Array(64 * 1024);
    while (true) {
      const n = await from.read(buffer);
      if (n === null) return;
      const chunk = buffer.subarray(0, n);
      onChunk(chunk);
      let written = 0;
      while (written < n) written += await to.write(chunk.subarray(written));
    }
  };

  const fromClient = (conn: Tracked) => (chunk: Uint8Array) => {
    const now = Date.now();
    conn.lastActiveAt = now;
    if (!conn.awaiting) {
      // The first byte after an answer starts a new request, and its header's deadline.
      conn.awaiting = true;
      conn.headerDone = false;
      conn.headerMatch = 0;
      conn.headerStartedAt = now;
    }
    if (conn.headerDone) return;
    for (let i = 0; i < chunk.length; i++) {
      conn.headerMatch = chunk[i] === HEADER_END[conn.headerMatch]
        ? conn.headerMatch + 1
        : chunk[i] === 0x0d
        ? 1
        : 0;
      if (conn.headerMatch === 4) {
        conn.headerDone = true;
        return;
      }
    }
  };

  const fromApp = (conn: Tracked) => (chunk: Uint8Array) => {
    conn.lastActiveAt = Date.now();
    // "HTTP/1.1 100 Continue" asks for the body: the request is still in flight.
    if (chunk.length >= 12 && chunk[9] === 0x31 && chunk[10] === 0x30 && chunk[11] === 0x30) {
      return;
    }
    conn.awaiting = false;
  };

  const handle = async (client: Deno.Conn) => {
    const now = Date.now();
    if (open.size >= limits.maxConnections) {
      const victim = evictable(now);
      if (victim === undefined) {
        closed.refused++;
        warn("connection refused: every connection is busy (ZO_MAX_CONNECTIONS)", {
          max_connections: limits.maxConnections,
        });
        try {
          await client.write(BUSY_RESPONSE);
        } catch { /* gone already */ }
        try {
          client.close();
        } catch { /* already closed */ }
        return;
      }
      closed.evicted++;
      close(victim);
    }
    const conn: Tracked = {
      client,
      headerStartedAt: now,
      headerDone: false,
      headerMatch: 0,
      // A fresh connection owes a request: its header deadline runs from now.
      awaiting: true,
      lastActiveAt: now,
      closed: false,
    };
    open.add(conn);
    try {
      conn.upstream = await Deno.connect({ hostname: "127.0.0.1", port: innerPort });
    } catch (error) {
      warn("Cannot reach the app's server", { error: String(error) });
      try {
        await client.write(BUSY_RESPONSE);
      } catch { /* gone already */ }
      close(conn);
      return;
    }
    if (conn.closed) { // evicted or shut down while connecting
      close(conn);
      return;
    }
    const upstream = conn.upstream;
    await Promise.race([
      pipe(client, upstream, fromClient(conn)),
      pipe(upstream, client, fromApp(conn)),
    ]).catch(() => {});
    close(conn);
  };

  const acceptLoop = (async () => {
    while (!stopping) {
      let client: Deno.Conn;
      try {
        client = await listener.accept();
      } catch (error) {
        if (stopping || error instanceof Deno.errors.BadResource) return;
        warn("Cannot accept a connection; retrying", {
          error: String(error),
          connections: open.size,
        });
        await sleep(ACCEPT_RETRY_MS);
        continue;
      }
      void handle(client);
    }
  })();

  const { promise: finished, resolve: done } = Promise.withResolvers<void>();
  let shuttingDown: Promise<void> | undefined;
  return {
    addr,
    get connections() {
      return open.size;
    },
    closed,
    shutdown(shutdownOptions = {}) {
      return shuttingDown ??= (async () => {
        stopping = true;
        try {
          listener.close();
        } catch { /* already closed */ }
        await acceptLoop;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const grace = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, shutdownOptions.graceMs ?? 5_000);
        });
        const draining = inner.shutdown();
        const drained = await Promise.race([draining.then(() => true), grace.then(() => false)]);
        clearTimeout(timer);
        clearInterval(sweep);
        if (drained && open.size > 0) {
          // The app has written its last bytes (a live stream's `closing` message among them),
          // but the pipes may still be carrying them to the clients: cutting now would lose
          // them. Each pipe ends by itself once the app's side closes; wait for that, bounded.
          const empty = new Promise<void>((resolve) => onEmpty = resolve);
          let wait: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([empty, new Promise((resolve) => wait = setTimeout(resolve, 1_000))]);
          clearTimeout(wait);
        }
        // Past the grace: whatever is left (a stalled upload, a stuck reader) is cut.
        for (const conn of [...open]) close(conn);
        // A handler that never returns would hold the app's server open: wait for it, bounded.
        let last: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          draining.catch(() => {}),
          new Promise((resolve) => last = setTimeout(resolve, 1_000)),
        ]);
        clearTimeout(last);
        done();
      })();
    },
    finished,
  };
}
