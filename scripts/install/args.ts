/**
 * Command-line flags of `scripts/bootstrap.ts` and `scripts/doctor.ts`, parsed by the CLIs' one
 * parser (`scripts/cli/flags.ts`: strict, an unknown flag or a stray argument is an error, exit 2).
 *
 * @module
 */
import {
  type FlagSpecs,
  HELP_FLAG,
  helpText,
  jsonFlag,
  type ParsedFlags,
  parseFlags,
  UsageError,
} from "../cli/flags.ts";
import { DEFAULT_INSTALL_DIR, type HookType } from "./layout.ts";

export { UsageError };

/** Where `--settings` merges the hooks block: none, `~/.claude/`, or `<cwd>/.claude/`. */
export type SettingsScope = "user" | "project" | "none";

const BOOTSTRAP_FLAGS: FlagSpecs = {
  "install-dir": {
    type: "string",
    value: "<dir>",
    description: `where to install (default ${DEFAULT_INSTALL_DIR})`,
  },
  endpoint: {
    type: "string",
    value: "<url>",
    description:
      "the bridge's ingest URL, e.g. https://telemetry.example.com/ingest (no path: /ingest)",
  },
  "key-file": {
    type: "string",
    value: "<file>",
    description: "an ingest key from this file's first line (or ZO_INGEST_KEY in the environment)",
  },
  key: {
    type: "string",
    value: "<key>",
    description: "the ingest key itself (it then sits in your shell history: prefer the above)",
  },
  "api-key-file": { type: "string", description: "old name of --key-file", hidden: true },
  "api-key": { type: "string", description: "old name of --key", hidden: true },
  "project-id": {
    type: "string",
    value: "<id>",
    description: "project_id of every event from this VM (the key's project, if it is bound)",
  },
  "worker-id": {
    type: "string",
    value: "<id>",
    description: "worker_id of every event (default: the host name, pseudonymised)",
  },
  "log-dir": {
    type: "string",
    value: "<dir>",
    description: "spool and relay state (default $HOME/.local/state/zo-telemetry)",
  },
  "salt-file": {
    type: "string",
    value: "<file>",
    description: "ZO_REDACTION_SALT from this file's first line: one salt for the whole fleet " +
      "(default: keep this install's, or make one)",
  },
  "relay-port": {
    type: "string",
    value: "<port>",
    description: "ZO_RELAY_PORT, the loopback port of this install's relay (default: one of " +
      'its own, derived from the install dir; "" picks it again)',
  },
  settings: {
    type: "string",
    value: "<where>",
    description: "merge the hooks block into user (~/.claude/settings.json), project " +
      "(./.claude/settings.json) or none (default)",
  },
  "hook-type": {
    type: "string",
    value: "<type>",
    description: "command (default: a wrapper per event) or http (the relay's loopback endpoint; " +
      "run the relay as a service, see <install>/systemd/)",
  },
  "no-otel": {
    type: "boolean",
    description: "leave Claude Code's OpenTelemetry export off (default: the settings' env block " +
      "turns it on and points it at this install's relay)",
  },
  "otel-log-prompts": {
    type: "boolean",
    description:
      "OTEL_LOG_USER_PROMPTS=1: prompt text in Claude Code's telemetry (redacted on the VM)",
  },
  "otel-log-tool-details": {
    type: "boolean",
    description:
      "OTEL_LOG_TOOL_DETAILS=1: tool parameters in Claude Code's telemetry (redacted on the VM)",
  },
  "otlp-protobuf": {
    type: "boolean",
    description: "cache the relay's OTLP protobuf decoder (npm, ~40 MB, fetched now) so it takes " +
      "http/protobuf exports too (default: OTLP/HTTP JSON, which the env block sets)",
  },
  "print-settings": {
    type: "boolean",
    description:
      "print the --hook-type settings block on stdout (it is also in <install>/settings/)",
  },
  "dry-run": { type: "boolean", description: "say what would be done; write nothing" },
  uninstall: {
    type: "boolean",
    description: "remove the hooks from the settings and what bootstrap put in the install dir " +
      "(the log dir and its events stay)",
  },
  ...HELP_FLAG,
};

/** Usage text of `deno task bootstrap`. */
export const BOOTSTRAP_USAGE = helpText("deno task bootstrap [flags]", {
  summary:
    "Installs the Claude Code telemetry hooks on this VM: copies what the hooks run into the\n" +
    "install dir, caches it, writes <install>/.env (0600), the wrappers in <install>/bin/ and the\n" +
    "settings blocks in <install>/settings/. Progress goes to stderr; stdout stays empty unless\n" +
    "--print-settings asks for the block.",
  flags: BOOTSTRAP_FLAGS,
  footer:
    'Values left out on a re-run keep what <install>/.env has; "" removes one (e.g. --worker-id "").',
});

