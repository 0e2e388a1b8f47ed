/**
 * Ships a spool by hand: a log dir (`$ZO_LOG_DIR`, its `spool/`), a spool dir, a directory of
 * `.jsonl` envelope files, or one `.jsonl` file, to `ZO_EVENT_ENDPOINT` with the relay's
 * batching, retries, dead letters and quarantine, with a progress bar on stderr. It keeps its
 * own checkpoint (in `<dir>/.replay/` or `<file>.replay/`, or `--state-dir`), so a rerun resumes
 * where an interrupted one stopped; it never deletes what it ships.
 *
 *     deno task replay <dir-or-file> [--endpoint=<url>] [--key-file=<file>] [--state-dir=<dir>] [--restart]
 *       [--max-attempts=<n>] [--concurrency=<n>] [--batch-events=<n>]
 *
 * which runs
 *
 *     deno run --allow-read --allow-write --allow-net --allow-env=ZO_EVENT_ENDPOINT,ZO_INGEST_KEY,ZO_API_KEY scripts/replay.ts <dir-or-file> [flags]
 *
 * (narrower: `--allow-read=<path>,<state-dir> --allow-write=<state-dir>
 * --allow-net=<endpoint-host>`). The ingest key comes from `--key-file` (its first line), `--key`, or
 * `ZO_INGEST_KEY` (the old name `ZO_API_KEY` still works).
 *
 * Exit status: 0 when everything was shipped (or dead-lettered, or quarantined: see the state
 * dir); 1 when the endpoint is unset, or unreachable or refusing the key after the retries
 * (rerun to resume); 2 on bad arguments.
 *
 * @module
 */
import { ConfigError } from "../shared/config.ts";
import { type FlagSpecs, HELP_FLAG, helpText, parseFlags, wholeNumberFlag } from "./cli/flags.ts";
import { loadVmConfig } from "../hooks/pipeline/vm_config.ts";
import { createProgressBar } from "./replay/progress_bar.ts";
import { replayFiles, resolveReplayInput, runReplay } from "./replay/replay.ts";
import { DeliveryError } from "../hooks/pipeline/relay/shipper.ts";

/** The replay's arguments. */
export interface ReplayArgs {
  path: string;
  endpoint?: string;
  /** `--key`: the ingest key itself. */
  key?: string;
  /** `--key-file`: a file whose first line is the ingest key. */
  keyFile?: string;
  stateDir?: string;
  restart: boolean;
  maxAttempts?: number;
  concurrency?: number;
  batchEvents?: number;
}

const FLAGS: FlagSpecs = {
  endpoint: {
    type: "string",
    value: "<url>",
    description: "the bridge's ingest URL (default $ZO_EVENT_ENDPOINT)",
  },
  "key-file": {
    type: "string",
    value: "<file>",
    description: "the ingest key from this file's first line (default $ZO_INGEST_KEY)",
  },
  key: {
    type: "string",
    value: "<key>",
    description: "the ingest key itself (it then sits in your shell history: prefer the above)",
  },
  "state-dir": {
    type: "string",
    value: "<dir>",
    description: "where the replay keeps its checkpoint (default <dir>/.replay/ or <file>.replay/)",
  },
  restart: { type: "boolean", description: "forget the checkpoint: ship everything again" },
  "max-attempts": {
    type: "string",
    value: "<n>",
    description: "tries per batch before giving up (1..1000000)",
  },
  concurrency: { type: "string", value: "<n>", description: "batches in flight (1..64)" },
  "batch-events": { type: "string", value: "<n>", description: "events per batch (1..1000)" },
  ...HELP_FLAG,
};

/** Usage text. */
export const USAGE = helpText("deno task replay <dir-or-file> [flags]", {
  summary:
    "Ships a spool, a log dir, a directory of .jsonl files or one .jsonl file to the bridge\n" +
    "by hand, with a progress bar on stderr; a rerun resumes where an interrupted one stopped.\n" +
    "The key comes from --key-file, --key or $ZO_INGEST_KEY (the old name ZO_API_KEY still works).",
  flags: FLAGS,
});

