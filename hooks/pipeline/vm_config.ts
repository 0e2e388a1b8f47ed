/**
 * Settings of the VM side (hooks and relay), read from environment variables. Shared settings
 * (redaction, event size) come from `config.ts`; `VM_ENV_VARS` joins the README's table.
 *
 * @module
 */
import { AGENT_ROLES, type AgentRole, LIMITS } from "../../shared/contract.ts";
import {
  ConfigError,
  type EnvReader,
  type EnvVar,
  loadSharedConfig,
  readWholeNumber,
  type SharedConfig,
} from "../../shared/config.ts";

/** Where hooks keep their spool and state when `ZO_LOG_DIR` is unset, relative to `$HOME`. */
export const DEFAULT_LOG_DIR_IN_HOME = ".local/state/zo-telemetry";
/** Default `ZO_SPOOL_MAX_MB`. */
export const DEFAULT_SPOOL_MAX_MB = 512;
/** Default `ZO_RELAY_PORT`: the loopback port of the relay's `"type": "http"` hook endpoint. */
export const DEFAULT_RELAY_PORT = 8790;
/** Default `ZO_RELAY_IDLE_SECONDS`. */
export const DEFAULT_RELAY_IDLE_SECONDS = 300;

/** Every environment variable the VM side reads, besides those of `config.ts`. */
export const VM_ENV_VARS: readonly EnvVar[] = [
  {
    name: "ZO_LOG_DIR",
    default: `$HOME/${DEFAULT_LOG_DIR_IN_HOME}`,
    usedBy: "hooks, relay",
    description:
      "Where the spool (the local JSONL log of redacted events), the relay's checkpoint, dead letters " +
      "and per-session run ids live. The hook's `--allow-read`/`--allow-write` flags name it. It " +
      "must be yours and closed to group and others (else hooks refuse it); with `HOME` unset " +
      "too, set it: there is no fallback into `/tmp`.",
  },
  {
    name: "ZO_EVENT_ENDPOINT",
    default: "",
    usedBy: "hooks, relay",
    description:
      "The bridge's ingest URL, e.g. `https://telemetry.example.com/ingest`. Unset: events stay in " +
      "the spool, which is then the local log, and no relay starts.",
  },
  {
    name: "ZO_INGEST_KEY",
    default: "",
    usedBy: "relay",
    description:
      "The key the relay sends to the bridge (an `ingest` key); bootstrap writes it into `.env`. " +
      "Never written into an event or a log. Its own name, so a read key exported as " +
      "`ZO_READ_KEY` for `deno task query` cannot stand in for it.",
  },
  {
    name: "ZO_API_KEY",
    default: "",
    usedBy: "relay",
    description:
      "Old name of `ZO_INGEST_KEY`, still read when that is unset (the relay and bootstrap warn; " +
      "bootstrap moves it to `ZO_INGEST_KEY` in `.env`).",
  },
  {
    name: "ZO_PROJECT_ID",
    default: "",
    usedBy: "hooks, relay",
    description: "`project_id` of every event from this VM.",
  },
  {
    name: "ZO_WORKER_ID",
    default: "from the host name",
    usedBy: "hooks, relay",
    description:
      "`worker_id` of every event from this VM. Default: the host name, pseudonymised in strict mode.",
  },
  {
    name: "ZO_AGENT_ROLE",
    default: "",
    usedBy: "hooks",
    description: `\`agent_role\` of every event from this VM: ${AGENT_ROLES.join(", ")}.`,
  },
  {
    name: "CLAUDE_RUN_ID",
    default: "one per session",
    usedBy: "hooks",
    description:
      "`run_id` shared by many sessions (set it when one run spans several). Unset: each session " +
      "gets one run id, kept under the log dir so every hook of that session uses it.",
  },
  {
    name: "ZO_SPOOL_MAX_MB",
    default: String(DEFAULT_SPOOL_MAX_MB),
    usedBy: "hooks, relay",
    description:
      "Disk the spool may use, in MB. When full, the oldest events go first; the drop is counted " +
      "and reported as an event.",
  },
  {
    name: "ZO_RELAY_PORT",
    default: String(DEFAULT_RELAY_PORT),
    usedBy: "relay",
    description:
      'Loopback port where the relay accepts Claude Code\'s `"type": "http"` hooks (127.0.0.1 only). ' +
      "Bootstrap writes each install's own into its `.env` (derived from the install dir, in " +
      "20000-29999, the next one when taken; `--relay-port` sets it), so two installs on one VM " +
      "never share one; the default serves a relay run by hand.",
  },
  {
    name: "ZO_RELAY_IDLE_SECONDS",
    default: String(DEFAULT_RELAY_IDLE_SECONDS),
    usedBy: "relay",
    description:
      "A relay started on demand by a hook exits after this long with nothing to ship; `0` keeps " +
      "it running (as a service does).",
  },
];

