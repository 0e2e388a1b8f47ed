/**
 * `deno task usage`: token usage and cost of the fleet, from the bridge's `GET /usage`, as
 * tables (default) or JSON. With no report named, prints the daily, per-run and per-model
 * reports.
 *
 *     deno run --no-prompt --allow-net --allow-read --allow-env=ZO_BRIDGE_URL,ZO_API_KEY,ZO_PRICES_FILE scripts/usage.ts [daily|runs|models|sessions|workers|projects|agents]... [flags]
 *
 * - `ZO_BRIDGE_URL` (or `--url=`): the bridge's base URL, e.g. `https://telemetry.example.com/`.
 * - `ZO_API_KEY` (or `--key-file=<file>`): a key with the `read` scope. Never printed.
 * - `ZO_PRICES_FILE` (or `--prices=<file>`): price on this side with another table (see
 *   `scripts/usage/reprice.ts`); by default the bridge's prices are shown.
 * - Filters: `--project=`, `--worker=`, `--run=`, `--session=`, `--agent=`, `--model=`,
 *   `--since=`, `--until=` (RFC 3339 or Unix ms), `--utc-offset=+02:00` (day boundaries),
 *   `--limit=<groups>`; `--json` prints the answers as JSON.
 *
 * `--allow-read` is unscoped because the key and price files are named at run time. Exit status
 * 0, 1 when the bridge cannot answer, 2 on bad flags.
 *
 * @module
 */
import type { UsageReport } from "../bridge/usage/report.ts";
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

const FILTER_FLAGS: Record<string, string> = {
  project: "project_id",
  worker: "worker_id",
  run: "run_id",
  session: "session_id",
  agent: "agent_id",
  model: "model",
  since: "since",
  until: "until",
  "utc-offset": "utc_offset",
  limit: "limit",
};

/** Usage text of `deno task usage`. */
export const USAGE_TEXT =
  "Usage: deno task usage [daily|runs|models|sessions|workers|projects|agents]... [--json]\n" +
  "  [--since=<time>] [--until=<time>] [--project=<id>] [--worker=<id>] [--run=<id>]\n" +
  "  [--session=<id>] [--agent=<id>] [--model=<id>] [--utc-offset=±HH:MM] [--limit=<n>]\n" +
  "  [--url=<bridge>] [--key-file=<file>] [--prices=<file>]\n" +
  "Env: ZO_BRIDGE_URL, ZO_API_KEY (read scope), ZO_PRICES_FILE";

/** Parsed command line. */
export interface UsageFlags {
  reports: string[];
  params: Record<string, string>;
  json: boolean;
  url?: string;
  keyFile?: string;
  prices?: string;
  help: boolean;
}

/** Parses the command line; throws `TypeError` naming what is wrong. */
export function parseUsageFlags(args: readonly string[]): UsageFlags {
  const flags: UsageFlags = { reports: [], params: {}, json: false, help: false };
  for (const arg of args) {
    if (arg === "--json") flags.json = true;
    else if (arg === "--help" || arg === "-h") flags.help = true;
    else if (!arg.startsWith("-")) {
      if (!Object.hasOwn(REPORTS, arg)) {
        throw new TypeError(
          `Cannot print report "${arg}": known reports are ${Object.keys(REPORTS).join(", ")}`,
        );
      }
      if (!flags.reports.includes(arg)) flags.reports.push(arg);
    } else {
      const match = /^--([a-z-]+)=(.*)$/s.exec(arg);
      if (!match || match[2] === "") {
        throw new TypeError(`Cannot use flag "${arg}": give it as --name=value\n${USAGE_TEXT}`);
      }
      const [, name, value] = match as unknown as [string, string, string];
      if (name === "url") flags.url = value;
      else if (name === "key-file") flags.keyFile = value;
      else if (name === "prices") flags.prices = value;
      else if (Object.hasOwn(FILTER_FLAGS, name)) flags.params[FILTER_FLAGS[name]!] = value;
      else throw new TypeError(`Cannot use flag "--${name}": unknown\n${USAGE_TEXT}`);
    }
  }
  if (flags.reports.length === 0) flags.reports = [...DEFAULT_REPORTS];
  return flags;
}

/** Where the bridge is and how to reach it. */
export interface BridgeAccess {
  url: string;
  key?: string;
}

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
    const url = flags.url ?? env("ZO_BRIDGE_URL");
    if (url === undefined) {
      throw new TypeError("Cannot find the bridge: set ZO_BRIDGE_URL or give --url=<bridge>");
    }
    const key = flags.keyFile === undefined
      ? env("ZO_API_KEY")
      : (await Deno.readTextFile(flags.keyFile)).trim();
    access = key === undefined ? { url } : { url, key };
    const pricesFile = flags.prices ?? env("ZO_PRICES_FILE");
    if (pricesFile !== undefined) {
      prices = parsePrices(await Deno.readTextFile(pricesFile), pricesFile);
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
