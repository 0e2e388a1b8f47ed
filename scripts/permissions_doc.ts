/**
 * The permission flags of every process this project runs, with the reason for each, as the
 * generated section `permission-flags` of `docs/SECURITY.md` (written by `scripts/gen_docs.ts`).
 * The flags come from the code that sets them: the hooks from `scripts/install/hook_permissions.ts`, the
 * relay from `hooks/pipeline/relay_launcher.ts`, the embedded Chroma server from
 * `bridge/embedded_chroma.ts`, the tasks from `deno.json`. Only the reasons live here, next to
 * the flags they explain; `scripts/permissions_doc_test.ts` fails when a flag or a task has none.
 *
 * @module
 */
import denoConfig from "../deno.json" with { type: "json" };
import { childArgs } from "../bridge/embedded_chroma.ts";
import {
  COLLECTOR_SCRIPT,
  collectorCommand,
  HOOK_RUN_FLAGS,
  HOOK_SCRIPTS,
  hookPermissionFlags,
} from "./install/hook_permissions.ts";
import { codeRoot, RELAY_RUN_FLAGS, relayCommand } from "../hooks/pipeline/relay_launcher.ts";
import { loadVmConfig } from "../hooks/pipeline/vm_config.ts";

/** Why a hook has each flag, keyed by the flag as `hookPermissionFlags()` writes it. */
export const HOOK_FLAG_REASONS: Readonly<Record<string, string>> = {
  "--no-config":
    "Claude Code runs hooks inside the agent's project: that project's `deno.json` (import map, " +
    "settings) must not change what the hook loads.",
  "--no-npm":
    "No npm package (zod) can load: every run proves the hook's module graph stayed small.",
  "--no-remote": "Nothing is downloaded when a hook runs; it runs only the installed code.",
  "--allow-env=ZO_*,CLAUDE_RUN_ID,CLAUDE_PROJECT_DIR,HOME":
    "Its settings (`ZO_*`), the run id, the project dir, and `HOME` for the default log dir. " +
    "Other variables, such as the agent's own credentials, stay unreadable.",
  "--allow-sys=hostname,uid":
    "The host name: the default `worker_id`, and the name strict redaction pseudonymises. The " +
    "uid: a log dir that is not this user's is refused.",
  "--allow-read=<log-dir>":
    "The spool, the relay's heartbeat, per-session run ids and subagent links: nothing else.",
  "--allow-read":
    "`artifact_produced.ts` only: it hashes and sizes the files it is given, so it can read any " +
    "file the user can.",
  "--allow-write=<log-dir>":
    "Appends to the spool and keeps its small state files there; it can write nowhere else.",
  "--allow-run=<deno>":
    "Starts the relay on demand and, on Stop, SubagentStop, SessionEnd and PreCompact, the usage " +
    "collector: with this very deno binary and no other program.",
};

/** Why the relay (`hooks/relay.ts`) has each flag, keyed by the flag with placeholders. */
export const RELAY_FLAG_REASONS: Readonly<Record<string, string>> = {
  "--no-config": "As for hooks: a project's `deno.json` must not change what the relay loads.",
  "--no-remote": "As for hooks: nothing is downloaded at run time.",
  "--cached-only":
    "npm packages from the install's Deno cache only, never fetched: the OTLP protobuf decoder, " +
    "which `bootstrap --otlp-protobuf` caches (without it a protobuf body gets a 415).",
  "--allow-env=ZO_*,CLAUDE_RUN_ID,CLAUDE_PROJECT_DIR,HOME":
    "Its settings, including `ZO_INGEST_KEY`, which it sends to the bridge and nowhere else.",
  "--allow-sys=hostname,uid":
    "The host name, for the events it builds itself (http hooks, spool-full reports). The uid: " +
    "a log dir that is not this user's is refused.",
  "--allow-read=<log-dir>,<install>/hooks,<install>/shared":
    "The spool, its checkpoint and its lock; and its own code, which the workers of its http " +
    "endpoint (large bodies are redacted off its event loop) load with the relay's permissions.",
  "--allow-write=<log-dir>":
    "Checkpoint, dead letters, quarantine, lock and heartbeat; appends http-hook events to the " +
    "spool; deletes shipped segments.",
  "--allow-net=<endpoint-host>,127.0.0.1:<port>":
    "Connects to the bridge's host only (left out when `ZO_EVENT_ENDPOINT` is unset), and " +
    'listens for `"type": "http"` hooks on loopback only.',
  "--allow-run=<deno>":
    "Starts the usage collector for http-hook Stop, SubagentStop, SessionEnd and PreCompact " +
    "events, as a command hook would, with this very deno binary and no other program.",
};

