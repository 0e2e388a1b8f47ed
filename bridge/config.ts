/**
 * The bridge's configuration, read from environment variables: where it listens, which Chroma it
 * uses, its API keys, and the ingest tuning. {@linkcode BRIDGE_ENV_VARS} lists every variable
 * read here (the README's configuration table is generated from it); a bad value throws
 * `ConfigError` with a message saying how to fix it, never echoing a key.
 *
 * @module
 */
import {
  ConfigError,
  type EnvReader,
  type EnvVar,
  loadSharedConfig,
  readWholeNumber,
} from "../shared/config.ts";
import { type ApiKeyConfig, checkedKey, parseApiKeys, secretOf } from "./auth.ts";
import { EMBEDDING_ENV_VARS, type EmbeddingConfig, loadEmbeddingConfig } from "./embeddings.ts";
import { builtinPrices, parsePrices, type Prices } from "./usage/prices.ts";
import type { GroupCommitOptions } from "./group_commit.ts";
import { DEFAULT_INGEST_LIMITS, type IngestLimits } from "./ingest_body.ts";
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from "./connections.ts";
import { randomWriterId } from "./chroma/writer_stamp.ts";
import { DEFAULT_USAGE_INDEX_RECORDS } from "./chroma/usage_index.ts";
import { DEFAULT_QUERY_BYTES_IN_FLIGHT } from "./query_budget.ts";
import { QUERY_LIMITS } from "./query_params.ts";
import { DEFAULT_LIVE_POLL_MS } from "./live_feed.ts";

/** Default `PORT`. */
export const DEFAULT_PORT = 8787;
/** Default `HOSTNAME`: loopback only. */
export const DEFAULT_HOSTNAME = "127.0.0.1";
/** Default `CHROMA_DB_PATH` of the embedded Chroma server, relative to the working directory. */
export const DEFAULT_CHROMA_DB_PATH = "./data/chroma";

/**
 * Default group commit tuning (see `group_commit.ts`), measured with `bench/ingest_bench.ts`;
 * each has a variable below. One write in flight: Chroma runs adds one at a time and its cost is
 * largely per call, so a second slot only splits what accumulates during a write into smaller,
 * dearer batches (4 slots measured slower). A 15 ms linger after each write lets the clients it
 * just acknowledged send their next events into the next write (64 one-event clients: batches
 * of ~61 instead of ~32). Up to 1,000 events a write: bigger batches share Chroma's per-call cost.
 */
export const DEFAULT_GROUP_COMMIT = {
  maxBatch: 1_000,
  lingerMs: 15,
  maxInFlight: 1,
  maxQueuedEvents: 20_000,
} as const satisfies GroupCommitOptions;

