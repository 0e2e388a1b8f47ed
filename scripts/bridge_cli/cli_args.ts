/**
 * The arguments of `deno task query` and `deno task tail`: the dashboard's filters as flags, the
 * bridge's URL and key from `ZO_BRIDGE_URL`/`ZO_API_KEY` (or `--url`/`--key`), `--json`.
 * Relative times (`--since=15m`) are read against the clock here, once.
 *
 * @module
 */

/** Which command the arguments are for: `tail` takes fewer flags (no paging, no `q`). */
export type CliCommand = "query" | "tail";

/** What the command runs with. */
export interface CliOptions {
  /** The bridge's base URL, without a trailing slash. */
  url: string;
  /** The API key (never printed); undefined for an open loopback bridge. */
  key?: string;
  /** NDJSON (tail) or one JSON document (query) instead of a table. */
  json: boolean;
  /** `GET /query` or `GET /live` parameters (filters, collection, text, q, since, until). */
  params: URLSearchParams;
  /** query: results per page (1..1000); tail: events to show from `--since` at most. */
  limit: number;
  /** query: follow `next_cursor` to the end (at most `max` results). */
  all: boolean;
  /** query with `--all`: most results read. */
  max: number;
}

/** The bridge of `deno task bridge` on this machine. */
export const DEFAULT_BRIDGE_URL = "http://127.0.0.1:8787";

/** Flag to parameter: short names, and the API's own names. */
const FILTER_FLAGS: Record<string, string> = {
  project: "project_id",
  project_id: "project_id",
  run: "run_id",
  run_id: "run_id",
  worker: "worker_id",
  worker_id: "worker_id",
  vm: "worker_id",
  session: "session_id",
  session_id: "session_id",
  type: "event_type",
  event_type: "event_type",
  hook: "hook_event_name",
  hook_event_name: "hook_event_name",
  tool: "tool_name",
  tool_name: "tool_name",
  level: "level",
  text: "text",
};

/** Flags only `query` takes. */
const QUERY_FLAGS: Record<string, string> = {
  q: "q",
  until: "until",
  collection: "collection",
  scope: "scope",
  status: "status",
};

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The usage text of a command. */
export function usage(command: CliCommand): string {
  const common = [
    "  --project=<id> --worker=<id> --run=<id> --session=<id>",
    "  --type=<event_type> --hook=<HookEventName> --tool=<name> --level=<debug|info|warn|error>",
    "  --text=<words>           full-text match in the redacted event",
    "  --url=<bridge>           default $ZO_BRIDGE_URL or " + DEFAULT_BRIDGE_URL,
    "  --key=<key>              default $ZO_API_KEY (prefer the variable: flags show in ps)",
    "  --json                   " +
    (command === "query" ? "the answer as JSON" : "one JSON event per line"),
  ];
  if (command === "query") {
    return [
      "Usage: deno task query [flags]   (events, or --collection=agent_state|artifacts|embeddings)",
      ...common,
      "  --q=<words>              semantic search (ranked by similarity)",
      "  --since=<time> --until=<time>   RFC 3339, Unix ms, or ago: 30s, 15m, 2h, 7d",
      "  --scope=<project|worker|run|session> --status=<active|idle|ended|error>   (agent_state)",
      "  --limit=<n>              results per page, 1..1000 (default 50)",
      "  --all                    every page (at most --max, default 10000)",
    ].join("\n");
  }
  return [
    "Usage: deno task tail [flags]   (follows new events live, like tail -f; Ctrl-C stops)",
    ...common,
    "  --since=<time>           first show what was stored since then (ago: 15m, or RFC 3339)",
    "  --limit=<n>              at most this many of those (default 1000)",
  ].join("\n");
}

/**
 * A time flag as the API takes it: RFC 3339 and Unix ms pass through; `<n><s|m|h|d>` is that
 * long before `nowMs`. Throws `TypeError` otherwise.
 */
