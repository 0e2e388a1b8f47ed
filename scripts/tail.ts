/**
 * Follows the fleet live, like `tail -f`: every event the bridge stores that matches the filters
 * is printed as it arrives (a table row, or one JSON object per line with `--json`), from
 * `GET /live`. `--since=15m` first prints what was stored since then. When the stream breaks
 * (the bridge restarts, or dropped this reader as too slow) it reconnects with backoff and fills
 * the gap from `GET /query`, printing each event once. Ctrl-C stops it.
 *
 *     deno task tail [--project=<id>] [--worker=<id>] [--run=<id>] [--session=<id>]
 *       [--type=<event_type>] [--hook=<name>] [--tool=<name>] [--level=<level>]
 *       [--text=<words>] [--since=<time|15m>] [--limit=<n>] [--json] [--url=<bridge>]
 *
 * which runs
 *
 *     deno run --no-prompt --allow-net --allow-read=$HOME/.config/zo --allow-env=ZO_BRIDGE_URL,ZO_READ_KEY,ZO_API_KEY scripts/tail.ts [flags]
 *
 * The bridge and key come from `ZO_BRIDGE_URL` and `ZO_READ_KEY` (or `--url`, `--key`,
 * `--key-file` under `~/.config/zo/`; the old `ZO_API_KEY` works with a warning); the key
 * is never printed. Exit status: 1 when the bridge refuses the key or the filters, 2 on bad
 * flags; otherwise it runs until stopped.
 *
 * @module
 */
import { BridgeError, followLive, queryAll } from "./bridge_cli/bridge_client.ts";
import type { CliOptions } from "./bridge_cli/cli_args.ts";
import { readCliOptions, terminalIo } from "./bridge_cli/cli_main.ts";
import { tableLines } from "./bridge_cli/table.ts";

/** Where tail writes: events to `out`, its state (connected, reconnecting) to `note`. */
export interface TailIo {
  out(text: string): void;
  note(text: string): void;
  columns: number;
}

/** Event ids printed lately: a reconnect's catch-up overlaps what the stream already gave. */
const REMEMBERED_IDS = 20_000;

/**
 * Follows until `signal` aborts; answers the exit status (1 when the bridge refuses the
 * request, 0 when stopped).
 */
export async function runTail(
  options: CliOptions,
  io: TailIo,
  signal: AbortSignal,
): Promise<number> {
  const live = new URLSearchParams(options.params);
  live.delete("since");
  const seen = new Set<string>();
  let lastTsMs: number | undefined;
  if (!options.json) io.out(`${tableLines("events", [], { columns: io.columns }).join("\n")}\n`);

  const emit = (event: Record<string, unknown>) => {
    const id = String(event.event_id);
    if (seen.has(id)) return;
    seen.add(id);
    if (seen.size > REMEMBERED_IDS) seen.delete(seen.values().next().value!);
    const ts = typeof event.ts === "string" ? Date.parse(event.ts) : NaN;
    if (Number.isFinite(ts)) lastTsMs = Math.max(lastTsMs ?? ts, ts);
    io.out(
      options.json
        ? `${JSON.stringify(event)}\n`
        : `${tableLines("events", [event], { columns: io.columns, header: false })[0]}\n`,
    );
  };

  /** Prints what was stored since `since` (Unix ms or RFC 3339), in order. */
  const catchUp = async (since: string) => {
    const params = new URLSearchParams(live);
    params.set("since", since);
    for await (const page of queryAll(options, params, { pageSize: 1_000, max: options.limit })) {
      for (const event of page) emit(event as Record<string, unknown>);
    }
  };

  let connected = false;
  let lostAt: number | undefined;
  let attempt = 0;
  while (!signal.aborted) {
    try {
      for await (const item of followLive(options, live, signal)) {
        if (item.kind === "event") {
          emit(item.event);
          continue;
        }
        attempt = 0;
        if (!connected) {
          io.note(`Following ${options.url}/live${live.size ? `?${live}` : ""} (Ctrl-C stops)`);
          const since = options.params.get("since");
          if (since !== null) await catchUp(since);
        } else {
          io.note("Reconnected; catching up");
          // From the last event printed, or when the stream broke if nothing was printed yet.
          const from = lastTsMs ?? lostAt;
          if (from !== undefined) await catchUp(String(from));
        }
        connected = true;
        lostAt = undefined;
      }
    } catch (error) {
      if (signal.aborted) break;
      if (error instanceof BridgeError && error.status >= 400 && error.status < 500) {
        io.note(error.message);
        return 1;
      }
      io.note(error instanceof Error ? error.message : String(error));
    }
    if (signal.aborted) break;
    lostAt ??= Date.now();
    const wait = Math.min(500 * 2 ** attempt, 15_000);
    attempt++;
    io.note(`The live stream ended; reconnecting in ${(wait / 1_000).toFixed(1)} s`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, wait);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }
  return 0;
}

/** Reads the flags and follows until Ctrl-C. */
export async function main(): Promise<void> {
  const io = terminalIo();
  const options = readCliOptions("tail", io);
  if (options === undefined) return;
  const stop = new AbortController();
  Deno.addSignalListener("SIGINT", () => stop.abort());
  Deno.exit(await runTail(options, io, stop.signal));
}

if (import.meta.main) {
  await main();
}