/** Every environment variable the bridge reads (besides `ZO_MAX_EVENT_BYTES`, shared). */
export const BRIDGE_ENV_VARS: readonly EnvVar[] = [
  {
    name: "PORT",
    default: String(DEFAULT_PORT),
    usedBy: "bridge",
    description: "TCP port the bridge listens on (`0`: any free port).",
  },
  {
    name: "HOSTNAME",
    default: DEFAULT_HOSTNAME,
    usedBy: "bridge",
    description:
      "Address the bridge listens on. Anything beyond loopback (e.g. `0.0.0.0`) needs an API key " +
      "configured: the bridge refuses to start open to the network.",
  },
  {
    name: "CHROMA_URL",
    default: "",
    usedBy: "bridge",
    description:
      "A Chroma server to use, e.g. `http://chroma:8000` or `https://api.trychroma.com`. Unset: " +
      "the bridge runs an embedded Chroma server itself (required on Deno Deploy).",
  },
  {
    name: "CHROMA_TENANT",
    default: "default_tenant",
    usedBy: "bridge",
    description: "Chroma tenant (Chroma Cloud gives you one).",
  },
  {
    name: "CHROMA_DATABASE",
    default: "default_database",
    usedBy: "bridge",
    description: "Chroma database.",
  },
  {
    name: "CHROMA_AUTH_TOKEN",
    default: "",
    usedBy: "bridge",
    description: "Token for a Chroma server that requires one (Chroma Cloud's API key); sent as " +
      "`x-chroma-token`. Never logged.",
  },
  {
    name: "CHROMA_DB_PATH",
    default: DEFAULT_CHROMA_DB_PATH,
    usedBy: "bridge",
    description: "Data directory of the embedded Chroma server (when `CHROMA_URL` is unset).",
  },
  {
    name: "ZO_API_KEY",
    default: "",
    usedBy: "bridge",
    description:
      "One full-access (`admin`) key, as the original system had. At least 16 characters, or " +
      "`sha256:<hex>` of the key. Clients send it as `Authorization: Bearer <key>` or `X-API-Key`.",
  },
  {
    name: "ZO_API_KEYS",
    default: "",
    usedBy: "bridge",
    description:
      "Scoped keys, comma-separated, each `<scopes>[@<project_id>]:<key>`; scopes `ingest`, " +
      "`read`, `admin` (join several with `+`); `@<project_id>` binds the key to one project; " +
      "the key may be written `sha256:<hex>`. E.g. `ingest@acme:<key>,read:sha256:<hex>`.",
  },
  {
    name: "ZO_API_KEYS_FILE",
    default: "",
    usedBy: "bridge",
    description:
      "A file of scoped keys in the `ZO_API_KEYS` syntax, one or more per line, `#` comments. " +
      "`deno task bridge` may read files under `/etc/zo-bridge/` (e.g. " +
      "`/etc/zo-bridge/api_keys`, mode 0600); elsewhere, add the file to its `--allow-read`.",
  },
  {
    name: "ZO_METRICS_PUBLIC",
    default: "0",
    usedBy: "bridge",
    description: "`1`: `GET /metrics` needs no key. Otherwise it needs a `read` key.",
  },
  {
    name: "ZO_INGEST_REDACTION",
    default: "standard",
    usedBy: "bridge",
    description:
      "The second redaction pass at ingest (`bridge/ingest_redaction.ts`): `standard` runs the " +
      "VM's secret rules again on every event before it is stored; `off` stores what VMs sent " +
      "(their own redaction only), for a trusted fleet that wants the CPU (see bench:ingest-redaction).",
  },
  {
    name: "ZO_INGEST_QUEUE_EVENTS",
    default: String(DEFAULT_GROUP_COMMIT.maxQueuedEvents),
    usedBy: "bridge",
    description:
      "Most events waiting to be written to Chroma; beyond it `POST /ingest` answers 429 with " +
      "`Retry-After` (bounds the bridge's memory).",
  },
  {
    name: "ZO_INGEST_BATCH_EVENTS",
    default: String(DEFAULT_GROUP_COMMIT.maxBatch),
    usedBy: "bridge",
    description:
      "Most events per write into Chroma: concurrent requests are coalesced into writes this big.",
  },
  {
    name: "ZO_INGEST_LINGER_MS",
    default: String(DEFAULT_GROUP_COMMIT.lingerMs),
    usedBy: "bridge",
    description:
      "How long an event may wait for others to share its write when Chroma is idle (after a " +
      "write: from its end), in ms.",
  },
  {
    name: "ZO_INGEST_WRITES_IN_FLIGHT",
    default: String(DEFAULT_GROUP_COMMIT.maxInFlight),
    usedBy: "bridge",
    description: "Most writes into Chroma running at once.",
  },
  {
    name: "DENO_DEPLOYMENT_ID",
    default: "",
    usedBy: "bridge",
    description:
      "Set by Deno Deploy, never by hand: there the bridge needs `CHROMA_URL` (no subprocess, " +
      "no file system).",
  },
  {
    name: "ZO_PRICES_FILE",
    default: "",
    usedBy: "bridge",
    description:
      "A price table replacing the committed `bridge/usage/prices.json` (same JSON shape; see " +
      "docs/usage.md): what `GET /usage` prices tokens with. Under `/etc/zo-bridge/` the bridge task reads it as is; elsewhere add it to `--allow-read`. " +
      "`deno task usage` reads the same variable to price on the client side instead.",
  },
  {
    name: "ZO_MAX_CONNECTIONS",
    default: String(DEFAULT_CONNECTION_LIMITS.maxConnections),
    usedBy: "bridge",
    description:
      "Most client connections at once. At the cap a newcomer takes the place of the longest " +
      "idle connection; when all are busy it gets 503 `busy`. Each costs 3 open files: keep " +
      "3 × this + 200 under the open-file limit (the systemd unit sets `LimitNOFILE=65536`).",
  },
  {
    name: "ZO_HEADER_TIMEOUT_MS",
    default: String(DEFAULT_CONNECTION_LIMITS.headerTimeoutMs),
    usedBy: "bridge",
    description: "Longest a request's header block may take to arrive, in ms; then the " +
      "connection is closed (slow-header attacks).",
  },
  {
    name: "ZO_IDLE_TIMEOUT_MS",
    default: String(DEFAULT_CONNECTION_LIMITS.idleTimeoutMs),
    usedBy: "bridge",
    description: "Longest a connection with no request in flight may stay silent, in ms; then " +
      "it is closed.",
  },
  {
    name: "ZO_BRIDGE_ID",
    default: "random",
    usedBy: "bridge",
    description: "This bridge's name among the bridges sharing one Chroma, stamped on every " +
      "event record it writes and owner of its part of each agent_state record (1-128 " +
      "characters; two running bridges must never share one). Give each bridge a stable one " +
      "(e.g. its host name): restarted after a crash under the same id, it counts, once, what " +
      "the crash left uncounted. Default: a random one per start (a crash then loses the " +
      "counts of its last second or so).",
  },
  {
    name: "ZO_USAGE_INDEX_RECORDS",
    default: String(DEFAULT_USAGE_INDEX_RECORDS),
    usedBy: "bridge",
    description:
      "Most usage records `GET /usage` keeps in memory to answer from (about 430 bytes each: " +
      "200,000 is some 90 MB). Beyond it, or at `0`, every request scans Chroma instead " +
      "(seconds at 30,000 records; the bridge logs a warning when it switches).",
  },
  {
    name: "ZO_QUERY_PAGE_BYTES",
    default: String(QUERY_LIMITS.pageBytes),
    usedBy: "bridge",
    description:
      "Most bytes of records (as serialized) in one `GET /query` page: the page stops before " +
      "the record that would pass it (one at least) and `next_cursor` continues from there. At " +
      "least `ZO_MAX_EVENT_BYTES`.",
  },
  {
    name: "ZO_QUERY_BYTES_IN_FLIGHT",
    default: String(DEFAULT_QUERY_BYTES_IN_FLIGHT),
    usedBy: "bridge",
    description:
      "Most bytes of records in `GET /query` pages being read or sent at once, over all " +
      "queries (bounds the bridge's memory); one key may hold a quarter. A page that does not " +
      "fit waits up to 5 s, then gets 429 `busy` with `Retry-After`. At least 4 × " +
      "`ZO_QUERY_PAGE_BYTES`.",
  },
  {
    name: "ZO_LIVE_POLL_MS",
    default: String(DEFAULT_LIVE_POLL_MS),
    usedBy: "bridge",
    description: "How often, in ms, a bridge with `GET /live` clients reads what the other " +
      "bridges on its Chroma stored, so every stream carries every bridge's events (100-60000). " +
      "No reads while no client listens. `0`: off, streams carry this bridge's events only (the " +
      "default with the embedded Chroma, which no other bridge shares).",
  },
  ...EMBEDDING_ENV_VARS,
];

