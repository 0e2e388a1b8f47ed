/**
 * The arguments of `deno task query` and `deno task tail`: the dashboard's filters as flags, the
 * bridge's URL and key from `ZO_BRIDGE_URL`/`ZO_READ_KEY` (or `--url`/`--key`/`--key-file`), `--json`.
 * Relative times (`--since=15m`) are read against the clock here, once.
 *
 * @module
 */
import { EVENT_TYPES, LEVELS } from "../../shared/contract.ts";
import { HOOK_EVENTS } from "../../shared/hook_events.ts";
import {
  BRIDGE_ACCESS_FLAGS,
  bridgeAccess,
  DEFAULT_BRIDGE_URL,
  type FlagSpecs,
  HELP_FLAG,
  helpText,
  jsonFlag,
  parseFlags,
  wholeNumberFlag,
} from "../cli/flags.ts";

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

export { DEFAULT_BRIDGE_URL };

/** A filter flag: the API parameter it sets, its placeholder and what it matches. */
interface FilterFlag {
  param: string;
  value: string;
  description: string;
  /** The API's own name, accepted too. */
  alias?: string;
  queryOnly?: boolean;
}

const FILTERS: Record<string, FilterFlag> = {
  project: { param: "project_id", value: "<id>", description: "events of this project" },
  worker: { param: "worker_id", value: "<id>", description: "of this worker (VM); also --vm" },
  run: { param: "run_id", value: "<id>", description: "of this run" },
  session: { param: "session_id", value: "<id>", description: "of this session (full id)" },
  type: {
    param: "event_type",
    value: "<event_type>",
    description: `of this event type (${EVENT_TYPES.join(", ")})`,
  },
  hook: {
    param: "hook_event_name",
    value: "<HookEventName>",
    description: "fired by this Claude Code hook (PreToolUse, Stop, ...)",
  },
  tool: { param: "tool_name", value: "<name>", description: "about this tool (Bash, Edit, ...)" },
  level: { param: "level", value: "<level>", description: `at this level (${LEVELS.join(", ")})` },
  text: { param: "text", value: "<words>", description: "full-text match in the redacted event" },
  q: {
    param: "q",
    value: "<words>",
    description: "semantic search (ranked by similarity)",
    queryOnly: true,
  },
  until: {
    param: "until",
    value: "<time>",
    description: "stored before then (RFC 3339, Unix ms, or ago: 30s, 15m, 2h, 7d)",
    queryOnly: true,
  },
  collection: {
    param: "collection",
    value: "<name>",
    description: "events (default), agent_state, artifacts or embeddings",
    queryOnly: true,
  },
  scope: {
    param: "scope",
    value: "<scope>",
    description: "agent_state: project, worker, run or session",
    queryOnly: true,
  },
  status: {
    param: "status",
    value: "<status>",
    description: "agent_state: active, idle, ended or error",
    queryOnly: true,
  },
};

/** The API's own parameter names, accepted as flags too. */
const ALIASES: Record<string, string> = {
  project_id: "project",
  run_id: "run",
  worker_id: "worker",
  vm: "worker",
  session_id: "session",
  event_type: "type",
  hook_event_name: "hook",
  tool_name: "tool",
};

