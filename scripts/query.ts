/**
 * Queries the bridge from a terminal with the dashboard's filters: events (or `agent_state`
 * records, artifacts, embeddings) as a table, or as JSON with `--json`. The bridge and key come
 * from `ZO_BRIDGE_URL` and `ZO_READ_KEY` (or `--url`, `--key`, `--key-file`; the old name
 * `ZO_API_KEY` still works, with a warning); the key is never printed.
 *
 *     deno task query [--project=<id>] [--worker=<id>] [--run=<id>] [--session=<id>]
 *       [--type=<event_type>] [--hook=<name>] [--tool=<name>] [--level=<level>]
 *       [--since=<time|15m>] [--until=<time>] [--text=<words>] [--q=<words>]
 *       [--collection=<name>] [--scope=<scope>] [--status=<status>]
 *       [--limit=<n>] [--all] [--max=<n>] [--json] [--url=<bridge>] [--key=<key>|--key-file=<file>]
 *
 * which runs
 *
 *     deno run --no-prompt --allow-net --allow-read=$HOME/.config/zo --allow-env=ZO_BRIDGE_URL,ZO_READ_KEY,ZO_API_KEY scripts/query.ts [flags]
 *
 * (narrower: `--allow-net=<bridge host:port>`; `--allow-read` is for a `--key-file`, which must
 * live under `~/.config/zo/`). Exit status: 0 on an answer, 1 when the bridge
 * refuses or cannot be reached, 2 on bad flags.
 *
 * @module
 */
import { BridgeError, queryAll } from "./bridge_cli/bridge_client.ts";
import type { CliOptions } from "./bridge_cli/cli_args.ts";
import { readCliOptions, terminalIo } from "./bridge_cli/cli_main.ts";
import { tableLines } from "./bridge_cli/table.ts";

/** Where the command writes: results to `out`, remarks to `note` (stderr). */
export interface QueryIo {
  out(text: string): void;
  note(text: string): void;
  /** Width of the terminal, for the table. */
  columns: number;
}

/** Runs one query and prints it; answers the exit status. */
export async function runQuery(options: CliOptions, io: QueryIo): Promise<number> {
  const collection = options.params.get("collection") ?? "events";
  const results: unknown[] = [];
  let more = false;
  try {
    const pages = queryAll(options, options.params, {
      pageSize: options.all ? 1_000 : options.limit,
      max: options.all ? options.max : options.limit,
    });
    for await (const page of pages) results.push(...page);
    more = results.length >= (options.all ? options.max : options.limit);
  } catch (error) {
    if (error instanceof BridgeError) {
      io.note(error.message);
      return 1;
    }
    throw error;
  }
  if (options.json) {
    io.out(`${JSON.stringify({ collection, results })}\n`);
  } else {
    io.out(`${tableLines(collection, results, { columns: io.columns }).join("\n")}\n`);
  }
  io.note(
    `${results.length} ${collection === "events" ? "event" : "record"}${
      results.length === 1 ? "" : "s"
    }${more ? " (there may be more: --all, --limit or narrower filters)" : ""}`,
  );
  return 0;
}

/** Reads the flags and runs the query; exits with its status. */
export async function main(): Promise<void> {
  const io = terminalIo();
  const options = readCliOptions("query", io);
  if (options === undefined) return;
  Deno.exit(await runQuery(options, io));
}

if (import.meta.main) {
  await main();
}
