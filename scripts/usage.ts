/**
 * `deno task usage`: token usage and cost of the fleet, from the bridge's `GET /usage`, as
 * tables (default) or JSON. With no report named, prints the daily, per-run and per-model
 * reports.
 *
 *     deno run --no-prompt --allow-net --allow-read=$HOME/.config/zo --allow-env=ZO_BRIDGE_URL,ZO_READ_KEY,ZO_API_KEY,ZO_PRICES_FILE scripts/usage.ts [daily|runs|models|sessions|workers|projects|agents]... [flags]
 *
 * - `ZO_BRIDGE_URL` (or `--url`): the bridge's base URL; default `http://127.0.0.1:8787`, like
 *   query and tail.
 * - `ZO_READ_KEY` (or `--key`, `--key-file <file>`): a key with the `read` scope. Never printed.
 *   The old name `ZO_API_KEY` still works, with a warning.
 * - `ZO_PRICES_FILE` (or `--prices=<file>`): price on this side with another table (see
 *   `scripts/usage/reprice.ts`); by default the bridge's prices are shown.
 * - Filters: `--project=`, `--worker=`, `--run=`, `--session=`, `--agent=`, `--model=`,
 *   `--since=`, `--until=` (RFC 3339, Unix ms, or ago: `7d`), `--utc-offset=+02:00` (day
 *   boundaries), `--limit=<groups>`; `--json` prints the answers as JSON. `--name value` works
 *   as well as `--name=value`; `--help` describes each flag.
 *
 * It may read files under `~/.config/zo/` only (`--allow-read=$HOME/.config/zo`, as query and
 * tail): key and price files go there; one elsewhere is refused with a line that says so. Exit
 * status 0, 1 when the bridge cannot answer, 2 on bad flags.
 *
 * @module
 */
import type { UsageReport } from "../bridge/usage/report.ts";
import { parseTime } from "./bridge_cli/cli_args.ts";
import {
  BRIDGE_ACCESS_FLAGS,
  type BridgeAccess as Access,
  bridgeAccess,
  type FlagSpecs,
  HELP_FLAG,
  helpText,
  jsonFlag,
  KEY_FILE_DIR,
  type ParsedFlags,
  parseFlags,
} from "./cli/flags.ts";
import type { UsageDimension } from "../bridge/usage/params.ts";
import { parsePrices, type Prices } from "../bridge/usage/prices.ts";
import { repriceReport } from "./usage/reprice.ts";
import { renderUsageTable } from "./usage/table.ts";

/** The reports by name: their title and what they group by. */
export const REPORTS: Record<string, { title: string; group_by: UsageDimension[] }> = {
  daily: { title: "Usage by day", group_by: ["day"] },
  runs: { title: "Usage by run", group_by: ["run"] },
  models: { title: "Usage by model", group_by: ["model"] },
  sessions: { title: "Usage by session", group_by: ["session"] },
  workers: { title: "Usage by worker (VM)", group_by: ["worker"] },
  projects: { title: "Usage by project", group_by: ["project"] },
  agents: { title: "Usage by subagent", group_by: ["agent"] },
};

/** The reports printed when none is named. */
export const DEFAULT_REPORTS = ["daily", "runs", "models"];

/** Filter flags: the `GET /usage` parameter each sets, and what it does. */
const FILTERS: Record<string, { param: string; value: string; description: string }> = {
  project: { param: "project_id", value: "<id>", description: "only this project" },
  worker: { param: "worker_id", value: "<id>", description: "only this worker (VM)" },
  run: { param: "run_id", value: "<id>", description: "only this run" },
  session: { param: "session_id", value: "<id>", description: "only this session" },
  agent: { param: "agent_id", value: "<id>", description: "only this subagent" },
  model: { param: "model", value: "<id>", description: "only this model" },
  since: {
    param: "since",
    value: "<time>",
    description: "from then on (RFC 3339, Unix ms, or ago: 30s, 15m, 2h, 7d)",
  },
  until: { param: "until", value: "<time>", description: "before then (same forms as --since)" },
  "utc-offset": {
    param: "utc_offset",
    value: "<±HH:MM>",
    description: "where days start (default +00:00)",
  },
  limit: { param: "limit", value: "<n>", description: "at most this many groups a report" },
};

const FLAGS: FlagSpecs = {
  ...Object.fromEntries(
    Object.entries(FILTERS).map((
      [name, filter],
    ) => [name, { type: "string", value: filter.value, description: filter.description }]),
  ),
  prices: {
    type: "string",
    value: "<file>",
    description: "price on this side with this table (default $ZO_PRICES_FILE; else the bridge's)",
  },
  ...BRIDGE_ACCESS_FLAGS,
  ...jsonFlag("the answers as JSON"),
  ...HELP_FLAG,
};

/** Usage text of `deno task usage`. */
export const USAGE_TEXT = helpText(
  `deno task usage [${Object.keys(REPORTS).join("|")}]... [flags]`,
  {
    summary:
      "Token usage and cost of the fleet from the bridge's GET /usage, as tables or --json.\n" +
      `With no report named, prints ${DEFAULT_REPORTS.join(", ")}. Flags take --name=value or ` +
      "--name value.",
    flags: FLAGS,
  },
);

/** Parsed command line. */
export interface UsageFlags {
  reports: string[];
  params: Record<string, string>;
  json: boolean;
  /** The raw `--url`, `--key`, `--key-file` values, for {@linkcode bridgeAccess}. */
  access: ParsedFlags["values"];
  prices?: string;
  help: boolean;
}

