/**
 * Every environment variable the bridge reads, with its default and meaning (the README's
 * configuration table is generated from {@linkcode BRIDGE_ENV_VARS}), and the defaults
 * `config.ts` falls back to.
 *
 * @module
 */
import type { EnvVar } from "../shared/config.ts";
import { EMBEDDING_ENV_VARS } from "./embeddings.ts";
import type { GroupCommitOptions } from "./group_commit.ts";
import { DEFAULT_CONNECTION_LIMITS } from "./connections.ts";
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