/** Parses the replay's arguments (`"help"` when asked); throws `TypeError` saying what is wrong. */
export function parseReplayArgs(args: readonly string[]): ReplayArgs | "help" {
  let parsed;
  try {
    parsed = parseFlags(args, FLAGS, { positionals: true });
  } catch (error) {
    throw new TypeError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return "help";
  if (positionals.length > 1) {
    throw new TypeError(`Cannot replay "${positionals[1]}": give one directory or file`);
  }
  const path = positionals[0];
  if (!path) throw new TypeError("Cannot replay: give the directory or file to ship");
  const text = (name: string) => values[name] as string | undefined;
  const result: ReplayArgs = { path, restart: values.restart === true };
  if (text("endpoint") !== undefined) result.endpoint = text("endpoint");
  if (text("key") !== undefined && text("key-file") !== undefined) {
    throw new TypeError("Cannot use both --key and --key-file: give one");
  }
  if (text("key") !== undefined) result.key = text("key");
  if (text("key-file") !== undefined) result.keyFile = text("key-file");
  if (text("state-dir") !== undefined) result.stateDir = text("state-dir");
  if (text("max-attempts") !== undefined) {
    result.maxAttempts = wholeNumberFlag("max-attempts", text("max-attempts")!, {
      min: 1,
      max: 1_000_000,
    });
  }
  if (text("concurrency") !== undefined) {
    result.concurrency = wholeNumberFlag("concurrency", text("concurrency")!, { min: 1, max: 64 });
  }
  if (text("batch-events") !== undefined) {
    result.batchEvents = wholeNumberFlag("batch-events", text("batch-events")!, {
      min: 1,
      max: 1_000,
    });
  }
  return result;
}

// deno-lint-ignore no-console -- the replay talks to the person who ran it on stderr
const say = (line: string) => console.error(line);

/** Runs a replay from the command line and exits with its status. */
export async function main(args: readonly string[] = Deno.args): Promise<never> {
  let parsed: ReplayArgs;
  try {
    const read = parseReplayArgs(args);
    if (read === "help") {
      // deno-lint-ignore no-console -- asked for
      console.log(USAGE);
      Deno.exit(0);
    }
    parsed = read;
  } catch (error) {
    say(`${(error as Error).message}\nRun with --help for the flags.`);
    Deno.exit(2);
  }
  const env = (name: string) =>
    name === "ZO_EVENT_ENDPOINT"
      ? parsed.endpoint ?? Deno.env.get(name)
      : name === "ZO_INGEST_KEY" || name === "ZO_API_KEY"
      ? Deno.env.get(name)
      : undefined;
  let endpoint: URL | undefined;
  let apiKey: string | undefined;
  let apiKeyVariable: string | undefined;
  try {
    ({ endpoint, apiKey, apiKeyVariable } = loadVmConfig(env, { needsLogDir: false }));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    say(error.message);
    Deno.exit(1);
  }
  if (parsed.key !== undefined) {
    apiKey = parsed.key || undefined;
    apiKeyVariable = "--key";
  } else if (parsed.keyFile !== undefined) {
    try {
      apiKey = (await Deno.readTextFile(parsed.keyFile)).split("\n")[0]!.trim() || undefined;
    } catch (error) {
      say(`Cannot read --key-file ${parsed.keyFile}: ${(error as Error).message}`);
      Deno.exit(1);
    }
    apiKeyVariable = "--key-file";
  }
  if (!endpoint) {
    say(
      "Cannot replay: ZO_EVENT_ENDPOINT is not set; set it (or pass --endpoint=<url>) to the " +
        "bridge's ingest URL, e.g. https://telemetry.example.com/ingest",
    );
    Deno.exit(1);
  }
  try {
    await resolveReplayInput(parsed.path);
  } catch (error) {
    say(`Cannot replay ${parsed.path}: ${(error as Error).message}`);
    Deno.exit(1);
  }

  const bar = createProgressBar();
  let last: Parameters<typeof bar.update>[0] | undefined;
  const stop = new AbortController();
  Deno.addSignalListener("SIGINT", () => stop.abort());
  try {
    const result = await runReplay({
      path: parsed.path,
      endpoint,
      apiKey,
      apiKeyVariable,
      stateDir: parsed.stateDir,
      restart: parsed.restart,
      maxAttempts: parsed.maxAttempts,
      concurrency: parsed.concurrency,
      batch: parsed.batchEvents ? { maxEvents: parsed.batchEvents } : undefined,
      signal: stop.signal,
      log: () => {}, // the progress bar and the final message say it
      onProgress: (progress) => {
        last = progress;
        bar.update(progress);
      },
    });
    bar.finish(result);
    const state = parsed.stateDir ?? (await resolveReplayInput(parsed.path)).stateDir;
    const files = replayFiles(state);
    say(
      `Replayed ${result.shipped} events to ${endpoint.origin}${endpoint.pathname}` +
        (result.deadLettered ? `; ${result.deadLettered} refused, see ${files.deadLetter}` : "") +
        (result.quarantined
          ? `; ${result.quarantined} corrupt lines, see ${files.quarantine}`
          : ""),
    );
    Deno.exit(0);
  } catch (error) {
    if (last) bar.finish(last);
    if (error instanceof DeliveryError) {
      say(
        error.aborted
          ? `Replay stopped after ${last?.done ?? 0} of ${
            last?.total ?? 0
          } lines; run it again to resume`
          : `${error.message}. ${last?.done ?? 0} of ${
            last?.total ?? 0
          } lines done; run the same command again to resume`,
      );
    } else {
      say(`Cannot replay ${parsed.path}: ${(error as Error).message}`);
    }
    Deno.exit(1);
  }
}

if (import.meta.main) {
  await main();
}