const DOCTOR_FLAGS: FlagSpecs = {
  "install-dir": {
    type: "string",
    value: "<dir>",
    description: `the install to check (default ${DEFAULT_INSTALL_DIR})`,
  },
  settings: {
    type: "string",
    value: "<where>",
    description: "check user (~/.claude/settings.json) or project (./.claude/settings.json) " +
      "settings, or none (default: the files bootstrap merged into)",
  },
  ...jsonFlag("the checks as JSON"),
  ...HELP_FLAG,
};

/** Usage text of `deno task doctor`. */
export const DOCTOR_USAGE = helpText("deno task doctor [flags]", {
  summary:
    "Checks an install: deno, the installed files, the .env, the endpoint and key (and its\n" +
    "project), the Claude Code settings, the relay (its key and port) and the backlog. Exit 1\n" +
    "when a check fails; each failure says how to fix it.",
  flags: DOCTOR_FLAGS,
});

/** Flags of bootstrap. Paths are as given (the caller resolves them). */
export interface BootstrapFlags {
  help: boolean;
  installDir: string;
  endpoint?: string;
  apiKey?: string;
  apiKeyFile?: string;
  /** `--salt-file`: the fleet's one redaction salt. */
  saltFile?: string;
  /** `--print-settings`: the block of `hookType` on stdout. */
  printSettings: boolean;
  projectId?: string;
  workerId?: string;
  logDir?: string;
  /** `--relay-port`: `ZO_RELAY_PORT`; `""` derives it again. */
  relayPort?: string;
  settings: SettingsScope;
  hookType: HookType;
  dryRun: boolean;
  uninstall: boolean;
  /** Claude Code's OpenTelemetry export: off (`--no-otel`), or on with what detail. */
  otel: { enabled: boolean; logPrompts: boolean; logToolDetails: boolean };
  /** `--otlp-protobuf`: cache the relay's protobuf decoder. */
  otlpProtobuf: boolean;
}

function parse(args: readonly string[], specs: FlagSpecs): ParsedFlags["values"] {
  return parseFlags(args, specs).values;
}

function oneOf<T extends string>(flag: string, value: unknown, allowed: readonly T[]): T {
  if (allowed.includes(value as T)) return value as T;
  throw new UsageError(`Cannot use ${flag} "${value}": use one of ${allowed.join(", ")}`);
}

/** Parses bootstrap's flags; throws {@linkcode UsageError}. */
export function parseBootstrapArgs(args: readonly string[]): BootstrapFlags {
  const values = parse(args, BOOTSTRAP_FLAGS);
  const text = (name: string) => values[name] as string | undefined;
  const apiKey = text("key") ?? text("api-key");
  const apiKeyFile = text("key-file") ?? text("api-key-file");
  if (apiKey !== undefined && apiKeyFile !== undefined) {
    throw new UsageError("Cannot use both --key and --key-file: give one");
  }
  const installDir = text("install-dir") ?? DEFAULT_INSTALL_DIR;
  if (installDir === "") throw new UsageError('Cannot use --install-dir "": give a directory');
  return {
    help: values.help === true,
    installDir,
    endpoint: text("endpoint"),
    apiKey,
    apiKeyFile,
    saltFile: text("salt-file"),
    printSettings: values["print-settings"] === true,
    projectId: text("project-id"),
    workerId: text("worker-id"),
    logDir: text("log-dir"),
    relayPort: text("relay-port"),
    settings: oneOf<SettingsScope>("--settings", values.settings ?? "none", [
      "user",
      "project",
      "none",
    ]),
    hookType: oneOf<HookType>("--hook-type", values["hook-type"] ?? "command", ["command", "http"]),
    dryRun: values["dry-run"] === true,
    uninstall: values.uninstall === true,
    otel: otelFlags(values),
    otlpProtobuf: values["otlp-protobuf"] === true,
  };
}

function otelFlags(values: ParsedFlags["values"]): BootstrapFlags["otel"] {
  const logPrompts = values["otel-log-prompts"] === true;
  const logToolDetails = values["otel-log-tool-details"] === true;
  if (values["no-otel"] === true && (logPrompts || logToolDetails)) {
    throw new UsageError(
      "Cannot use --no-otel with --otel-log-prompts or --otel-log-tool-details: give one",
    );
  }
  return { enabled: values["no-otel"] !== true, logPrompts, logToolDetails };
}

/** Flags of doctor. */
export interface DoctorFlags {
  help: boolean;
  /** The checks as JSON instead of lines. */
  json: boolean;
  installDir: string;
  /** Undefined: the settings files the manifest names. */
  settings?: SettingsScope;
}

/** Parses doctor's flags; throws {@linkcode UsageError}. */
export function parseDoctorArgs(args: readonly string[]): DoctorFlags {
  const values = parse(args, DOCTOR_FLAGS);
  return {
    help: values.help === true,
    json: values.json === true,
    installDir: (values["install-dir"] as string | undefined) || DEFAULT_INSTALL_DIR,
    ...(values.settings === undefined ? {} : {
      settings: oneOf<SettingsScope>("--settings", values.settings, ["user", "project", "none"]),
    }),
  };
}