/** Where the bridge stores events. */
export type ChromaTarget =
  | { kind: "embedded"; path: string }
  | { kind: "remote"; url: string; tenant: string; database: string; authToken?: string };

/** The bridge's settings. */
export interface BridgeConfig {
  port: number;
  hostname: string;
  chroma: ChromaTarget;
  /** Every configured key; empty means no authentication (loopback only). */
  keys: ApiKeyConfig[];
  metricsPublic: boolean;
  /** The second redaction pass at ingest (`ZO_INGEST_REDACTION`): on unless set to `off`. */
  ingestRedaction: boolean;
  limits: IngestLimits;
  groupCommit: Required<Omit<GroupCommitOptions, "onWrite" | "onStored">>;
  embedding: EmbeddingConfig;
  /** The price table of `GET /usage`: `ZO_PRICES_FILE`, else the committed one. */
  prices: Prices;
  /** Running on Deno Deploy. */
  deploy: boolean;
  /** Bounds on client connections (`connections.ts`); not used on Deno Deploy. */
  connections: ConnectionLimits;
  /** This bridge's id among those sharing one Chroma (`ZO_BRIDGE_ID`). */
  bridgeId: string;
  /** Most usage records `GET /usage` answers from in memory (`ZO_USAGE_INDEX_RECORDS`); 0: none. */
  usageIndexRecords: number;
  /** `GET /query` memory: bytes of a page, and of all pages being read or sent at once. */
  query: { pageBytes: number; bytesInFlight: number };
  /**
   * Ms between polls of the shared live feed (`ZO_LIVE_POLL_MS`); 0: off (the default with the
   * embedded Chroma, which no other bridge shares).
   */
  livePollMs: number;
}

