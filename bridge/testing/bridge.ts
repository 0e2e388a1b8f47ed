/**
 * A real bridge for integration tests, in two forms:
 *
 * - {@linkcode startTestBridge}: the real app (`createApp`) served by `Deno.serve` on a free
 *   loopback port, in this process, storing into a real Chroma from `testing/chroma.ts`.
 * - {@linkcode spawnBridge}: `bridge/main.ts` as a subprocess with its embedded Chroma, for tests
 *   that kill the bridge (SIGKILL) and look at what survived.
 *
 * Tests using them need `--allow-run=deno --allow-net=127.0.0.1 --allow-read --allow-write`
 * (temp directories of the Chroma data; the subprocess gets its own flags).
 *
 * ```ts
 * await using bridge = await startTestBridge();
 * await fetch(bridge.ingestUrl, {
 *   method: "POST",
 *   headers: { authorization: `Bearer ${bridge.ingestKey}` },
 *   body: JSON.stringify(events),
 * });
 * ```
 *
 * @module
 */
import { fileURLToPath as fromFileUrl } from "node:url";
import { type App, type AppOptions, createApp } from "../app.ts";
import { createAuthenticator, parseApiKeys } from "../auth.ts";
import { ChromaStore, type ChromaStoreOptions } from "../chroma_store.ts";
import { heartbeat } from "../embedded_chroma.ts";
import { startTestChroma, type TestChroma } from "./chroma.ts";

/** Options of {@linkcode startTestBridge}. */
export interface TestBridgeOptions {
  /** More keys, in the `ZO_API_KEYS` syntax, e.g. `ingest@acme:<key>`. */
  keys?: string;
  /** No keys at all: every caller is admin (as a loopback bridge without keys). */
  open?: boolean;
  /** Use this Chroma (left running by `stop()`); default a fresh one, stopped by `stop()`. */
  chroma?: TestChroma;
  /** Store options besides the connection (the usage index's bound, the store's warnings). */
  store?: Pick<ChromaStoreOptions, "usageIndexRecords" | "log">;
  /** App options besides store and authentication (group commit tuning, limits, ...). */
  app?: Omit<AppOptions, "store" | "authenticate">;
  /** Receives the request log; default: dropped. */
  log?: (line: string) => void;
}

