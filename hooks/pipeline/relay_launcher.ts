/**
 * Starts the relay on demand: when events are to be shipped (`ZO_EVENT_ENDPOINT` is set) and no
 * relay is alive for the log dir (its heartbeat is missing or stale), a hook spawns
 * `deno run <relay flags> hooks/relay.ts`, detached and with no stdio, so it outlives the hook and
 * Claude Code never waits on it. A launch marker keeps many hooks firing at once from starting
 * many relays (the relay removes it once it holds its lock); the relay's own lock is the final
 * word.
 *
 * @module
 */
import { DIR_MODE, FILE_MODE, HEARTBEAT_STALE_MS, LAYOUT } from "./spool.ts";
import type { VmConfig } from "./vm_config.ts";

/** After a launch, other hooks leave the relay this long to write its first heartbeat. */
export const LAUNCH_GRACE_MS = 15_000;
/** The launch marker, relative to the log dir. */
export const LAUNCH_MARKER = "relay/launching";

/**
 * Environment variables a hook and the relay may read (their `--allow-env`): the `ZO_*`
 * settings (`vm_config.ts`, `shared/config.ts`), `CLAUDE_RUN_ID`, `CLAUDE_PROJECT_DIR`, and
 * `HOME` for the default log dir. The installer's `hook_permissions.ts` re-exports it.
 */
export const HOOK_ENV_NAMES = ["ZO_*", "CLAUDE_RUN_ID", "CLAUDE_PROJECT_DIR", "HOME"] as const;

/**
 * The relay's permission flags: the log dir (and, to read, its code under `hooks/` and `shared/`),
 * the endpoint's host and the loopback http-hook port on the network, the host name (worker id), its settings, and this deno binary (`denoPath`,
 * default `Deno.execPath()`) to start the usage collector for http-hook Stop, SubagentStop,
 * SessionEnd and PreCompact events, as a command hook would; and the OTLP protobuf module
 * (`protobufPath`, default the one beside this module: a wrapper written from a checkout gives
 * the installed one).
 */
export function relayPermissionFlags(
  config: VmConfig,
  denoPath: string = Deno.execPath(),
  protobufPath: string = OTLP_PROTOBUF_PATH,
): string[] {
  const net = [`127.0.0.1:${config.relayPort}`];
  if (config.endpoint) net.unshift(config.endpoint.host || config.endpoint.hostname);
  return [
    `--allow-env=${HOOK_ENV_NAMES.join(",")}`,
    "--allow-sys=hostname,uid",
    // The code under hooks/ and shared/ (the OTLP protobuf module, loaded by a computed
    // specifier, among it): a worker (the http endpoint's record pool) loads its modules with the
    // relay's permissions, and the relay already holds whatever the code could tell.
    `--allow-read=${[config.logDir, ...codeDirs(codeRootOf(protobufPath))].join(",")}`,
    `--allow-write=${config.logDir}`,
    `--allow-net=${net.join(",")}`,
    `--allow-run=${denoPath}`,
  ];
}

/**
 * Flags the relay runs with besides permissions: no config discovery, nothing downloaded, and
 * npm packages from the Deno cache only: the OTLP protobuf decoder, which `bootstrap
 * --otlp-protobuf` caches (without it, a protobuf body gets a 415 and JSON still works).
 */
export const RELAY_RUN_FLAGS = ["--no-config", "--no-remote", "--cached-only"] as const;

/**
 * The OTLP protobuf module (`OTLP_PROTOBUF_MODULE` of `otel/otlp_body.ts`, which a test holds
 * equal), loaded by a computed specifier; the relay's code directories are found from it. Written out here so that hooks, which import this module, do not load `otel/`.
 */
export const OTLP_PROTOBUF_PATH = new URL("./otel/otlp_protobuf.ts", import.meta.url).pathname;

/** The directory that holds `hooks/` and `shared/`: of this very code, or of an install. */
export function codeRoot(): string {
  return decodeURIComponent(new URL("../..", import.meta.url).pathname).replace(/\/$/, "");
}