/** The names the ingest key may have on a VM: its own, and the old one. */
export type IngestKeyVariable = "ZO_INGEST_KEY" | "ZO_API_KEY";

/** Settings of hooks and relay. */
export interface VmConfig {
  /** Absolute path of `ZO_LOG_DIR`. */
  logDir: string;
  /** The ingest URL; undefined when events stay local. */
  endpoint: URL | undefined;
  apiKey: string | undefined;
  /**
   * The variable `apiKey` came from, for messages that tell a person which one to fix:
   * `ZO_INGEST_KEY` unless only the old `ZO_API_KEY` is set (also when neither is).
   */
  apiKeyVariable: IngestKeyVariable;
  projectId: string | undefined;
  /** `ZO_WORKER_ID` as set; the host-derived default is computed where the host name is known. */
  workerId: string | undefined;
  agentRole: AgentRole | undefined;
  /** `CLAUDE_RUN_ID` as set. */
  runId: string | undefined;
  spoolMaxBytes: number;
  relayPort: number;
  relayIdleSeconds: number;
  shared: SharedConfig;
}

function optional(env: EnvReader, name: string): string | undefined {
  const value = env(name)?.trim();
  return value ? value : undefined;
}

function identifier(env: EnvReader, name: string): string | undefined {
  const value = optional(env, name);
  if (value !== undefined && value.length > LIMITS.idChars) {
    throw new ConfigError(`Cannot use ${name}: set at most ${LIMITS.idChars} characters`);
  }
  return value;
}

function endpointUrl(env: EnvReader): URL | undefined {
  const text = optional(env, "ZO_EVENT_ENDPOINT");
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(
      `Cannot use ZO_EVENT_ENDPOINT="${text}": set a URL like https://telemetry.example.com/ingest`,
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigError(`Cannot use ZO_EVENT_ENDPOINT="${text}": use http:// or https://`);
  }
  return url;
}

/** Options of {@linkcode loadVmConfig}. */
export interface VmConfigOptions {
  /**
   * False for a tool that needs no log dir (replay reads only the endpoint and key): `logDir` is
   * then "" when `ZO_LOG_DIR` and `HOME` are unset. Default true: that is a {@linkcode ConfigError}.
   */
  needsLogDir?: boolean;
}