/** Why the usage collector (`hooks/usage_collector.ts`) has each flag. */
export const COLLECTOR_FLAG_REASONS: Readonly<Record<string, string>> = {
  "--no-config": "As for hooks: a project's `deno.json` must not change what it loads.",
  "--no-npm": "As for hooks: it needs no npm package.",
  "--no-remote": "As for hooks: nothing is downloaded at run time.",
  "--allow-env=ZO_*,CLAUDE_RUN_ID,HOME":
    "Its settings, the run id, and `HOME` for the default log dir.",
  "--allow-sys=hostname": "The host name, for the `worker_id` of the usage events it builds.",
  "--allow-read=<log-dir>,<transcript-dir>":
    "Its jobs and saved positions in the log dir, and the one transcript directory it was " +
    "started for: token counts are read there, and only they leave it, as usage events.",
  "--allow-write=<log-dir>": "Appends usage events to the spool; keeps its jobs and positions.",
};

/** Why the embedded Chroma server's process (`bridge/chroma_child.ts`) has each flag. */
export const CHROMA_CHILD_FLAG_REASONS: Readonly<Record<string, string>> = {
  "--no-config": "Runs the one script on its own, without the project's settings.",
  "--no-prompt": "A missing permission fails at once instead of waiting for an answer.",
  "--allow-ffi":
    "Loads Chroma's native server from the npm bindings. Native code is not confined by Deno's " +
    "permissions: the server itself reads and writes `CHROMA_DB_PATH` and listens on its " +
    "loopback port.",
  "--allow-read=bridge/chroma_child.ts,bridge/node_modules,node_modules":
    "Finds and loads the bindings' addon.",
};

