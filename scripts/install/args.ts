/**
 * Command-line flags of `scripts/bootstrap.ts` and `scripts/doctor.ts`, parsed with
 * `node:util`'s `parseArgs` (strict: an unknown flag or a stray argument is an error, exit 2).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { DEFAULT_INSTALL_DIR, type HookType } from "./layout.ts";

/** A flag error: the caller prints it with the usage and exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Where `--settings` merges the hooks block: none, `~/.claude/`, or `<cwd>/.claude/`. */
export type SettingsScope = "user" | "project" | "none";

/** Usage text of `deno task bootstrap`. */
export const BOOTSTRAP_USAGE = `Usage: deno task bootstrap [flags]

Installs the Claude Code telemetry hooks on this VM: copies hooks/ and shared/ into the install
dir, caches them there, writes <install>/.env (0600) and the wrappers in <install>/bin/, and prints
the Claude Code hooks settings block (stdout; progress goes to stderr).

  --install-dir <dir>   where to install (default ${DEFAULT_INSTALL_DIR})
  --endpoint <url>      the bridge's ingest URL, e.g. https://telemetry.example.com/ingest
                        (a URL with no path gets /ingest)
  --api-key-file <file> read the bridge key from this file (or set ZO_API_KEY in the environment)
  --api-key <key>       the key itself (it then sits in your shell history: prefer the above)
  --project-id <id>     project_id of every event from this VM
  --worker-id <id>      worker_id of every event (default: the host name, pseudonymised)
  --log-dir <dir>       spool and relay state (default $HOME/.local/state/zo-telemetry)
  --settings <where>    merge the hooks block into user (~/.claude/settings.json), project
                        (./.claude/settings.json) or none (default: none, only print it)
  --hook-type <type>    command (default: a wrapper per event) or http (the relay's loopback
                        endpoint; run the relay as a service, see <install>/systemd/)
  --dry-run             say what would be done; write nothing
  --uninstall           remove the hooks from the settings and what bootstrap put in the
                        install dir (the log dir and its events stay)
  --help                this text

Values left out on a re-run keep what <install>/.env has; "" removes one (e.g. --worker-id "").`;

/** Usage text of `deno task doctor`. */
export const DOCTOR_USAGE = `Usage: deno task doctor [flags]

Checks an install: deno, the installed files, the .env, the endpoint and key, the Claude Code
settings, the relay and the backlog. Exit 1 when a check fails; each failure says how to fix it.

  --install-dir <dir>   the install to check (default ${DEFAULT_INSTALL_DIR})
  --settings <where>    check user (~/.claude/settings.json) or project (./.claude/settings.json)
                        settings, or none (default: the settings files bootstrap merged into)
  --help                this text`;

/** Flags of bootstrap. Paths are as given (the caller resolves them). */
export interface BootstrapFlags {
  help: boolean;
  installDir: string;
  endpoint?: string;
  apiKey?: string;
  apiKeyFile?: string;
  projectId?: string;
  workerId?: string;
  logDir?: string;
  settings: SettingsScope;
  hookType: HookType;
  dryRun: boolean;
  uninstall: boolean;
}

function parse(
  args: readonly string[],
  options: Record<string, { type: "string" | "boolean" }>,
): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify .*$/s, "");
    throw new UsageError(`Cannot read the flags: ${message}`);
  }
}

function oneOf<T extends string>(flag: string, value: unknown, allowed: readonly T[]): T {
  if (allowed.includes(value as T)) return value as T;
  throw new UsageError(`Cannot use ${flag} "${value}": use one of ${allowed.join(", ")}`);
}

/** Parses bootstrap's flags; throws {@linkcode UsageError}. */
export function parseBootstrapArgs(args: readonly string[]): BootstrapFlags {
  const values = parse(args, {
    "install-dir": { type: "string" },
    "endpoint": { type: "string" },
    "api-key": { type: "string" },
    "api-key-file": { type: "string" },
    "project-id": { type: "string" },
    "worker-id": { type: "string" },
    "log-dir": { type: "string" },
    "settings": { type: "string" },
    "hook-type": { type: "string" },
    "dry-run": { type: "boolean" },
    "uninstall": { type: "boolean" },
    "help": { type: "boolean" },
  });
  if (values["api-key"] !== undefined && values["api-key-file"] !== undefined) {
    throw new UsageError("Cannot use both --api-key and --api-key-file: give one");
  }
  const text = (name: string) => values[name] as string | undefined;
  const installDir = text("install-dir") ?? DEFAULT_INSTALL_DIR;
  if (installDir === "") throw new UsageError('Cannot use --install-dir "": give a directory');
  return {
    help: values.help === true,
    installDir,
    endpoint: text("endpoint"),
    apiKey: text("api-key"),
    apiKeyFile: text("api-key-file"),
    projectId: text("project-id"),
    workerId: text("worker-id"),
    logDir: text("log-dir"),
    settings: oneOf<SettingsScope>("--settings", values.settings ?? "none", [
      "user",
      "project",
      "none",
    ]),
    hookType: oneOf<HookType>("--hook-type", values["hook-type"] ?? "command", ["command", "http"]),
    dryRun: values["dry-run"] === true,
    uninstall: values.uninstall === true,
  };
}

/** Flags of doctor. */
export interface DoctorFlags {
  help: boolean;
  installDir: string;
  /** Undefined: the settings files the manifest names. */
  settings?: SettingsScope;
}

/** Parses doctor's flags; throws {@linkcode UsageError}. */
export function parseDoctorArgs(args: readonly string[]): DoctorFlags {
  const values = parse(args, {
    "install-dir": { type: "string" },
    "settings": { type: "string" },
    "help": { type: "boolean" },
  });
  return {
    help: values.help === true,
    installDir: (values["install-dir"] as string | undefined) || DEFAULT_INSTALL_DIR,
    ...(values.settings === undefined ? {} : {
      settings: oneOf<SettingsScope>("--settings", values.settings, ["user", "project", "none"]),
    }),
  };
}
