/**
 * The bridge's configuration, read from environment variables: where it listens, which Chroma it
 * uses, its API keys, and the ingest tuning. `config_vars.ts` lists every variable read here
 * with its default (the README's configuration table is generated from it); a bad value throws
 * `ConfigError` with a message saying how to fix it, never echoing a key.
 *
 * @module
 */
import {
  ConfigError,
  type EnvReader,
  loadSharedConfig,
  readWholeNumber,
} from "../shared/config.ts";
import { type ApiKeyConfig, checkedKey, parseApiKeys, secretOf } from "./auth.ts";
import { type EmbeddingConfig, loadEmbeddingConfig } from "./embeddings.ts";
import { builtinPrices, parsePrices, type Prices } from "./usage/prices.ts";
import type { GroupCommitOptions } from "./group_commit.ts";
import { DEFAULT_INGEST_LIMITS, type IngestLimits } from "./ingest_body.ts";
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from "./connections.ts";
import { randomWriterId } from "./chroma/writer_stamp.ts";
import { DEFAULT_USAGE_INDEX_RECORDS } from "./chroma/usage_index.ts";
import { DEFAULT_QUERY_BYTES_IN_FLIGHT } from "./query_budget.ts";
import { QUERY_LIMITS } from "./query_params.ts";
import { DEFAULT_LIVE_POLL_MS } from "./live_feed.ts";
import {
  DEFAULT_CHROMA_DB_PATH,
  DEFAULT_GROUP_COMMIT,
  DEFAULT_HOSTNAME,
  DEFAULT_PORT,
} from "./config_vars.ts";

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
