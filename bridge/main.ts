/**
 * The bridge's entry point: reads the configuration, starts an embedded Chroma server when no
 * `CHROMA_URL` is set (a child process that exits with the bridge, even a SIGKILLed one), serves
 * the app from `app.ts` (a port in use or an address it cannot have is one line on stderr, exit
 * 1; the start log says how many keys of each scope are configured), and on SIGINT or SIGTERM finishes the requests in progress, applies the
 * pending agent_state updates, then stops Chroma. Logs JSON lines to stderr: one per request, plus start-up and shutdown.
 *
 * ```sh
 * deno task bridge
 * # which runs:
 * deno run --no-prompt --v8-flags=--max-semi-space-size=2 --allow-net --allow-run=deno --allow-read=/etc/zo-bridge --allow-env=PORT,HOSTNAME,CHROMA_URL,CHROMA_TENANT,CHROMA_DATABASE,CHROMA_AUTH_TOKEN,CHROMA_DB_PATH,ZO_API_KEY,ZO_API_KEYS,ZO_API_KEYS_FILE,ZO_METRICS_PUBLIC,ZO_INGEST_REDACTION,ZO_INGEST_QUEUE_EVENTS,ZO_INGEST_BATCH_EVENTS,ZO_INGEST_LINGER_MS,ZO_INGEST_WRITES_IN_FLIGHT,DENO_DEPLOYMENT_ID,ZO_EMBEDDING_PROVIDER,ZO_EMBEDDING_MODEL,OLLAMA_URL,OPENAI_API_KEY,OPENAI_BASE_URL,ZO_PRICES_FILE,ZO_MAX_CONNECTIONS,ZO_HEADER_TIMEOUT_MS,ZO_IDLE_TIMEOUT_MS,ZO_BRIDGE_ID,ZO_QUERY_PAGE_BYTES,ZO_QUERY_BYTES_IN_FLIGHT,ZO_USAGE_INDEX_RECORDS,ZO_LIVE_POLL_MS,ZO_MAX_EVENT_BYTES bridge/main.ts
 * ```
 *
 * - `--v8-flags=--max-semi-space-size=2`: a young generation of 2 MB a semi-space, far below
 *   V8's default: under sustained ingest it keeps the resident size under 200 MB (measured 193 MB
 *   against 234 MB by `bench/ingest_bench.ts`) at no measured cost in throughput.
 * - `--allow-net`: listening, and reaching Chroma (embedded on a loopback port, or `CHROMA_URL`)
 *   and the embedding provider, whose hosts are configuration.
 * - `--allow-run=deno`: the embedded Chroma server runs as `deno run ... bridge/chroma_child.ts`
 *   (the child gets its own narrow flags; its native server writes `CHROMA_DB_PATH` itself).
 * - `--allow-env=...`: exactly the variables in `BRIDGE_ENV_VARS` plus `ZO_MAX_EVENT_BYTES`.
 * - `--allow-read=/etc/zo-bridge`: the one folder for `ZO_API_KEYS_FILE` and `ZO_PRICES_FILE`
 *   (e.g. `/etc/zo-bridge/api_keys`), so the task can read them as it is; a file elsewhere needs
 *   its own `--allow-read=<that file>`. Nothing else is read (the committed price table is
 *   imported as a module).
 * - `--help` prints the variables and exits; any other argument is refused (exit 2).
 *
 * On Deno Deploy there is no subprocess and no file system: set `CHROMA_URL` (and an API key);
 * the embedded server's module is only imported when it is used.
 *
 * @module
 */
import { ConfigError } from "../shared/config.ts";
import { createApp } from "./app.ts";
import { type ApiKeyConfig, createAuthenticator } from "./auth.ts";
import { type LimitedServer, serveWithLimits } from "./connections.ts";
import { ChromaStore } from "./chroma_store.ts";
import { type BridgeConfig, loadBridgeConfig } from "./config.ts";
import { BRIDGE_ENV_VARS } from "./config_vars.ts";
import { createEmbeddingProvider } from "./embeddings.ts";
import type { EmbeddedChroma } from "./embedded_chroma.ts";
import { StoreUnavailableError } from "./store.ts";
import { errorMessage } from "./_util.ts";

