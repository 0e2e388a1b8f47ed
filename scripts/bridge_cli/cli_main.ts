/**
 * What `scripts/query.ts` and `scripts/tail.ts` share as entry points: reading their flags (help
 * on stdout, a bad flag is exit 2 with the usage) and writing to the terminal.
 *
 * @module
 */
import { type CliCommand, type CliOptions, parseCliArgs, usage } from "./cli_args.ts";

/** Where a command writes: results on stdout, notes on stderr, tables this wide. */
export interface TerminalIo {
  out: (text: string) => void;
  note: (text: string) => void;
  columns: number;
}

/** The terminal's width; 160 when stdout is not a terminal (a pipe keeps whole rows). */
function terminalColumns(): number {
  try {
    return Deno.stdout.isTerminal() ? Deno.consoleSize().columns : 160;
  } catch {
    return 160;
  }
}

/** Writes to this process's stdout and stderr. */
export function terminalIo(): TerminalIo {
  const encoder = new TextEncoder();
  return {
    out: (text) => Deno.stdout.writeSync(encoder.encode(text)),
    // deno-lint-ignore no-console -- a command-line tool's output is the point
    note: (text) => console.error(text),
    columns: terminalColumns(),
  };
}

/**
 * The flags of `command` from `Deno.args` and the environment; undefined once `--help` was
 * printed. Bad flags end the process with status 2 and the usage on stderr.
 */
export function readCliOptions(command: CliCommand, io: TerminalIo): CliOptions | undefined {
  let options;
  try {
    options = parseCliArgs(command, Deno.args, {
      env: (name) => Deno.env.get(name),
      nowMs: Date.now(),
      warn: io.note,
    });
  } catch (error) {
    io.note(`${(error as Error).message}\nRun with --help for the flags.`);
    Deno.exit(2);
  }
  if (options === "help") {
    io.out(`${usage(command)}\n`);
    return undefined;
  }
  return options;
}