/** Parses the command line; throws `TypeError` naming what is wrong. */
export function parseUsageFlags(args: readonly string[], nowMs = Date.now()): UsageFlags {
  let parsed;
  try {
    parsed = parseFlags(args, FLAGS, { positionals: true });
  } catch (error) {
    throw new TypeError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const flags: UsageFlags = {
    reports: [],
    params: {},
    json: values.json === true,
    access: { url: values.url, key: values.key, "key-file": values["key-file"] },
    help: values.help === true,
  };
  if (typeof values.prices === "string") flags.prices = values.prices;
  for (const arg of positionals) {
    if (!Object.hasOwn(REPORTS, arg)) {
      throw new TypeError(
        `Cannot print report "${arg}": known reports are ${Object.keys(REPORTS).join(", ")}`,
      );
    }
    if (!flags.reports.includes(arg)) flags.reports.push(arg);
  }
  for (const [name, filter] of Object.entries(FILTERS)) {
    const value = values[name];
    if (typeof value !== "string") continue;
    if (value === "") throw new TypeError(`Cannot use --${name} "": give a value`);
    flags.params[filter.param] = name === "since" || name === "until"
      ? parseTime(name, value, nowMs)
      : value;
  }
  if (flags.reports.length === 0) flags.reports = [...DEFAULT_REPORTS];
  return flags;
}

/** Where the bridge is and how to reach it. */
export type BridgeAccess = Pick<Access, "url" | "key">;

/** One `GET /usage`; throws `Error` with the bridge's reason (never the key) when it fails. */
export async function fetchUsage(
  access: BridgeAccess,
  params: Record<string, string>,
): Promise<UsageReport> {
  const base = access.url.endsWith("/") ? access.url : `${access.url}/`;
  const url = new URL("usage", base);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  let response: Response;
  try {
    response = await fetch(url, {
      headers: access.key ? { authorization: `Bearer ${access.key}` } : {},
    });
  } catch (error) {
    throw new Error(`Cannot reach ${url.origin}: ${(error as Error).message}`);
  }
  const text = await response.text();
  if (!response.ok) {
    let reason = text.slice(0, 500);
    try {
      reason = JSON.parse(text).error ?? reason;
    } catch {
      // not JSON: the text as it came, cut short
    }
    throw new Error(`Cannot read usage from ${url.origin}: ${response.status} ${reason}`);
  }
  return JSON.parse(text) as UsageReport;
}

/** The answer of one report, priced by the bridge or, with `prices`, on this side. */
export async function usageReportOf(
  access: BridgeAccess,
  { report, params, prices }: { report: string; params: Record<string, string>; prices?: Prices },
): Promise<UsageReport> {
  const dimensions = REPORTS[report]!.group_by;
  if (prices === undefined) {
    return await fetchUsage(access, { ...params, group_by: dimensions.join(",") });
  }
  const withModel = dimensions.includes("model") ? dimensions : [...dimensions, "model"];
  const byModel = await fetchUsage(access, {
    ...params,
    group_by: withModel.join(","),
    limit: "10000",
  });
  return repriceReport(byModel, {
    dimensions,
    prices,
    limit: Number(params.limit ?? 1000),
  });
}

/** The prices table; one this task may not read says where it must go. */
async function readPricesFile(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw new Error(
        `Cannot read the prices file ${path}: this task may read files under ${KEY_FILE_DIR} ` +
          "only; move the file there",
      );
    }
    throw new Error(`Cannot read the prices file ${path}: ${(error as Error).message}`);
  }
}

function env(name: string): string | undefined {
  return Deno.env.get(name)?.trim() || undefined;
}

/** Prints the reports; see the module doc. */
export async function main(args: readonly string[] = Deno.args): Promise<void> {
  let flags: UsageFlags;
  let access: BridgeAccess;
  let prices: Prices | undefined;
  try {
    flags = parseUsageFlags(args);
    if (flags.help) {
      // deno-lint-ignore no-console -- asked for
      console.log(USAGE_TEXT);
      return;
    }
    access = bridgeAccess(flags.access, {
      env,
      // deno-lint-ignore no-console -- a warning for the person running it
      warn: (line) => console.error(line),
    });
    const pricesFile = flags.prices ?? env("ZO_PRICES_FILE");
    if (pricesFile !== undefined) {
      prices = parsePrices(await readPricesFile(pricesFile), pricesFile);
    }
  } catch (error) {
    // deno-lint-ignore no-console -- a person needs to know why nothing was printed
    console.error((error as Error).message);
    Deno.exit(2);
  }
  try {
    const answers: Record<string, UsageReport> = {};
    for (const report of flags.reports) {
      answers[report] = await usageReportOf(access, { report, params: flags.params, prices });
    }
    if (flags.json) {
      const body = flags.reports.length === 1 ? answers[flags.reports[0]!] : answers;
      // deno-lint-ignore no-console -- the output is the point
      console.log(JSON.stringify(body, null, 2));
      return;
    }
    const tables = flags.reports.map((name) =>
      renderUsageTable(REPORTS[name]!.title, answers[name]!)
    );
    // deno-lint-ignore no-console -- the output is the point
    console.log(tables.join("\n\n"));
  } catch (error) {
    // deno-lint-ignore no-console -- a person needs to know why nothing was printed
    console.error((error as Error).message);
    Deno.exit(1);
  }
}

if (import.meta.main) {
  await main();
}