/** Why each `deno.json` task has the flags it has, keyed by task name. */
export const TASK_REASONS: Readonly<Record<string, string>> = {
  test:
    "Tests read the repository and temp dirs, write temp dirs only, start real Chroma servers " +
    "and bridges as `deno` subprocesses on loopback, use `ps` to check that no orphan is left, " +
    "and `env` to run installed wrappers with an empty environment (`env -i`); then " +
    "`deno task test:e2e` with its own flags.",
  "test:cli":
    "The real Claude Code CLI against a fake Messages API and a real bridge on loopback: reads the " +
    "repo (the CLI under `.cache/`), writes its temp HOME, install and log dir under `/tmp`; runs " +
    "`deno` (bootstrap, relay) and `env` (the CLI and the wrappers under `env -i`); reads `PATH` " +
    "to put a `claude` first on bootstrap's. Before it, `.ci/install_claude_code.sh` installs the " +
    "pinned CLI with npm when it is missing.",
  "test:e2e":
    "The dashboard in headless Chromium against a real bridge on loopback: reads and runs " +
    "`/usr/bin/chromium`, writes its throwaway profile and screenshots under `/tmp`; " +
    "playwright-core needs `--allow-env` (it lists the whole environment) and " +
    "`--allow-sys=homedir,uid`.",
  "schema:gen":
    "Reads and writes only `docs/`, `README.md` and `hooks/` (the generated entry shims); runs " +
    "`deno fmt` so the output is formatted.",
  "schema:check": "As `schema:gen`, without writing.",
  bridge: "Listens, and reaches Chroma and the embedding provider, whose hosts are configuration " +
    "(`--allow-net`); starts the embedded Chroma as a `deno` subprocess; reads exactly its " +
    "documented variables. No file access (the dashboard's files are part of its code): add " +
    "`--allow-read=<file>` for `ZO_API_KEYS_FILE` or `ZO_PRICES_FILE`.",
  bootstrap:
    "Reads and writes where the operator points it (install dir, log dir, key file, settings " +
    "file, all chosen at run time); runs `deno cache` on the installed scripts and " +
    "`claude --version` (the events it wires depend on it); listens on " +
    "and asks loopback ports to find this install's own free relay port.",
  doctor:
    "Reads the install, its `.env`, the settings files and the log dir, all found at run time; " +
    "calls the endpoint, a host known only at run time, to check that it answers and accepts " +
    "the key; reads its own uid, to tell whether the log dir is the user's.",
  replay:
    "Reads the directory or file it is given and writes its own state dir beside it; posts to " +
    "the endpoint, a host known only at run time.",
  usage: "Asks the bridge's `GET /usage`, a host known only at run time; reads only a " +
    "`--key-file` and a `--prices` table under `~/.config/zo/`.",
  query: "Asks the bridge (`ZO_BRIDGE_URL`, a host known only at run time); reads only a " +
    "`--key-file` under `~/.config/zo/` (`$HOME` is expanded by `deno task`).",
  tail: "Follows the bridge's `GET /live` and fills gaps from `GET /query` (a host known only at " +
    "run time); reads only a `--key-file` under `~/.config/zo/`.",
  "bench:redact": "Pure computation: no permission at all.",
  "bench:ingest-redaction":
    "Reads the fixture payloads under testdata/; the bridge's app runs in process over an " +
    "in-memory store: no network, no Chroma.",
  "bench:hook":
    "Runs hooks and empty scripts by the deno binary's absolute path, and `/usr/bin/time` for " +
    "peak memory (hence the unscoped `--allow-run`), next to a real bridge and Chroma on " +
    "loopback in temp dirs. A developer's tool, never run on VMs; its `--allow-env` is not " +
    "narrowed.",
  "bench:relay":
    "Starts a real bridge, Chroma and relay on loopback in temp dirs. A developer's tool; its " +
    "`--allow-env` is not narrowed.",
  "bench:ingest": "Starts a real bridge and Chroma on loopback in temp dirs.",
  "bench:scale-out": "Starts one Chroma and one or two real bridges on loopback in temp dirs.",
  "bench:query": "Starts a real bridge and Chroma on loopback in temp dirs.",
  "bench:usage":
    "Starts real bridges and a Chroma on loopback in temp dirs; `--expose-gc` lets it read the " +
    "heap the usage index holds after a collection.",
  "bench:live-feed":
    "Starts a real Chroma on loopback in a temp dir and reads it as a bridge does.",
  "bench:dashboard":
    "As `test:e2e` (headless Chromium and playwright-core), with a real bridge and Chroma on " +
    "loopback in temp dirs.",
};

/** Permissions a flag list may grant; what none of its flags grants is listed as not granted. */
const PERMISSIONS = ["read", "write", "net", "env", "sys", "run", "ffi", "import"] as const;

/** The repository root, as an absolute path ending in "/". */
const ROOT = new URL("../", import.meta.url).pathname;

function code(text: string): string {
  return `\`${text.replace(/\|/g, "\\|")}\``;
}

/** The permissions none of `flags` grants, as `--allow-<name>` flags. */
export function notGranted(flags: readonly string[]): string[] {
  return PERMISSIONS.filter((name) =>
    !flags.some((flag) => flag === `--allow-${name}` || flag.startsWith(`--allow-${name}=`))
  ).map((name) => `--allow-${name}`);
}

function reasonOf(reasons: Readonly<Record<string, string>>, flag: string): string {
  return reasons[flag] ?? "—";
}

