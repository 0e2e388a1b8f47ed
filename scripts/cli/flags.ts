/**
 * One argument parser for every command-line tool (`node:util`'s `parseArgs`, strict) and one
 * flag vocabulary: `--url`, `--key`/`--key-file`, `--json`, `--help`, each described in the
 * tool's help. Both `--name=value` and `--name value` are read; a flag given twice is refused
 * unless it is declared `multiple`.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** A flag error: the tool prints it (with a pointer to `--help`) and exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** One flag: its kind, a placeholder for its value in the help, and what it does. */
export interface FlagSpec {
  type: "string" | "boolean";
  /** Placeholder shown in the help, e.g. `<url>`. */
  value?: string;
  description: string;
  /** May be given more than once (all values kept). */
  multiple?: boolean;
  short?: string;
  /** Accepted but left out of the help (an alias, e.g. the API's own parameter name). */
  hidden?: boolean;
}

/** A tool's flags by name (without the dashes). */
export type FlagSpecs = Record<string, FlagSpec>;

/** What was read: each flag's value (strings as lists when `multiple`), and the positionals. */
export interface ParsedFlags {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** `--help`, the same in every tool. */
export const HELP_FLAG: FlagSpecs = {
  help: { type: "boolean", short: "h", description: "this text (exit 0)" },
};

/** `--json`, the same in every tool that prints results. */
export function jsonFlag(description = "the answer as JSON instead of a table"): FlagSpecs {
  return { json: { type: "boolean", description } };
}

/** The bridge URL of `deno task bridge` on this machine. */
export const DEFAULT_BRIDGE_URL = "http://127.0.0.1:8787";

/**
 * Where `deno task query`, `deno task tail` and `deno task usage` may read a `--key-file` (and
 * usage a prices table; `--allow-read=$HOME/.config/zo` in deno.json): the one place a read key
 * lives, so the tasks need no read access elsewhere.
 */
export const KEY_FILE_DIR = "~/.config/zo/";

/** `--url`, `--key`, `--key-file`: how a read tool (query, tail, usage) reaches the bridge. */
export const BRIDGE_ACCESS_FLAGS: FlagSpecs = {
  url: {
    type: "string",
    value: "<bridge>",
    description: `the bridge's base URL (default $ZO_BRIDGE_URL or ${DEFAULT_BRIDGE_URL})`,
  },
  key: {
    type: "string",
    value: "<key>",
    description:
      "a read-scope key (default $ZO_READ_KEY; prefer it or --key-file: flags show in ps)",
  },
  "key-file": {
    type: "string",
    value: "<file>",
    description: `read the key from this file's first line (query, tail: under ${KEY_FILE_DIR})`,
  },
};

function flagOf(message: string): string {
  return /'(--?[^' ]+)/.exec(message)?.[1] ?? "a flag";
}

/**
 * Parses `args` against `specs`; throws {@linkcode UsageError} with a sentence a person can act
 * on (unknown flag, missing value, a value given to a switch, a stray argument, a flag twice).
 */
export function parseFlags(
  args: readonly string[],
  specs: FlagSpecs,
  options: { positionals?: boolean } = {},
): ParsedFlags {
  const parserOptions: Record<
    string,
    { type: "string" | "boolean"; multiple: boolean; short?: string }
  > = {};
  for (const [name, spec] of Object.entries(specs)) {
    parserOptions[name] = {
      type: spec.type,
      multiple: spec.type === "string",
      ...(spec.short ? { short: spec.short } : {}),
    };
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: parserOptions,
      strict: true,
      allowPositionals: options.positionals === true,
    });
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      throw new UsageError(`Cannot use ${flagOf(message)}: unknown flag (--help lists them)`);
    }
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
      const arg = /'([^']*)'/.exec(message)?.[1] ?? "";
      throw new UsageError(`Cannot read "${arg}": flags look like --name=value`);
    }
    if (/does not take an argument/.test(message)) {
      throw new UsageError(`Cannot use ${flagOf(message)}=...: it takes no value`);
    }
    if (/argument missing|ambiguous/.test(message)) {
      throw new UsageError(`Cannot use ${flagOf(message)}: it needs a value`);
    }
    throw new UsageError(`Cannot read the flags: ${message.split("\n")[0]}`);
  }
  const values: ParsedFlags["values"] = {};
  for (const [name, value] of Object.entries(parsed.values)) {
    const spec = specs[name]!;
    if (Array.isArray(value) && !spec.multiple) {
      if (value.length > 1) throw new UsageError(`Cannot use --${name} twice`);
      values[name] = value[0];
    } else {
      values[name] = value as string | boolean | string[];
    }
  }
  return { values, positionals: parsed.positionals };
}