/** Writes one JSON log line to stderr. */
function log(level: "info" | "warn" | "error", msg: string, extra: Record<string, unknown> = {}) {
  // deno-lint-ignore no-console -- the bridge's log is stderr, one JSON line per entry
  console.error(JSON.stringify({ ts: new Date().toISOString(), level, msg, ...extra }));
}

/** Starts the embedded server; imported on demand so Deno Deploy never loads subprocess code. */
async function startChroma(path: string): Promise<EmbeddedChroma> {
  const { startEmbeddedChroma } = await import("./embedded_chroma.ts");
  const chroma = await startEmbeddedChroma({
    path,
    onLog: (line) => {
      // The server's own log is chatty; keep what says something went wrong, and restarts.
      if (/error|warn|panic|exited|restart/i.test(line)) log("warn", "chroma", { line });
    },
  });
  log("info", "embedded chroma started", { url: chroma.url, pid: chroma.pid, path });
  // Chroma 1.0.5's server has no authentication and no unix socket (its CLI takes only --path,
  // --host, --port): on a host shared with other users, they can reach this port. See
  // docs/SECURITY.md ("Embedded Chroma and local users").
  log(
    "warn",
    "the embedded Chroma answers anyone on this host: on a shared host, run the bridge under its own user on a host (or container) of its own, or set CHROMA_URL to a Chroma that requires a token",
    { url: chroma.url },
  );
  return chroma;
}

function fail(message: string): never {
  log("error", message);
  Deno.exit(1);
}

/** `deno task bridge --help`: the bridge takes no flags; its settings are variables. */
export const BRIDGE_USAGE = `Usage: deno task bridge

The central bridge: stores the fleet's events in Chroma (embedded under CHROMA_DB_PATH unless
CHROMA_URL is set) and serves ingest, query, live, usage and the dashboard on HOSTNAME:PORT.
It takes no flags; its settings are environment variables:

${
  BRIDGE_ENV_VARS.map((v) =>
    `  ${v.name.padEnd(26)} default ${v.default === "" ? "(unset)" : v.default}`
  ).join("\n")
}

Each is described in README.md's configuration table. --help: this text.`;

/** How many keys of each scope are configured, for the start log (never the keys). */
export function keyCounts(keys: readonly ApiKeyConfig[]): Record<string, number> {
  const counts: Record<string, number> = { ingest: 0, read: 0, admin: 0, project_bound: 0 };
  for (const key of keys) {
    for (const scope of key.scopes) counts[scope] = (counts[scope] ?? 0) + 1;
    if (key.projectId !== undefined) counts.project_bound! += 1;
  }
  return counts;
}