/** The directories of the code the relay and its workers run, under `root`. */
export function codeDirs(root: string = codeRoot()): string[] {
  return [`${root}/hooks`, `${root}/shared`];
}

const PROTOBUF_UNDER_ROOT = "/hooks/pipeline/otel/otlp_protobuf.ts";

/** The code root of an install, from the path of its OTLP protobuf module. */
function codeRootOf(protobufPath: string): string {
  return protobufPath.endsWith(PROTOBUF_UNDER_ROOT)
    ? protobufPath.slice(0, -PROTOBUF_UNDER_ROOT.length)
    : codeRoot();
}

/** The relay's entry script, next to the hooks. */
export function relayScriptPath(): string {
  return new URL("../relay.ts", import.meta.url).pathname;
}

/** The full relay command line (program first): on demand, it exits once idle. */
export function relayCommand(config: VmConfig, denoPath: string = Deno.execPath()): string[] {
  return [
    denoPath,
    "run",
    ...RELAY_RUN_FLAGS,
    ...relayPermissionFlags(config, denoPath),
    relayScriptPath(),
    "--on-demand",
  ];
}

// Synchronous file calls: see appendToSpool() on why that is faster in a hook.
function ageMs(path: string, nowMs: number): number | undefined {
  try {
    const mtime = Deno.statSync(path).mtime;
    return mtime ? nowMs - mtime.getTime() : 0;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** True when a relay refreshed the log dir's heartbeat within {@linkcode HEARTBEAT_STALE_MS}. */
export function relayAlive(logDir: string, nowMs: number = Date.now()): boolean {
  const age = ageMs(`${logDir}/${LAYOUT.heartbeatFile}`, nowMs);
  return age !== undefined && age < HEARTBEAT_STALE_MS;
}

/** Takes the launch marker; false when another hook launched a relay within the grace time. */
function claimLaunch(logDir: string, nowMs: number): boolean {
  const path = `${logDir}/${LAUNCH_MARKER}`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      Deno.writeTextFileSync(path, `${Deno.pid}\n`, { createNew: true, mode: FILE_MODE });
      return true;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        Deno.mkdirSync(`${logDir}/${LAYOUT.relayDir}`, { recursive: true, mode: DIR_MODE });
        continue;
      }
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    const age = ageMs(path, nowMs);
    if (age !== undefined && age < LAUNCH_GRACE_MS) return false;
    // A launch that never produced a heartbeat: the relay died. Clear the marker and try again;
    // should two hooks both do so, the relay's lock lets only one of their relays run.
    try {
      Deno.removeSync(path);
    } catch {
      // Another hook cleared it first.
    }
  }
  return false;
}

/** Options of {@linkcode ensureRelay}. */
export interface EnsureRelayOptions {
  nowMs?: number;
  /** The command to spawn, program first; default {@linkcode relayCommand}. */
  command?: readonly string[];
}

/**
 * Starts a relay for `config.logDir` unless events stay local, one is alive, or another hook
 * just launched one. Returns once the child is spawned (it is not awaited); true if it launched.
 */
export function ensureRelay(config: VmConfig, options: EnsureRelayOptions = {}): boolean {
  if (!config.endpoint) return false;
  const nowMs = options.nowMs ?? Date.now();
  if (relayAlive(config.logDir, nowMs)) return false;
  if (!claimLaunch(config.logDir, nowMs)) return false;
  // A relay takes its lock and writes its heartbeat, then removes the marker: a marker claimed
  // after that removal finds the heartbeat fresh here, and no second relay starts.
  if (relayAlive(config.logDir, options.nowMs ?? Date.now())) {
    try {
      Deno.removeSync(`${config.logDir}/${LAUNCH_MARKER}`);
    } catch {
      // Another hook's claim, or gone already.
    }
    return false;
  }
  const [program, ...args] = options.command ?? relayCommand(config);
  const child = new Deno.Command(program!, {
    args,
    cwd: config.logDir,
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  child.unref();
  return true;
}