/** Reads files named by the configuration; tests pass their own. */
export type FileReader = (path: string) => string;

/** True when `hostname` only accepts connections from this machine. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * True when `hostname` can be listened on by name: an IPv4 address (each part 0..255), an IPv6
 * address, or a DNS name. `999.1.1.1` is none of these.
 */
export function isValidHostname(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "");
  if (/^[\d.]+$/.test(host)) {
    const parts = host.split(".");
    return parts.length === 4 &&
      parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255);
  }
  if (host.includes(":")) {
    try {
      new URL(`http://[${host}]/`);
      return true;
    } catch {
      return false;
    }
  }
  return /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i
    .test(host);
}

/** Reads a file named by `variable`; a failure is a `ConfigError` saying how to fix it. */
function readNamedFile(variable: string, file: string, readFile: FileReader): string {
  try {
    return readFile(file);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "it does not exist"
      : error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied
      ? `put it under /etc/zo-bridge/ (which deno task bridge may read), or add --allow-read=${file}`
      : (error as Error).message;
    throw new ConfigError(`Cannot read ${variable}="${file}": ${why}`);
  }
}

/** The price table: `ZO_PRICES_FILE` when set, else the committed one. */
function readPrices(env: EnvReader, readFile: FileReader): Prices {
  const file = (env("ZO_PRICES_FILE") ?? "").trim();
  if (file === "") return builtinPrices();
  try {
    return parsePrices(readNamedFile("ZO_PRICES_FILE", file, readFile), file);
  } catch (error) {
    if (error instanceof TypeError) throw new ConfigError(error.message);
    throw error;
  }
}

function readKeys(env: EnvReader, readFile: FileReader): ApiKeyConfig[] {
  const keys: ApiKeyConfig[] = [];
  const single = (env("ZO_API_KEY") ?? "").trim();
  if (single !== "") {
    keys.push(checkedKey({ name: "ZO_API_KEY", scopes: ["admin"], secret: secretOf(single) }));
  }
  const list = env("ZO_API_KEYS") ?? "";
  if (list.trim() !== "") keys.push(...parseApiKeys(list, "ZO_API_KEYS"));
  const file = (env("ZO_API_KEYS_FILE") ?? "").trim();
  if (file !== "") {
    const text = readNamedFile("ZO_API_KEYS_FILE", file, readFile);
    keys.push(...parseApiKeys(text, "ZO_API_KEYS_FILE"));
  }
  return keys;
}

