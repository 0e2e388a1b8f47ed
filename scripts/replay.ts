/**
 * Ships a spool by hand: a log dir (`$ZO_LOG_DIR`, its `spool/`), a spool dir, a directory of
 * `.jsonl` envelope files, or one `.jsonl` file, to `ZO_EVENT_ENDPOINT` with the relay's
 * batching, retries, dead letters and quarantine, with a progress bar on stderr. It keeps its
 * own checkpoint (in `<dir>/.replay/` or `<file>.replay/`, or `--state-dir`), so a rerun resumes
 * where an interrupted one stopped; it never deletes what it ships.
 *
 *     deno task replay <dir-or-file> [--endpoint=<url>] [--state-dir=<dir>] [--restart]
 *       [--max-attempts=<n>] [--concurrency=<n>] [--batch-events=<n>]
 *
 * which runs
 *
 *     deno run --allow-read --allow-write --allow-net --allow-env=ZO_EVENT_ENDPOINT,ZO_API_KEY scripts/replay.ts <dir-or-file> [flags]
 *
 * (narrower: `--allow-read=<path>,<state-dir> --allow-write=<state-dir>
 * --allow-net=<endpoint-host>`). The API key comes from `ZO_API_KEY`.
 *
 * Exit status: 0 when everything was shipped (or dead-lettered, or quarantined: see the state
 * dir); 1 when the endpoint is unset, or unreachable or refusing the key after the retries
 * (rerun to resume); 2 on bad arguments.
 *
 * @module
 */
import { ConfigError } from "../shared/config.ts";
import { loadVmConfig } from "../hooks/pipeline/vm_config.ts";
import { createProgressBar } from "./replay/progress_bar.ts";
import { replayFiles, resolveReplayInput, runReplay } from "./replay/replay.ts";
import { DeliveryError } from "../hooks/pipeline/relay/shipper.ts";

/** The replay's arguments. */
export interface ReplayArgs {
  path: string;
  endpoint?: string;
  stateDir?: string;
  restart: boolean;
  maxAttempts?: number;
  concurrency?: number;
  batchEvents?: number;
}

/** Usage text. */
export const USAGE = "Usage: deno task replay <dir-or-file> [--endpoint=<url>] " +
  "[--state-dir=<dir>] [--restart] [--max-attempts=<n>] [--concurrency=<n>] [--batch-events=<n>]";

function whole(flag: string, text: string, max: number): number {
  const value = /^\d{1,7}$/.test(text) ? Number(text) : NaN;
  if (!(value >= 1 && value <= max)) {
    throw new TypeError(`Cannot use ${flag}="${text}": give a whole number from 1 to ${max}`);
  }
  return value;
}

/** Parses the replay's arguments; throws `TypeError` saying what is wrong. */
export function parseReplayArgs(args: readonly string[]): ReplayArgs {
  const parsed: Partial<ReplayArgs> & { restart: boolean } = { restart: false };
  for (const arg of args) {
    const [flag, value = ""] = arg.startsWith("--") ? arg.split(/=(.*)/s) : [arg];
    switch (flag) {
      case "--endpoint":
        parsed.endpoint = value;
        break;
      case "--state-dir":
        parsed.stateDir = value;
        break;
      case "--restart":
        parsed.restart = true;
        break;
      case "--max-attempts":
        parsed.maxAttempts = whole(flag, value, 1_000_000);
        break;
      case "--concurrency":
        parsed.concurrency = whole(flag, value, 64);
        break;
      case "--batch-events":
        parsed.batchEvents = whole(flag, value, 1_000);
        break;
      default:
        if (flag!.startsWith("-")) throw new TypeError(`Cannot use flag "${arg}": unknown`);
        if (parsed.path !== undefined) {
          throw new TypeError(`Cannot replay "${arg}": give one directory or file`);
        }
        parsed.path = arg;
    }
  }
  if (!parsed.path) throw new TypeError("Cannot replay: give the directory or file to ship");
  return parsed as ReplayArgs;
}

// deno-lint-ignore no-console -- the replay talks to the person who ran it on stderr
const say = (line: string) => console.error(line);

/** Runs a replay from the command line and exits with its status. */
export async function main(args: readonly string[] = Deno.args): Promise<never> {
  let parsed: ReplayArgs;
  try {
    parsed = parseReplayArgs(args);
  } catch (error) {
    say(`${(error as Error).message}\n${USAGE}`);
    Deno.exit(2);
  }
  const env = (name: string) =>
    name === "ZO_EVENT_ENDPOINT"
      ? parsed.endpoint ?? Deno.env.get(name)
      : name === "ZO_API_KEY"
      ? Deno.env.get(name)
      : undefined;
  let endpoint: URL | undefined;
  let apiKey: string | undefined;
  try {
    ({ endpoint, apiKey } = loadVmConfig(env));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    say(error.message);
    Deno.exit(1);
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