/**
 * The value of `--<name>` as a whole number from `min` to `max` (at most 7 digits); else a
 * `TypeError` that says what to give.
 */
export function wholeNumberFlag(
  name: string,
  text: string,
  range: { min: number; max: number },
): number {
  const value = /^\d{1,7}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= range.min && value <= range.max)) {
    throw new TypeError(
      `Cannot use --${name}="${text}": give a whole number from ${range.min} to ${range.max}`,
    );
  }
  return value;
}

/** The help text: a usage line, what the tool does, then each flag with its description. */
export function helpText(
  usage: string,
  options: { summary: string; flags: FlagSpecs; footer?: string },
): string {
  const rows = Object.entries(options.flags).filter(([, spec]) => !spec.hidden).map((
    [name, spec],
  ) =>
    [
      `  --${name}${spec.value ? ` ${spec.value}` : ""}`,
      spec.description,
    ] as const
  );
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  const lines = [
    `Usage: ${usage}`,
    "",
    options.summary,
    "",
    ...rows.map(([flag, text]) =>
      flag.length + 2 > width ? `${flag}\n${" ".repeat(width)}${text}` : flag.padEnd(width) + text
    ),
  ];
  if (options.footer) lines.push("", options.footer);
  return lines.join("\n");
}

/** Where a read tool's key came from, for warnings. */
export type KeySource = "--key" | "--key-file" | "ZO_READ_KEY" | "ZO_API_KEY" | "none";

/** Where the bridge is and the key to show it. */
export interface BridgeAccess {
  /** The base URL, without a trailing slash. */
  url: string;
  key?: string;
  keySource: KeySource;
}

/**
 * The bridge URL and read key from `--url`/`--key`/`--key-file`, else `ZO_BRIDGE_URL` and
 * `ZO_READ_KEY` (or the old `ZO_API_KEY`, with a warning). Throws {@linkcode UsageError}.
 */
export function bridgeAccess(
  values: ParsedFlags["values"],
  options: {
    env: (name: string) => string | undefined;
    readFile?: (path: string) => string;
    warn?: (line: string) => void;
  },
): BridgeAccess {
  const env = (name: string) => options.env(name)?.trim() || undefined;
  const url = (values.url as string | undefined) ?? env("ZO_BRIDGE_URL") ?? DEFAULT_BRIDGE_URL;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(
      `Cannot use the bridge URL "${url}": it is not a URL like ${DEFAULT_BRIDGE_URL}`,
    );
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new UsageError(
      `Cannot use the bridge URL "${url}": it must start with http:// or https://`,
    );
  }
  if (parsed.username || parsed.password) {
    throw new UsageError(
      "Cannot use a bridge URL with credentials in it: give the key in ZO_READ_KEY",
    );
  }
  const base = `${parsed.origin}${parsed.pathname.replace(/\/+$/, "")}`;
  if (values.key !== undefined && values["key-file"] !== undefined) {
    throw new UsageError("Cannot use both --key and --key-file: give one");
  }
  let key: string | undefined;
  let keySource: KeySource = "none";
  if (values.key !== undefined) {
    key = (values.key as string).trim();
    keySource = "--key";
  } else if (values["key-file"] !== undefined) {
    const path = values["key-file"] as string;
    const read = options.readFile ?? Deno.readTextFileSync;
    try {
      key = read(path).split("\n")[0]!.trim();
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) {
        throw new UsageError(
          `Cannot read --key-file ${path}: this task may read key files under ${KEY_FILE_DIR} ` +
            "only; move the file there, or set ZO_READ_KEY",
        );
      }
      throw new UsageError(`Cannot read --key-file ${path}: ${(error as Error).message}`);
    }
    if (key === "") throw new UsageError(`Cannot use --key-file ${path}: its first line is empty`);
    keySource = "--key-file";
  } else if (env("ZO_READ_KEY") !== undefined) {
    key = env("ZO_READ_KEY");
    keySource = "ZO_READ_KEY";
  } else if (env("ZO_API_KEY") !== undefined) {
    key = env("ZO_API_KEY");
    keySource = "ZO_API_KEY";
    options.warn?.(
      "Warning: ZO_API_KEY is the old name of the read key; set ZO_READ_KEY instead",
    );
  }
  return { url: base, ...(key ? { key } : {}), keySource };
}
