/**
 * Installs the Claude Code telemetry hooks on a VM. On a VM with no Deno yet,
 * `bash scripts/bootstrap_vm.sh <flags>` installs Deno 2.9.6 and then runs this; with Deno:
 *
 *     deno task bootstrap --project-id acme --endpoint https://telemetry.example.com/ingest \
 *       --key-file ~/zo.key --settings user
 *
 * The task runs exactly `deno run --quiet --no-config --no-npm --no-remote --allow-read --allow-write
 * --allow-env=HOME,ZO_INGEST_KEY,ZO_API_KEY,INIT_CWD --allow-net=127.0.0.1
 * --allow-run=deno,claude scripts/bootstrap.ts`: no npm package and nothing remote is loaded; reads and writes are
 * unscoped because the install dir, log dir, key file and settings file are all chosen at run
 * time; `--allow-net=127.0.0.1` is to find a free relay port (listen, and `GET /relay` of a
 * relay that holds one); `--allow-run=deno,claude` is for `deno cache` (the `deno` on PATH: a
 * version other than the running one is reported) and `claude --version` (the `claude` on PATH:
 * the blocks wire Interrupt and PreSkillShellCommand only for a Claude Code newer than 2.1.328,
 * which rejects them; see `scripts/install/claude_version.ts`); `--quiet` keeps Deno's own note
 * that it found no `claude` (or `deno`) on PATH for `--allow-run` off stderr. `deno task` itself
 * first installs every npm package of deno.json (the bridge's) unless given
 * `--node-modules-dir=manual`, as `bootstrap_vm.sh` does; bootstrap needs none of them.
 *
 * What it does, each step leaving alone what already is as it should be (a re-run is
 * idempotent; `--dry-run` writes nothing and says what it would do; progress goes to stderr):
 *
 * 1. Copies the code that runs on the VM (`.ts`/`.json` under `hooks/` and `shared/`, no tests or
 *    test helpers) into `<install>/hooks/` and `<install>/shared/`, and runs
 *    `deno cache --no-config --no-npm --no-remote` on every entry script with
 *    `DENO_DIR=<install>/deno_dir`, so a hook never downloads or transpiles at run time.
 * 2. Writes `<install>/.env`, mode 0600, single-quoted values: `ZO_EVENT_ENDPOINT`,
 *    `ZO_INGEST_KEY`, `ZO_PROJECT_ID`, `ZO_LOG_DIR` (always set: wrappers do not rely on `HOME`),
 *    `ZO_WORKER_ID`, `ZO_REDACTION_SALT` (random on first install, then kept so host
 *    pseudonyms stay stable) and `ZO_RELAY_PORT`: this install's own loopback port, derived
 *    from the install dir (20000-29999), the next one when another program or another
 *    install's relay holds it (`scripts/install/relay_port.ts`), then kept. A flag left out
 *    keeps the file's value; other `KEY='value'` lines stay (`ZO_REDACTION_MODE`, ...; re-run
 *    bootstrap after editing them).
 * 3. Writes the wrappers in `<install>/bin/` (0755): `zo_report_event`, `session_start`,
 *    `mcp_telemetry`, `worker_spawn`, `artifact_produced`, `error_event`, `relay`, and one per
 *    Claude Code event (snake_case, from `HOOK_SCRIPTS` in `scripts/install/hook_permissions.ts`). Each is
 *    `sh`: it exports `DENO_DIR`, `ZO_LOG_DIR`, `DENO_NO_UPDATE_CHECK=1` and `DENO_NO_PROMPT=1`,
 *    and execs `<deno> run --env-file=<install>/.env` with the script's exact flags
 *    (`hookCommand()`, `--allow-run=<the resolved deno binary>`; the relay: the flags of its
 *    module doc, with the endpoint's host and `ZO_RELAY_PORT`). It works from any directory
 *    under `env -i PATH=/usr/bin:/bin`; with its deno gone it prints one line on stderr and exits
 *    0. Variables in the caller's environment win over `.env`, except `ZO_LOG_DIR`.
 * 4. Writes `<install>/systemd/zo-relay.service` (user unit) and `zo-relay@.service` (system
 *    unit template, instance = user), both running `bin/relay --service`, install steps inside.
 * 5. Prints on stdout the Claude Code `hooks` settings block (command hooks, synchronous, each
 *    `trap '' TERM; exec <install>/bin/<event>`: the wrapper hands off and returns in a few ms;
 *    `matcher: "*"` on tool events; WorktreeCreate/WorktreeRemove left out since a hook there
 *    replaces Claude Code's worktree handling, and Interrupt/PreSkillShellCommand unless
 *    `claude --version` reports a Claude Code newer than 2.1.328, which rejects them; see
 *    `scripts/install/hooks_block.ts`) and its `"type": "http"` variant
 *    (`http://127.0.0.1:<ZO_RELAY_PORT>/hook/<Event>?install=<install>`, command hooks for
 *    SessionStart and Setup, which never run http hooks; it needs the relay
 *    running with `--service`); both also go to `<install>/settings/hooks.{command,http}.json`.
 *    The API key is never printed.
 * 6. With `--settings user|project`, merges the block (`--hook-type` picks which) into
 *    `~/.claude/settings.json` or `./.claude/settings.json` (`scripts/install/settings_merge.ts`:
 *    the user's own hooks and settings stay; the original is copied once to
 *    `settings.json.zo-backup`; a re-run leaves the file byte-identical).
 * 7. Creates the log dir (0700) and writes `<install>/install.json`, the manifest of what it
 *    created (doctor and `--uninstall` read it); its last line is the doctor command to run.
 *
 * Flags: `deno task bootstrap --help` prints them; the one list, with each flag's meaning and
 * default, is `BOOTSTRAP_FLAGS` in `scripts/install/args.ts`.
 *
 * A value given as `""` removes it from `.env` (e.g. `--worker-id ""`). Relative paths are taken
 * from the directory the task was run in (`INIT_CWD`). Paths must be absolute once resolved and
 * made of letters, digits and `. _ - + @ /` (they go into permission flags unquoted). Run it as
 * the user that runs Claude Code: `.env` (0600) and the log dir belong to that user.
 *
 * Exit status: 0 done; 1 it could not (stderr says why and what to do); 2 bad flags or values.
 *
 * @module
 */