/** Shell-quotes a flag whose value holds `*` (as the docs write the hooks' `--allow-env`). */
export function shellWord(word: string): string {
  return word.includes("*") ? `'${word}'` : word;
}

/** The hooks' flags: each distinct flag, with the scripts that have it when not all do. */
export function hookFlags(): { flag: string; scripts: string[] }[] {
  const rows: { flag: string; scripts: string[] }[] = [];
  for (const flag of HOOK_RUN_FLAGS) {
    rows.push({ flag, scripts: HOOK_SCRIPTS.map((s) => s.file) });
  }
  for (const script of HOOK_SCRIPTS) {
    for (const flag of hookPermissionFlags(script.file)) {
      const row = rows.find((r) => r.flag === flag);
      if (row) row.scripts.push(script.file);
      else rows.push({ flag, scripts: [script.file] });
    }
  }
  return rows;
}

/**
 * The relay's flags with placeholders, from `relayCommand()` itself: built for a stand-in
 * configuration whose values are then written back as the placeholders the docs use.
 */
export function relayFlags(): string[] {
  const config = loadVmConfig((name) =>
    ({
      ZO_LOG_DIR: "/zo-log-dir",
      ZO_EVENT_ENDPOINT: "https://zo-endpoint-host.invalid/ingest",
      ZO_RELAY_PORT: "65001",
    })[name]
  );
  return relayCommand(config, "<deno>").filter((word) =>
    word.startsWith("--allow-") ||
    (RELAY_RUN_FLAGS as readonly string[]).includes(word)
  ).map((flag) =>
    flag.replaceAll(codeRoot(), "<install>")
      .replaceAll("/zo-log-dir", "<log-dir>")
      .replaceAll("zo-endpoint-host.invalid", "<endpoint-host>")
      .replaceAll("65001", "<port>")
  );
}

/** The embedded Chroma child's flags, from `childArgs()`, with paths relative to the repository. */
export function chromaChildFlags(): string[] {
  return childArgs("<data-dir>", 0).filter((word) => word.startsWith("--"))
    .map((flag) => flag.replaceAll(ROOT, ""));
}

/** One `deno <subcommand>` of a task, with its permission-related flags and its scripts. */
export interface TaskInvocation {
  subcommand: string;
  flags: string[];
  scripts: string[];
}

/** The `deno` invocations of a task command, split on `&&`, `||` and `;`. */
export function taskInvocations(command: string): TaskInvocation[] {
  const invocations: TaskInvocation[] = [];
  for (const part of command.split(/&&|\|\||;/)) {
    const words = part.trim().split(/\s+/);
    if (words[0] !== "deno" || words.length < 2) continue;
    const [, subcommand, ...rest] = words;
    invocations.push({
      subcommand: subcommand!,
      flags: rest.filter((w) =>
        /^--(allow|deny)-/.test(w) || /^--no-(prompt|npm|remote|config)$/.test(w)
      ),
      scripts: rest.filter((w) => !w.startsWith("-") && /\.(ts|js)$/.test(w)),
    });
  }
  return invocations;
}

/** Every task of `deno.json`: name and command. */
export function tasks(): { name: string; command: string }[] {
  const entries = Object.entries(denoConfig.tasks as Record<string, string | { command: string }>);
  return entries.map(([name, task]) => ({
    name,
    command: typeof task === "string" ? task : task.command,
  }));
}

function flagTable(
  flags: readonly string[],
  reasons: Readonly<Record<string, string>>,
): string[] {
  return [
    "| flag | why |",
    "|---|---|",
    ...flags.map((flag) => `| ${code(flag)} | ${reasonOf(reasons, flag)} |`),
  ];
}

function notGrantedLine(flags: readonly string[]): string {
  const missing = notGranted(flags);
  return missing.length === 0
    ? "Every permission is granted."
    : `Not granted: ${missing.map(code).join(", ")}.`;
}