/** Reads and checks the VM's settings; throws {@linkcode ConfigError} on a bad value. */
export function loadVmConfig(
  env: EnvReader = (name) => Deno.env.get(name),
  options: VmConfigOptions = {},
): VmConfig {
  const role = optional(env, "ZO_AGENT_ROLE");
  if (role !== undefined && !(AGENT_ROLES as readonly string[]).includes(role)) {
    throw new ConfigError(
      `Cannot use ZO_AGENT_ROLE="${role}": set it to one of ${AGENT_ROLES.join(", ")}`,
    );
  }
  const home = optional(env, "HOME");
  // No fallback into a shared directory such as /tmp, where another user could create the log
  // dir first: with neither variable set there is no log dir.
  const logDir = optional(env, "ZO_LOG_DIR") ??
    (home ? `${home.replace(/\/+$/, "")}/${DEFAULT_LOG_DIR_IN_HOME}` : "");
  if (logDir === "" && options.needsLogDir !== false) {
    throw new ConfigError(
      "Cannot find the log dir: ZO_LOG_DIR and HOME are unset; set ZO_LOG_DIR to a directory " +
        "of yours (there is no fallback into a shared one such as /tmp)",
    );
  }
  if (logDir !== "" && !logDir.startsWith("/")) {
    throw new ConfigError(`Cannot use ZO_LOG_DIR="${logDir}": set an absolute path`);
  }
  return {
    logDir: logDir.length > 1 ? logDir.replace(/\/+$/, "") : logDir,
    endpoint: endpointUrl(env),
    apiKey: optional(env, "ZO_INGEST_KEY") ?? optional(env, "ZO_API_KEY"),
    apiKeyVariable: optional(env, "ZO_INGEST_KEY") === undefined &&
        optional(env, "ZO_API_KEY") !== undefined
      ? "ZO_API_KEY"
      : "ZO_INGEST_KEY",
    projectId: identifier(env, "ZO_PROJECT_ID"),
    workerId: identifier(env, "ZO_WORKER_ID"),
    agentRole: role as AgentRole | undefined,
    runId: identifier(env, "CLAUDE_RUN_ID"),
    spoolMaxBytes:
      readWholeNumber(env, "ZO_SPOOL_MAX_MB", DEFAULT_SPOOL_MAX_MB, { min: 1, max: 1_000_000 }) *
      1024 * 1024,
    relayPort: readWholeNumber(env, "ZO_RELAY_PORT", DEFAULT_RELAY_PORT, { min: 1, max: 65535 }),
    relayIdleSeconds: readWholeNumber(env, "ZO_RELAY_IDLE_SECONDS", DEFAULT_RELAY_IDLE_SECONDS, {
      min: 0,
      max: 86_400,
    }),
    shared: loadSharedConfig(env),
  };
}

/** Why a log dir must not be used, and what fixes it. */
export interface LogDirIssue {
  /** What is wrong, e.g. `group or others may write to /x/spool (mode 777)`. */
  reason: string;
  /** How to fix it, e.g. `run chmod 700 /x/spool`. */
  fix: string;
}

/**
 * Why `logDir` must not be used, or undefined when it is safe: it must not be writable by group
 * or others (else another local user could plant links, FIFOs or segments in it), nor may its
 * `spool/` and `relay/` (real directories, not links), and each must belong to user `uid` (by
 * default this process's: hooks and the relay run with `--allow-sys=uid` for it; without it the
 * owner is not checked). A dir that does not exist yet is safe: the spool creates it 0700.
 */
export function logDirIssue(
  logDir: string,
  uid: number | undefined = ownUid(),
): LogDirIssue | undefined {
  for (const dir of [logDir, `${logDir}/spool`, `${logDir}/relay`]) {
    let info: Deno.FileInfo;
    try {
      // The log dir may be a link a person made; what is inside it may not.
      info = dir === logDir ? Deno.statSync(dir) : Deno.lstatSync(dir);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      return {
        reason: (error as Error).message,
        fix: "run this as the user the hooks run as, or set ZO_LOG_DIR to a directory of theirs",
      };
    }
    if (!info.isDirectory) {
      return {
        reason: `${dir} is ${info.isSymlink ? "a link" : "not a directory"}`,
        fix: `remove ${dir} (the spool creates it)`,
      };
    }
    if (uid !== undefined && info.uid !== null && info.uid !== uid) {
      return {
        reason: `${dir} belongs to uid ${info.uid}, not to you (uid ${uid})`,
        fix: "remove it or set ZO_LOG_DIR to a directory of yours",
      };
    }
    if (info.mode !== null && (info.mode & 0o022) !== 0) {
      return {
        reason: `group or others may write to ${dir} (mode ${(info.mode & 0o777).toString(8)})`,
        fix: `run chmod 700 ${dir}`,
      };
    }
  }
  return undefined;
}

/** {@linkcode logDirIssue} as one line: `Cannot use the log dir <dir>: <reason>; <fix>`. */
export function logDirProblem(logDir: string): string | undefined {
  const issue = logDirIssue(logDir);
  return issue && `Cannot use the log dir ${logDir}: ${issue.reason}; ${issue.fix}`;
}

/** This process's uid; undefined without `--allow-sys=uid` or on Windows. */
function ownUid(): number | undefined {
  try {
    return Deno.uid() ?? undefined;
  } catch {
    return undefined;
  }
}