import { ConfigError } from "../shared/config.ts";
import { DEFAULT_LOG_DIR_IN_HOME } from "../hooks/pipeline/vm_config.ts";
import {
  BOOTSTRAP_USAGE,
  type BootstrapFlags,
  parseBootstrapArgs,
  UsageError,
} from "./install/args.ts";
import type { EnvUpdates } from "./install/env_file.ts";
import { install, type InstallResult } from "./install/install.ts";
import { installedClaudeVersion } from "./install/claude_version.ts";
import { uninstall } from "./install/uninstall.ts";

/** Where bootstrap runs: the caller's directory and environment, and its output. */
export interface BootstrapContext {
  /** The directory relative paths are taken from (`INIT_CWD` under `deno task`). */
  cwd: string;
  home: string | undefined;
  /** `ZO_INGEST_KEY` from the environment. */
  envIngestKey?: string | undefined;
  /** `ZO_API_KEY` from the environment: the ingest key's old name. */
  envApiKey: string | undefined;
  denoPath: string;
  repoDir: string;
  /** What `claude --version` reports; default {@linkcode installedClaudeVersion}. */
  claudeVersion?: () => Promise<string | undefined>;
  out: (text: string) => void;
  err: (line: string) => void;
}

function resolvePath(cwd: string, path: string): string {
  const joined = path.startsWith("/") ? path : `${cwd.replace(/\/+$/, "")}/${path}`;
  const parts: string[] = [];
  for (const part of joined.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/** `https://host` -> `https://host/ingest`; any other URL as given. */
export function normaliseEndpoint(text: string): string {
  if (text === "") return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(
      `Cannot use --endpoint "${text}": give a URL like https://telemetry.example.com/ingest`,
    );
  }
  if (url.pathname === "/" && !text.endsWith("/ingest")) url.pathname = "/ingest";
  return url.href;
}

/** A key or salt from the first line of a file; `flag` names it in messages. */
async function firstLine(flag: string, path: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(`Cannot read ${flag} ${path}: ${(error as Error).message}`);
  }
  const line = text.split("\n")[0]!.trim();
  if (line === "") throw new UsageError(`Cannot use ${flag} ${path}: its first line is empty`);
  return line;
}

/** The ingest key and where it came from (said on stderr: never the key itself). */
async function readApiKey(
  flags: BootstrapFlags,
  context: BootstrapContext,
): Promise<{ key?: string; source: string }> {
  if (flags.apiKeyFile !== undefined) {
    const path = resolvePath(context.cwd, flags.apiKeyFile);
    return { key: await firstLine("--key-file", path), source: `--key-file ${path}` };
  }
  if (flags.apiKey !== undefined) {
    context.err(
      "Warning: --key leaves the key in your shell history and the process list; prefer " +
        "--key-file <file> or ZO_INGEST_KEY in the environment",
    );
    return { key: flags.apiKey, source: "--key" };
  }
  if (context.envIngestKey) {
    return { key: context.envIngestKey, source: "ZO_INGEST_KEY in the environment" };
  }
  if (context.envApiKey) {
    context.err(
      "Warning: ZO_API_KEY is the old name of the ingest key; set ZO_INGEST_KEY (a read key " +
        "exported for deno task query belongs in ZO_READ_KEY)",
    );
    return { key: context.envApiKey, source: "ZO_API_KEY in the environment (old name)" };
  }
  return { source: "none given" };
}

function settingsPath(flags: BootstrapFlags, context: BootstrapContext): string | undefined {
  if (flags.settings === "project") {
    return `${context.cwd.replace(/\/+$/, "")}/.claude/settings.json`;
  }
  if (flags.settings !== "user") return undefined;
  if (!context.home) throw new UsageError("Cannot use --settings user: HOME is not set");
  return `${context.home.replace(/\/+$/, "")}/.claude/settings.json`;
}