/** A running in-process test bridge. */
export interface TestBridge {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** `<url>/ingest`. */
  readonly ingestUrl: string;
  /** `<url>/query`. */
  readonly queryUrl: string;
  /** A key with every scope ("" when `open`). */
  readonly adminKey: string;
  /** A key with the `ingest` scope only. */
  readonly ingestKey: string;
  /** A key with the `read` scope only. */
  readonly readKey: string;
  readonly chroma: TestChroma;
  readonly store: ChromaStore;
  readonly app: App;
  /** Resolves once agent_state reflects every event acknowledged so far. */
  flushAgentState(): Promise<void>;
  /** Stops serving (after the requests in progress), then the Chroma it started. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A random key of the given scope, long enough for the bridge's minimum. */
export function testKey(scope: string): string {
  return `test-${scope}-${crypto.randomUUID()}`;
}

/** Starts the real app against a real Chroma on a free loopback port. */
export async function startTestBridge(options: TestBridgeOptions = {}): Promise<TestBridge> {
  const adminKey = options.open ? "" : testKey("admin");
  const ingestKey = options.open ? "" : testKey("ingest");
  const readKey = options.open ? "" : testKey("read");
  const keys = options.open ? [] : parseApiKeys(
    [`admin:${adminKey}`, `ingest:${ingestKey}`, `read:${readKey}`, options.keys ?? ""]
      .filter(Boolean).join(","),
    "ZO_API_KEYS",
  );
  const authenticate = await createAuthenticator(keys);
  const chroma = options.chroma ?? await startTestChroma();
  const ownsChroma = options.chroma === undefined;
  const store = new ChromaStore({ ...options.store, url: chroma.url });
  try {
    await store.init();
  } catch (error) {
    if (ownsChroma) await chroma.stop();
    throw error;
  }
  const app = createApp({
    ...options.app,
    store,
    authenticate,
    log: options.log ?? (() => {}),
  });
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: resolve }, app);
  const { port } = await listening;
  const url = `http://127.0.0.1:${port}`;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      app.live.close(); // its streams would hold shutdown() open
      await app.liveFeed?.close();
      await server.shutdown();
      await app.committer.idle();
      // Its agent_state updates trail the acknowledgements: apply them while Chroma is up.
      await app.agentState?.close();
      if (ownsChroma) await chroma.stop();
    })();
  return {
    url,
    ingestUrl: `${url}/ingest`,
    queryUrl: `${url}/query`,
    adminKey,
    ingestKey,
    readKey,
    chroma,
    store,
    app,
    flushAgentState: async () => await app.agentState?.flush(),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** The variables `bridge/main.ts` reads, as `--allow-env` lists them. */
export const MAIN_ENV_VARS = [
  "PORT",
  "HOSTNAME",
  "CHROMA_URL",
  "CHROMA_TENANT",
  "CHROMA_DATABASE",
  "CHROMA_AUTH_TOKEN",
  "CHROMA_DB_PATH",
  "ZO_API_KEY",
  "ZO_API_KEYS",
  "ZO_API_KEYS_FILE",
  "ZO_METRICS_PUBLIC",
  "ZO_INGEST_REDACTION",
  "ZO_INGEST_QUEUE_EVENTS",
  "ZO_INGEST_BATCH_EVENTS",
  "ZO_INGEST_LINGER_MS",
  "ZO_INGEST_WRITES_IN_FLIGHT",
  "DENO_DEPLOYMENT_ID",
  "ZO_EMBEDDING_PROVIDER",
  "ZO_EMBEDDING_MODEL",
  "OLLAMA_URL",
  "OPENAI_API_KEY",
  "OPENAI_BASE_URL",
  "ZO_PRICES_FILE",
  "ZO_MAX_CONNECTIONS",
  "ZO_HEADER_TIMEOUT_MS",
  "ZO_IDLE_TIMEOUT_MS",
  "ZO_BRIDGE_ID",
  "ZO_QUERY_PAGE_BYTES",
  "ZO_QUERY_BYTES_IN_FLIGHT",
  "ZO_USAGE_INDEX_RECORDS",
  "ZO_LIVE_POLL_MS",
  "ZO_MAX_EVENT_BYTES",
] as const;

/** The `deno` arguments of `deno task bridge`: the flags documented in `main.ts`. */
export function mainArgs(): string[] {
  return [
    "run",
    `--config=${fromFileUrl(new URL("../../deno.json", import.meta.url))}`,
    "--no-prompt",
    "--v8-flags=--max-semi-space-size=2", // as `deno task bridge` runs it
    "--allow-net",
    "--allow-run=deno",
    "--allow-read=/etc/zo-bridge",
    `--allow-env=${MAIN_ENV_VARS.join(",")}`,
    fromFileUrl(new URL("../main.ts", import.meta.url)),
  ];
}

/** Options of {@linkcode spawnBridge}. */
export interface SpawnBridgeOptions {
  /** Data directory of the embedded Chroma; default a fresh temp directory, removed by `stop()`. */
  chromaDbPath?: string;
  /** Use this Chroma server (`CHROMA_URL`) instead of an embedded one. */
  chromaUrl?: string;
  /** More environment for the bridge (e.g. `ZO_INGEST_QUEUE_EVENTS`). */
  env?: Record<string, string>;
  /** How long to wait for "listening"; default 60 s. */
  startTimeoutMs?: number;
}

/** `bridge/main.ts` running as a subprocess. */
export interface SpawnedBridge {
  readonly url: string;
  readonly ingestUrl: string;
  /** Its admin key (`ZO_API_KEY`). */
  readonly apiKey: string;
  readonly pid: number;
  /** The Chroma in use; with an embedded one, its process id as the bridge logged it. */
  readonly chromaUrl: string;
  readonly chromaPid: number | undefined;
  readonly chromaDbPath: string;
  /** The last lines of its stderr. */
  readonly logTail: readonly string[];
  /** Resolves when the process has exited. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Sends a signal (SIGKILL to simulate a crash). */
  kill(signal?: Deno.Signal): void;
  /** SIGTERM, waits for the exit, and removes a temp data directory it made. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts `bridge/main.ts` as a subprocess on a free port with its embedded Chroma, and resolves
 * once it logs "listening".
 */
export async function spawnBridge(options: SpawnBridgeOptions = {}): Promise<SpawnedBridge> {
  const ownsPath = options.chromaDbPath === undefined && options.chromaUrl === undefined;
  const chromaDbPath = options.chromaDbPath ??
    (ownsPath ? await Deno.makeTempDir({ prefix: "zo-bridge-test-" }) : "");
  const apiKey = testKey("admin");
  const child = new Deno.Command("deno", {
    args: mainArgs(),
    env: {
      PORT: "0",
      HOSTNAME: "127.0.0.1",
      CHROMA_URL: options.chromaUrl ?? "",
      CHROMA_DB_PATH: chromaDbPath,
      ZO_API_KEY: apiKey,
      ZO_API_KEYS: "",
      ZO_API_KEYS_FILE: "",
      ...options.env,
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const logTail: string[] = [];
  let url: string | undefined;
  let chromaUrl: string | undefined = options.chromaUrl;
  let chromaPid: number | undefined;
  const { promise: listening, resolve: onListening } = Promise.withResolvers<void>();
  const drained = (async () => {
    let pending = "";
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
      const lines = (pending + text).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        logTail.push(line);
        if (logTail.length > 200) logTail.shift();
        if (url !== undefined) continue;
        try {
          const entry = JSON.parse(line);
          if (entry.msg === "embedded chroma started") {
            chromaUrl = entry.url;
            chromaPid = entry.pid;
          }
          if (entry.msg === "listening") {
            url = entry.url;
            onListening();
          }
        } catch { /* not a JSON line */ }
      }
    }
  })();
  const status = child.status;
  let stopped: Promise<void> | undefined;
  const cleanUp = async () => {
    await status;
    await drained;
    if (ownsPath) await Deno.remove(chromaDbPath, { recursive: true }).catch(() => {});
  };
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    listening.then(() => "listening" as const),
    status.then(() => "exited" as const),
    new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), timeoutMs)),
  ]);
  clearTimeout(timer);
  if (outcome !== "listening" || chromaUrl === undefined) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await cleanUp();
    throw new Error(
      `Cannot start bridge/main.ts (${outcome}): ${logTail.slice(-5).join(" | ") || "no output"}`,
    );
  }
  const stop = () =>
    stopped ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await cleanUp();
    })();
  return {
    url: url!,
    ingestUrl: `${url}/ingest`,
    apiKey,
    pid: child.pid,
    chromaUrl,
    chromaPid,
    chromaDbPath,
    logTail,
    status,
    kill(signal = "SIGKILL") {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** True while something answers Chroma's heartbeat at `url`. */
export function chromaAnswers(url: string): Promise<boolean> {
  return heartbeat(url, 500);
}