function flagSpecs(command: CliCommand): FlagSpecs {
  const specs: FlagSpecs = {};
  for (const [name, filter] of Object.entries(FILTERS)) {
    if (filter.queryOnly && command !== "query") continue;
    specs[name] = { type: "string", value: filter.value, description: filter.description };
  }
  for (const [alias, name] of Object.entries(ALIASES)) {
    specs[alias] = { type: "string", description: `same as --${name}`, hidden: true };
  }
  specs.since = {
    type: "string",
    value: "<time>",
    description: command === "query"
      ? "stored since then (RFC 3339, Unix ms, or ago: 30s, 15m, 2h, 7d)"
      : "first show what was stored since then (ago: 15m, or RFC 3339)",
  };
  if (command === "query") {
    specs.limit = {
      type: "string",
      value: "<n>",
      description: "results per page, 1..1000 (default 50)",
    };
    specs.all = { type: "boolean", description: "every page (at most --max)" };
    specs.max = {
      type: "string",
      value: "<n>",
      description: "with --all: most results (default 10000)",
    };
  } else {
    specs.limit = {
      type: "string",
      value: "<n>",
      description: "at most this many of those (default 1000)",
    };
    specs.all = {
      type: "boolean",
      description: "refused: tail follows until stopped",
      hidden: true,
    };
  }
  return {
    ...specs,
    ...BRIDGE_ACCESS_FLAGS,
    ...jsonFlag(
      command === "query" ? "the answer as one JSON document" : "one JSON event per line",
    ),
    ...HELP_FLAG,
  };
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The usage text of a command, each flag described. */
export function usage(command: CliCommand): string {
  return command === "query"
    ? helpText("deno task query [flags]", {
      summary:
        "Queries the bridge with the dashboard's filters: events (or --collection=agent_state, artifacts,\n" +
        "embeddings) as a table, or --json. Flags take --name=value or --name value.",
      flags: flagSpecs("query"),
    })
    : helpText("deno task tail [flags]", {
      summary:
        "Follows new events live, like tail -f (Ctrl-C stops), with the same filters as query.",
      flags: flagSpecs("tail"),
    });
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

/** Hook event names (PreToolUse, ...), which people give to --type by mistake. */
const HOOK_NAMES = new Set(Object.keys(HOOK_EVENTS));

/**
 * Reads the arguments; `"help"` when help was asked for. Throws `TypeError` naming a bad or
 * unknown flag. Each filter may be given once.
 */
export function parseCliArgs(
  command: CliCommand,
  args: readonly string[],
  options: {
    env: (name: string) => string | undefined;
    nowMs: number;
    readFile?: (path: string) => string;
    warn?: (line: string) => void;
  },
): CliOptions | "help" {
  if (args.includes("--help") || args.includes("-h")) return "help";
  let values;
  try {
    ({ values } = parseFlags(args, flagSpecs(command)));
  } catch (error) {
    throw new TypeError((error as Error).message);
  }
  if (values.help) return "help";
  if (values.all && command === "tail") {
    throw new TypeError("Cannot use --all with tail: it follows until stopped");
  }
  const params = new URLSearchParams();
  // The order the flags were given in, so the parameters read as typed.
  const given = Object.keys(values).sort((a, b) => firstIndex(args, a) - firstIndex(args, b));
  for (const name of given) {
    if (name === "since") {
      params.set("since", parseTime("since", values.since as string, options.nowMs));
      continue;
    }
    const filter = FILTERS[ALIASES[name] ?? name];
    if (filter === undefined) continue;
    if (params.has(filter.param)) throw new TypeError(`Cannot use --${name} twice`);
    const value = values[name] as string;
    // The bridge lists the event types for any other value; a hook name needs the hint.
    if (filter.param === "event_type" && HOOK_NAMES.has(value)) {
      throw new TypeError(
        `Cannot use --${name}=${value}: ${value} is a hook name; give it as --hook=${value} ` +
          `(--type takes an event type: ${EVENT_TYPES.join(", ")})`,
      );
    }
    params.set(
      filter.param,
      filter.param === "until" ? parseTime(name, value, options.nowMs) : value,
    );
  }
  let access;
  try {
    access = bridgeAccess(values, options);
  } catch (error) {
    throw new TypeError((error as Error).message);
  }
  const limit = typeof values.limit === "string"
    ? wholeNumberFlag("limit", values.limit, { min: 1, max: command === "query" ? 1_000 : 100_000 })
    : command === "query"
    ? 50
    : 1_000;
  const max = typeof values.max === "string"
    ? wholeNumberFlag("max", values.max, { min: 1, max: 1_000_000 })
    : 10_000;
  return {
    url: access.url,
    ...(access.key ? { key: access.key } : {}),
    json: values.json === true,
    params,
    limit,
    all: values.all === true,
    max,
  };
}

function firstIndex(args: readonly string[], name: string): number {
  const index = args.findIndex((arg) => arg === `--${name}` || arg.startsWith(`--${name}=`));
  return index === -1 ? Number.MAX_SAFE_INTEGER : index;
}