export function parseTime(flag: string, text: string, nowMs: number): string {
  const ago = /^(\d{1,9})([smhd])$/.exec(text);
  if (ago) return String(nowMs - Number(ago[1]) * UNITS[ago[2]!]!);
  if (/^\d{1,15}$/.test(text) || Number.isFinite(Date.parse(text))) return text;
  throw new TypeError(
    `Cannot use --${flag}="${text}": give RFC 3339 (2026-11-24T10:00:00Z), Unix ms, or ago (15m, 2h, 7d)`,
  );
}

function whole(flag: string, text: string, min: number, max: number): number {
  const value = /^\d{1,7}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max)) {
    throw new TypeError(
      `Cannot use --${flag}="${text}": give a whole number from ${min} to ${max}`,
    );
  }
  return value;
}

/** Flags with a value that are not query parameters. */
const OTHER_VALUE_FLAGS = new Set(["since", "url", "key", "limit", "max"]);

/**
 * Reads the arguments; `"help"` when help was asked for. Throws `TypeError` naming a bad or
 * unknown flag. Each filter may be given once.
 */
export function parseCliArgs(
  command: CliCommand,
  args: readonly string[],
  options: { env: (name: string) => string | undefined; nowMs: number },
): CliOptions | "help" {
  const params = new URLSearchParams();
  let url = options.env("ZO_BRIDGE_URL")?.trim() || DEFAULT_BRIDGE_URL;
  let key = options.env("ZO_API_KEY")?.trim() || undefined;
  let json = false;
  let all = false;
  let limit = command === "query" ? 50 : 1_000;
  let max = 10_000;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "-h" || arg === "--help") return "help";
    const match = /^--([a-z_]+)(?:=(.*))?$/s.exec(arg);
    if (!match) throw new TypeError(`Cannot read "${arg}": flags look like --name=value`);
    const name = match[1]!;
    if (name === "json" || name === "all") {
      if (match[2] !== undefined) {
        throw new TypeError(`Cannot use --${name}=...: it takes no value`);
      }
      if (name === "json") json = true;
      else if (command === "query") all = true;
      else throw new TypeError("Cannot use --all with tail: it follows until stopped");
      continue;
    }
    const param = FILTER_FLAGS[name] ?? (command === "query" ? QUERY_FLAGS[name] : undefined);
    if (param === undefined && !OTHER_VALUE_FLAGS.has(name)) {
      throw new TypeError(`Cannot use --${name}: unknown flag (--help lists them)`);
    }
    let value = match[2];
    if (value === undefined) {
      value = args[++i];
      if (value === undefined) throw new TypeError(`Cannot use --${name}: it needs a value`);
    }
    if (param !== undefined) {
      if (params.has(param)) throw new TypeError(`Cannot use --${name} twice`);
      params.set(param, param === "until" ? parseTime(name, value, options.nowMs) : value);
      continue;
    }
    switch (name) {
      case "since":
        if (params.has("since")) throw new TypeError("Cannot use --since twice");
        params.set("since", parseTime(name, value, options.nowMs));
        break;
      case "url":
        url = value;
        break;
      case "key":
        key = value;
        break;
      case "limit":
        limit = whole(name, value, 1, command === "query" ? 1_000 : 100_000);
        break;
      case "max":
        max = whole(name, value, 1, 1_000_000);
        break;
      default:
        throw new TypeError(`Cannot use --${name}: unknown flag (--help lists them)`);
    }
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(
      `Cannot use the bridge URL "${url}": it is not a URL like ${DEFAULT_BRIDGE_URL}`,
    );
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new TypeError(
      `Cannot use the bridge URL "${url}": it must start with http:// or https://`,
    );
  }
  if (parsed.username || parsed.password) {
    throw new TypeError(
      "Cannot use a bridge URL with credentials in it: give the key in ZO_API_KEY",
    );
  }
  return {
    url: `${parsed.origin}${parsed.pathname.replace(/\/+$/, "")}`,
    ...(key ? { key } : {}),
    json,
    params,
    limit,
    all,
    max,
  };
}