/** "all", "all but `a.ts`", or the list, whichever is shortest to read. */
function whichScripts(scripts: readonly string[]): string {
  const others = HOOK_SCRIPTS.map((s) => s.file).filter((file) => !scripts.includes(file));
  if (others.length === 0) return "all";
  if (others.length < scripts.length) return `all but ${others.map(code).join(", ")}`;
  return scripts.map(code).join(", ");
}

function hooksSection(): string[] {
  const all = HOOK_SCRIPTS.length;
  const rows = hookFlags();
  const common = HOOK_SCRIPTS[0]!.file;
  const line = ["deno", "run", ...HOOK_RUN_FLAGS, ...hookPermissionFlags(common)].map(shellWord);
  return [
    `### Hooks (\`hooks/*.ts\`, ${all} entry scripts)`,
    "",
    "From `scripts/install/hook_permissions.ts`:",
    "",
    "```sh",
    `${line.join(" ")} hooks/<script>.ts`,
    "```",
    "",
    "| flag | scripts | why |",
    "|---|---|---|",
    ...rows.map(({ flag, scripts }) =>
      `| ${code(flag)} | ${whichScripts(scripts)} | ${reasonOf(HOOK_FLAG_REASONS, flag)} |`
    ),
    "",
    notGrantedLine(rows.map((r) => r.flag)) + " A hook never talks to the network.",
  ];
}

function relaySection(): string[] {
  const flags = relayFlags();
  return [
    "### Relay (`hooks/relay.ts`)",
    "",
    "From `relayCommand()` in `hooks/pipeline/relay_launcher.ts` (how a hook starts it):",
    "",
    ...flagTable(flags, RELAY_FLAG_REASONS),
    "",
    notGrantedLine(flags),
  ];
}

/** The usage collector's flags with placeholders, from `collectorCommand()`. */
export function collectorFlags(): string[] {
  return collectorCommand({ hooksDir: "hooks" }).filter((word) =>
    word.startsWith("--allow-") || (HOOK_RUN_FLAGS as readonly string[]).includes(word)
  );
}

function collectorSection(): string[] {
  const flags = collectorFlags();
  return [
    `### Usage collector (\`hooks/${COLLECTOR_SCRIPT}\`)`,
    "",
    "From `collectorCommand()` (re-exported by `scripts/install/hook_permissions.ts`); the Stop, " +
    "SubagentStop, SessionEnd and PreCompact hooks (and the relay, for http hooks) start it:",
    "",
    ...flagTable(flags, COLLECTOR_FLAG_REASONS),
    "",
    notGrantedLine(flags),
  ];
}

function chromaChildSection(): string[] {
  const flags = chromaChildFlags();
  return [
    "### Embedded Chroma server (`bridge/chroma_child.ts`)",
    "",
    "From `childArgs()` in `bridge/embedded_chroma.ts`; the bridge starts it when `CHROMA_URL` is " +
    "unset:",
    "",
    ...flagTable(flags, CHROMA_CHILD_FLAG_REASONS),
  ];
}

function tasksSection(): string[] {
  const lines = ["### Tasks (`deno.json`)", ""];
  for (const { name, command } of tasks()) {
    const invocations = taskInvocations(command);
    const flags = [...new Set(invocations.flatMap((i) => i.flags))];
    const scripts = [...new Set(invocations.flatMap((i) => i.scripts))];
    const runs = scripts.length > 0
      ? scripts.map(code).join(", ")
      : invocations.map((i) => code(`deno ${i.subcommand}`)).join(", ");
    lines.push(
      `- ${code(`deno task ${name}`)} runs ${runs || "no deno command"} with ${
        flags.length > 0 ? flags.map(code).join(" ") : "no permission flag"
      }. ${reasonOf(TASK_REASONS, name)}`,
    );
  }
  return lines;
}

/** The body of the generated `permission-flags` section of `docs/SECURITY.md`. */
export function permissionFlagsSection(): string {
  return [
    ...hooksSection(),
    "",
    ...relaySection(),
    "",
    ...collectorSection(),
    "",
    ...chromaChildSection(),
    "",
    ...tasksSection(),
  ].join("\n");
}
