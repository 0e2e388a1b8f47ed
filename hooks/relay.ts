/**
 * The relay of one VM's log dir: ships the spool (`$ZO_LOG_DIR/spool/*.jsonl`) to
 * `ZO_EVENT_ENDPOINT` in gzip'd NDJSON batches with a durable checkpoint, keeps the spool within
 * `ZO_SPOOL_MAX_MB`, and accepts Claude Code's `"type": "http"` hooks on
 * `127.0.0.1:$ZO_RELAY_PORT`. One per log dir (a second one exits at once, quietly).
 *
 * Run with exactly these flags (`<log-dir>`: `$ZO_LOG_DIR`, absolute; `<endpoint-host>`: the
 * host[:port] of `ZO_EVENT_ENDPOINT`, left out when it is unset; `<port>`: `ZO_RELAY_PORT`, 8790
 * by default; `<deno>`: the deno binary, which it runs only to start the usage collector for
 * http hooks; `<install>/hooks`, `<install>/shared`: its own code, which the workers of its http
 * endpoint load with its permissions, and whose OTLP protobuf decoder it loads only for a protobuf
 * body, its npm packages from the Deno cache only; `hooks/pipeline/relay_launcher.ts` builds this
 * line):
 *
 *     deno run --no-config --no-remote --cached-only '--allow-env=ZO_*,CLAUDE_RUN_ID,CLAUDE_PROJECT_DIR,HOME' --allow-sys=hostname,uid --allow-read=<log-dir>,<install>/hooks,<install>/shared --allow-write=<log-dir> --allow-net=<endpoint-host>,127.0.0.1:<port> --allow-run=<deno> hooks/relay.ts [--on-demand | --service] [--port=<n>] [--no-http]
 *
 * - `--on-demand` (the default, as a hook starts it): exit after `ZO_RELAY_IDLE_SECONDS` with
 *   nothing to ship and no http hook request (`0` keeps it running).
 * - `--service`: run until SIGTERM or SIGINT, however long idle.
 * - `--port=<n>`: serve http hooks on this port instead of `ZO_RELAY_PORT` (0: any free port).
 * - `--no-http`: serve no http hooks; only ship.
 *
 * Exit status 0 when idle, stopped or when another relay already runs; 2 on bad flags or
 * settings (with one line on stderr saying why).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { loadVmConfig, logDirProblem } from "./pipeline/vm_config.ts";
import { runRelay } from "./pipeline/relay/relay.ts";

/** The relay's command-line flags. */
export interface RelayFlags {
  mode: "on-demand" | "service";
  /** Overrides `ZO_RELAY_PORT`; `null`: no http hooks. */
  port?: number | null;
  help: boolean;
}

/** Usage text of `hooks/relay.ts`. */
export const USAGE = "Usage: hooks/relay.ts [--on-demand | --service] [--port=<n>] [--no-http]\n" +
  "  --on-demand  exit after ZO_RELAY_IDLE_SECONDS with nothing to do (default)\n" +
  "  --service    run until SIGTERM/SIGINT\n" +
  "  --port=<n>   serve http hooks on 127.0.0.1:<n> instead of ZO_RELAY_PORT (0: any free port)\n" +
  "  --no-http    serve no http hooks";

/**
 * Parses the relay's flags with `node:util`'s `parseArgs`, the parser of every CLI here (the
 * relay cannot import `scripts/cli/flags.ts`: bootstrap copies only what a VM runs); throws
 * `TypeError` naming a bad one. Of `--on-demand` and `--service`, the last one given wins.
 */
export function parseRelayFlags(args: readonly string[]): RelayFlags {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        "on-demand": { type: "boolean" },
        service: { type: "boolean" },
        "no-http": { type: "boolean" },
        port: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
      tokens: true,
    });
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    const arg = /'([^' ]+)/.exec(message)?.[1] ?? message;
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && arg === "--port") {
      throw new TypeError(`Cannot use --port "": give a port from 0 to 65535`);
    }
    const why = code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" ? "it takes no value" : "unknown";
    throw new TypeError(`Cannot use flag "${arg}": ${why}\n${USAGE}`);
  }
  const flags: RelayFlags = { mode: "on-demand", help: parsed.values.help === true };
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== "option") continue;
    if (token.name === "on-demand") flags.mode = "on-demand";
    else if (token.name === "service") flags.mode = "service";
    else if (token.name === "no-http") flags.port = null;
    else if (token.name === "port") {
      const text = token.value ?? "";
      const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
      if (!(port >= 0 && port <= 65535)) {
        throw new TypeError(`Cannot use --port "${text}": give a port from 0 to 65535`);
      }
      flags.port = port;
    }
  }
  return flags;
}

/** Runs the relay until idle (on demand) or a signal (service), then exits the process. */
export async function main(args: readonly string[] = Deno.args): Promise<never> {
  let flags: RelayFlags;
  let config;
  try {
    flags = parseRelayFlags(args);
    config = loadVmConfig();
  } catch (error) {
    // deno-lint-ignore no-console -- the only way to tell a person the flags are wrong
    console.error(`Cannot start the relay: ${(error as Error).message}`);
    Deno.exit(2);
  }
  if (flags.help) {
    // deno-lint-ignore no-console -- asked for
    console.error(USAGE);
    Deno.exit(0);
  }
  // Someone else's (or a shared) log dir is refused, as hooks refuse it.
  const unsafe = logDirProblem(config.logDir);
  if (unsafe) {
    // deno-lint-ignore no-console -- the relay's operator reads stderr
    console.error(`Cannot start the relay: ${unsafe}`);
    Deno.exit(1);
  }
  const stop = new AbortController();
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => stop.abort());
  }
  await runRelay({
    config,
    idleMs: flags.mode === "on-demand" ? config.relayIdleSeconds * 1000 : 0,
    httpPort: flags.port,
    signal: stop.signal,
  });
  // Also ends a lock call still waiting on another relay's lock.
  Deno.exit(0);
}

if (import.meta.main) {
  await main();
}