/** Says where the settings blocks are; prints the one asked for (`--print-settings`). */
function printSettings(
  result: InstallResult,
  { installDir, flags, out, err }: {
    installDir: string;
    flags: BootstrapFlags;
    out: (text: string) => void;
    err: (line: string) => void;
  },
) {
  err(
    `Settings blocks: ${installDir}/settings/hooks.command.json (command hooks) and ` +
      `${installDir}/settings/hooks.http.json (http hooks: the relay must run as a service)`,
  );
  if (flags.printSettings) {
    const block = flags.hookType === "http" ? result.httpBlock : result.commandBlock;
    const env = result.settingsEnv;
    const settings = Object.keys(env).length > 0 ? { env, hooks: block } : { hooks: block };
    out(`${JSON.stringify(settings, null, 2)}\n`);
  } else if (flags.settings === "none") {
    err(
      "Wire them with --settings user|project, or print one with --print-settings " +
        "[--hook-type http] to paste into a settings file",
    );
  }
}

/** Runs bootstrap with `args`; returns the exit status. */
export async function bootstrap(
  args: readonly string[],
  context: BootstrapContext,
): Promise<number> {
  let flags: BootstrapFlags;
  try {
    flags = parseBootstrapArgs(args);
  } catch (error) {
    context.err(`${(error as Error).message}\nRun with --help for the flags.`);
    return 2;
  }
  if (flags.help) {
    context.out(`${BOOTSTRAP_USAGE}\n`);
    return 0;
  }
  try {
    const installDir = resolvePath(context.cwd, flags.installDir);
    const settings = settingsPath(flags, context);
    if (flags.uninstall) {
      const result = await uninstall({
        installDir,
        settingsPath: settings,
        dryRun: flags.dryRun,
        log: context.err,
      });
      if (!result.found) {
        context.err(`Cannot uninstall ${installDir}: nothing of bootstrap's is there`);
        return 1;
      }
      return 0;
    }
    const env: EnvUpdates = {};
    if (flags.endpoint !== undefined) env.ZO_EVENT_ENDPOINT = normaliseEndpoint(flags.endpoint);
    const { key, source } = await readApiKey(flags, context);
    if (key !== undefined) env.ZO_INGEST_KEY = key;
    if (flags.saltFile !== undefined) {
      env.ZO_REDACTION_SALT = await firstLine(
        "--salt-file",
        resolvePath(context.cwd, flags.saltFile),
      );
    }
    if (flags.projectId !== undefined) env.ZO_PROJECT_ID = flags.projectId;
    if (flags.workerId !== undefined) env.ZO_WORKER_ID = flags.workerId;
    if (flags.logDir !== undefined) env.ZO_LOG_DIR = resolvePath(context.cwd, flags.logDir);
    if (flags.relayPort !== undefined) env.ZO_RELAY_PORT = flags.relayPort;
    const result = await install({
      installDir,
      repoDir: context.repoDir,
      denoPath: context.denoPath,
      env,
      defaultLogDir: context.home
        ? `${context.home.replace(/\/+$/, "")}/${DEFAULT_LOG_DIR_IN_HOME}`
        : "/tmp/zo-telemetry",
      settingsPath: settings,
      claudeVersion: await (context.claudeVersion ?? installedClaudeVersion)(),
      hookType: flags.hookType,
      dryRun: flags.dryRun,
      otel: flags.otel,
      otlpProtobuf: flags.otlpProtobuf,
      keySource: source,
      saltSource: flags.saltFile === undefined
        ? undefined
        : `--salt-file ${resolvePath(context.cwd, flags.saltFile)}`,
      log: context.err,
    });
    printSettings(result, { installDir, flags, out: context.out, err: context.err });
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      context.err(`${error.message}\nRun with --help for the flags.`);
      return 2;
    }
    if (error instanceof ConfigError) {
      context.err(error.message);
      return 2;
    }
    const message = (error as Error).message;
    if (error instanceof Deno.errors.PermissionDenied) {
      context.err(
        `Cannot bootstrap: ${message}; run it as the user that runs Claude Code and owns the ` +
          `install dir (create it with: sudo install -d -o "$USER" ${flags.installDir})`,
      );
      return 1;
    }
    context.err(message.startsWith("Cannot ") ? message : `Cannot bootstrap: ${message}`);
    return 1;
  }
}

/** Entry point: `deno task bootstrap [flags]`. */
export async function main(): Promise<void> {
  const encoder = new TextEncoder();
  const code = await bootstrap(Deno.args, {
    cwd: Deno.env.get("INIT_CWD") || Deno.cwd(),
    home: Deno.env.get("HOME") || undefined,
    envIngestKey: Deno.env.get("ZO_INGEST_KEY") || undefined,
    envApiKey: Deno.env.get("ZO_API_KEY") || undefined,
    denoPath: Deno.execPath(),
    repoDir: new URL("..", import.meta.url).pathname.replace(/\/$/, ""),
    out: (text) => Deno.stdout.writeSync(encoder.encode(text)),
    err: (line) => Deno.stderr.writeSync(encoder.encode(`${line}\n`)),
  });
  Deno.exit(code);
}

if (import.meta.main) {
  await main();
}