/** Runs the bridge until SIGINT or SIGTERM. */
export async function main(args: readonly string[] = Deno.args): Promise<void> {
  if (args.length > 0) {
    if (args.every((arg) => arg === "--help" || arg === "-h")) {
      // deno-lint-ignore no-console -- asked for
      console.log(BRIDGE_USAGE);
      Deno.exit(0);
    }
    // deno-lint-ignore no-console -- a person needs to know why nothing started
    console.error(
      `Cannot start the bridge: it takes no arguments (got ${
        JSON.stringify(args[0])
      }); its settings are environment variables (--help lists them)`,
    );
    Deno.exit(2);
  }
  let config: BridgeConfig;
  let authenticate;
  try {
    config = loadBridgeConfig();
    authenticate = await createAuthenticator(config.keys);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  if (config.keys.length === 0) {
    log("warn", "no API key configured: every caller has full access (loopback only)");
  } else {
    log("info", "API keys configured", { keys: config.keys.length, ...keyCounts(config.keys) });
  }

  let chroma: EmbeddedChroma | undefined;
  let connection;
  if (config.chroma.kind === "embedded") {
    try {
      chroma = await startChroma(config.chroma.path);
    } catch (error) {
      fail(`Cannot start the embedded Chroma server: ${(error as Error).message}`);
    }
    connection = { url: chroma.url };
  } else {
    const { kind: _, ...remote } = config.chroma;
    connection = remote;
  }

  const store = new ChromaStore({
    ...connection,
    writerId: config.bridgeId,
    embeddings: await createEmbeddingProvider(config.embedding),
    usageIndexRecords: config.usageIndexRecords,
    log: (msg, extra) => log("warn", msg, extra),
  });
  try {
    await store.init();
    // The usage index's load takes seconds at 30,000 records: not on the first GET /usage.
    store.warmUsageIndex().catch((error) =>
      log("warn", "usage index not loaded yet; the first GET /usage loads it", {
        error: (error as Error).message,
      })
    );
  } catch (error) {
    if (error instanceof ConfigError) {
      await chroma?.stop();
      fail(error.message);
    }
    if (!(error instanceof StoreUnavailableError)) throw error;
    // A remote Chroma may come up later: /health says 503 and ingest 503 until it does.
    log("warn", "Chroma is not answering yet", { error: error.message });
  }

  const app = createApp({
    store,
    authenticate,
    metricsPublic: config.metricsPublic,
    ...(config.ingestRedaction ? {} : { redaction: false as const }),
    limits: config.limits,
    groupCommit: config.groupCommit,
    prices: config.prices,
    queryPageBytes: config.query.pageBytes,
    queryBytesInFlight: config.query.bytesInFlight,
    ...(config.livePollMs > 0 && {
      liveFeed: {
        pollMs: config.livePollMs,
        onError: (error: unknown) =>
          log("warn", "live feed poll failed; retrying", { error: errorMessage(error) }),
      },
    }),
    agentState: {
      onError: (error) =>
        log("warn", "agent_state update failed; retrying", {
          error: errorMessage(error),
        }),
    },
  });
  const onListen = ({ hostname, port }: Deno.NetAddr) =>
    log("info", "listening", { url: `http://${hostname}:${port}`, port });
  let server: Deno.HttpServer | LimitedServer;
  try {
    // Deno Deploy bounds connections itself; elsewhere the front door does (`connections.ts`).
    server = config.deploy ? Deno.serve({ onListen }, app) : await serveWithLimits(app, {
      port: config.port,
      hostname: config.hostname,
      limits: config.connections,
      onListen,
      log: (msg, extra) => log("warn", msg, extra),
    });
  } catch (error) {
    await chroma?.stop();
    if (error instanceof Deno.errors.AddrInUse) {
      fail(
        `Cannot listen on ${config.hostname}:${config.port}: the port is in use (another bridge?); stop what holds it or set PORT`,
      );
    }
    if (error instanceof Deno.errors.AddrNotAvailable) {
      fail(
        `Cannot listen on ${config.hostname}:${config.port}: this machine has no such address; set HOSTNAME to one of its addresses, or 0.0.0.0`,
      );
    }
    fail(`Cannot listen on ${config.hostname}:${config.port}: ${(error as Error).message}`);
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log("info", "stopping", { signal });
    // Live streams never end by themselves: close them, or shutdown would wait forever.
    app.live.close();
    await app.liveFeed?.close(); // a poll in flight ends before Chroma does
    // Requests in progress finish first (each waits for its events to be stored), within a grace
    // that keeps the whole shutdown under 10 s; then what is left is cut.
    await server.shutdown();
    // agent_state trails the acknowledged events by a flush: apply what is pending (bounded).
    if (!(await app.agentState?.close({ timeoutMs: 2_000 }) ?? true)) {
      log("warn", "agent_state updates left unapplied at shutdown: some counts will miss them");
    }
    await chroma?.stop();
    log("info", "stopped");
    Deno.exit(0);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, () => void stop(signal));
    } catch {
      // No signals on some platforms (Deno Deploy): the platform stops the isolate itself.
    }
  }
  await server.finished;
}

if (import.meta.main) {
  await main();
}