/**
 * Reads and checks the bridge's settings; throws `ConfigError` on a bad value, including a
 * bridge that would listen beyond loopback with no key, or one on Deno Deploy without
 * `CHROMA_URL`.
 */
export function loadBridgeConfig(
  env: EnvReader = (name) => Deno.env.get(name),
  options: { readFile?: FileReader } = {},
): BridgeConfig {
  const deploy = (env("DENO_DEPLOYMENT_ID") ?? "") !== "";
  const port = readWholeNumber(env, "PORT", DEFAULT_PORT, { min: 0, max: 65_535 });
  const hostname = (env("HOSTNAME") ?? "").trim() || DEFAULT_HOSTNAME;
  if (!isValidHostname(hostname)) {
    throw new ConfigError(
      `Cannot listen on HOSTNAME=${hostname}: it is not an IP address or host name; use e.g. 127.0.0.1 or 0.0.0.0`,
    );
  }
  const keys = readKeys(env, options.readFile ?? ((path) => Deno.readTextFileSync(path)));
  if (keys.length === 0 && (deploy || !isLoopback(hostname))) {
    throw new ConfigError(
      `Cannot listen on ${
        deploy ? "Deno Deploy" : `HOSTNAME=${hostname}`
      } without an API key: anyone who reaches it could write and read every event. Set ZO_API_KEY (or ZO_API_KEYS), or listen on 127.0.0.1`,
    );
  }

  const url = (env("CHROMA_URL") ?? "").trim();
  let chroma: ChromaTarget;
  if (url !== "") {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError(
        `Cannot use CHROMA_URL="${url}": it is not a URL like http://host:8000`,
      );
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new ConfigError(
        `Cannot use CHROMA_URL="${url}": it must start with http:// or https://`,
      );
    }
    const authToken = (env("CHROMA_AUTH_TOKEN") ?? "").trim();
    chroma = {
      kind: "remote",
      url: url.replace(/\/+$/, ""),
      tenant: (env("CHROMA_TENANT") ?? "").trim() || "default_tenant",
      database: (env("CHROMA_DATABASE") ?? "").trim() || "default_database",
      ...(authToken === "" ? {} : { authToken }),
    };
  } else if (deploy) {
    throw new ConfigError(
      "Cannot run on Deno Deploy without CHROMA_URL: there is no subprocess or file system for an embedded Chroma; point CHROMA_URL at a Chroma server (e.g. Chroma Cloud)",
    );
  } else {
    chroma = {
      kind: "embedded",
      path: (env("CHROMA_DB_PATH") ?? "").trim() || DEFAULT_CHROMA_DB_PATH,
    };
  }

  const maxEventBytes =
    loadSharedConfig((name) => name === "ZO_MAX_EVENT_BYTES" ? env(name) : undefined).maxEventBytes;
  const maxBatch = readWholeNumber(env, "ZO_INGEST_BATCH_EVENTS", DEFAULT_GROUP_COMMIT.maxBatch, {
    min: 1,
    max: 5_000,
  });
  const maxQueuedEvents = readWholeNumber(
    env,
    "ZO_INGEST_QUEUE_EVENTS",
    DEFAULT_GROUP_COMMIT.maxQueuedEvents,
    { min: Math.max(maxBatch, DEFAULT_INGEST_LIMITS.maxEvents), max: 1_000_000 },
  );
  const metricsText = (env("ZO_METRICS_PUBLIC") ?? "").trim().toLowerCase();
  if (!["", "0", "1", "true", "false"].includes(metricsText)) {
    throw new ConfigError(`Cannot use ZO_METRICS_PUBLIC="${metricsText}": set 1 or 0`);
  }
  const redactionText = (env("ZO_INGEST_REDACTION") ?? "").trim().toLowerCase();
  if (!["", "standard", "off"].includes(redactionText)) {
    throw new ConfigError(
      `Cannot use ZO_INGEST_REDACTION="${redactionText}": set standard (the default) or off`,
    );
  }
  const bridgeId = (env("ZO_BRIDGE_ID") ?? "").trim() || randomWriterId();
  if (bridgeId.length > 128 || !bridgeId.isWellFormed() || [...bridgeId].some((c) => c < " ")) {
    throw new ConfigError(
      "Cannot use ZO_BRIDGE_ID: give 1-128 printable characters, unique per bridge",
    );
  }
  const pageBytes = readWholeNumber(env, "ZO_QUERY_PAGE_BYTES", QUERY_LIMITS.pageBytes, {
    min: maxEventBytes,
    max: 256 * 1024 * 1024,
  });
  const bytesInFlight = readWholeNumber(
    env,
    "ZO_QUERY_BYTES_IN_FLIGHT",
    Math.max(DEFAULT_QUERY_BYTES_IN_FLIGHT, 4 * pageBytes),
    { min: 4 * pageBytes, max: 999_999_999 },
  );
  const livePollMs = readWholeNumber(
    env,
    "ZO_LIVE_POLL_MS",
    chroma.kind === "embedded" ? 0 : DEFAULT_LIVE_POLL_MS,
    { min: 0, max: 60_000 },
  );
  if (livePollMs > 0 && livePollMs < 100) {
    throw new ConfigError(
      `Cannot use ZO_LIVE_POLL_MS="${livePollMs}": set 0 (off) or a whole number from 100 to 60000`,
    );
  }
  return {
    port,
    hostname,
    chroma,
    bridgeId,
    livePollMs,
    keys,
    metricsPublic: metricsText === "1" || metricsText === "true",
    ingestRedaction: redactionText !== "off",
    limits: { ...DEFAULT_INGEST_LIMITS, maxEventBytes },
    groupCommit: {
      maxBatch,
      lingerMs: readWholeNumber(env, "ZO_INGEST_LINGER_MS", DEFAULT_GROUP_COMMIT.lingerMs, {
        min: 0,
        max: 1_000,
      }),
      maxInFlight: readWholeNumber(
        env,
        "ZO_INGEST_WRITES_IN_FLIGHT",
        DEFAULT_GROUP_COMMIT.maxInFlight,
        { min: 1, max: 64 },
      ),
      maxQueuedEvents,
    },
    embedding: loadEmbeddingConfig(env),
    prices: readPrices(env, options.readFile ?? ((path) => Deno.readTextFileSync(path))),
    deploy,
    connections: {
      maxConnections: readWholeNumber(
        env,
        "ZO_MAX_CONNECTIONS",
        DEFAULT_CONNECTION_LIMITS.maxConnections,
        { min: 1, max: 1_000_000 },
      ),
      headerTimeoutMs: readWholeNumber(
        env,
        "ZO_HEADER_TIMEOUT_MS",
        DEFAULT_CONNECTION_LIMITS.headerTimeoutMs,
        { min: 100, max: 600_000 },
      ),
      idleTimeoutMs: readWholeNumber(
        env,
        "ZO_IDLE_TIMEOUT_MS",
        DEFAULT_CONNECTION_LIMITS.idleTimeoutMs,
        { min: 100, max: 3_600_000 },
      ),
    },
    usageIndexRecords: readWholeNumber(
      env,
      "ZO_USAGE_INDEX_RECORDS",
      DEFAULT_USAGE_INDEX_RECORDS,
      { min: 0, max: 100_000_000 },
    ),
    query: { pageBytes, bytesInFlight },
  };
}
