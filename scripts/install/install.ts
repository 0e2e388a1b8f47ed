/**
 * The install itself, for `scripts/bootstrap.ts`: copies the runtime files into the install dir,
 * caches them, writes `.env`, the wrappers, the systemd units and the hooks blocks, merges the
 * block into a settings file when asked, and writes the manifest last. Every step leaves a file
 * that already holds what it would write alone, so a re-run changes nothing. `dryRun` computes
 * and reports everything and writes nothing.
 *
 * @module
 */
import { ConfigError } from "../../shared/config.ts";
import { HOOK_SCRIPTS } from "./hook_permissions.ts";
import { loadVmConfig, type VmConfig } from "../../hooks/pipeline/vm_config.ts";
import { cacheEntryScripts, cacheOtlpProtobuf, pathDenoVersion } from "./deno_cache.ts";
import {
  composeEnv,
  type EnvUpdates,
  parseEnvFile,
  renderEnvFile,
  writeEnvFile,
} from "./env_file.ts";
import { hooksBlock, type HooksSettings, PENDING_EVENTS } from "./hooks_block.ts";
import { acceptsPendingEvents, NEWEST_REJECTING_PENDING } from "./claude_version.ts";
import {
  type HookType,
  installLayout,
  type Manifest,
  readManifest,
  renderManifest,
  type SettingsTarget,
} from "./layout.ts";
import { applySettingsFile, type SettingsChange } from "./settings_merge.ts";
import { otelEnv } from "./settings_env.ts";
import { copyRuntimeFiles, listRuntimeFiles, writeIfChanged } from "./sources.ts";
import { relayUnits } from "./systemd_unit.ts";
import { chooseRelayPort, describeHolder, portHolder, portIsFor } from "./relay_port.ts";
import { allWrappers } from "./wrappers.ts";

/**
 * Paths that go into wrappers, permission flags and settings unquoted: absolute, and only
 * letters, digits and `. _ - + @ /` (a comma would split a `--allow-read` list).
 */
export const SAFE_PATH = /^\/[A-Za-z0-9._+@\/-]*$/;

/** Checks a path against {@linkcode SAFE_PATH}; throws a `ConfigError` naming the flag. */
export function checkPath(flag: string, path: string): void {
  if (!SAFE_PATH.test(path) || path.split("/").includes("..")) {
    throw new ConfigError(
      `Cannot use ${flag} "${path}": give an absolute path of letters, digits and . _ - + @ /`,
    );
  }
}

/** What to install. */
export interface InstallRequest {
  /** Absolute install dir. */
  installDir: string;
  /** The checkout to copy `hooks/` and `shared/` from. */
  repoDir: string;
  /** The deno binary the wrappers run (absolute, resolved: `Deno.execPath()`). */
  denoPath: string;
  /** Values for `.env` (see `EnvUpdates`); ZO_LOG_DIR falls back to `defaultLogDir`. */
  env: EnvUpdates;
  /** Log dir when neither the flags nor an existing `.env` give one. */
  defaultLogDir: string;
  /** A settings file to merge the block into. */
  settingsPath?: string;
  hookType: HookType;
  dryRun: boolean;
  /**
   * Claude Code's OpenTelemetry export to this install's relay (`settings_env.ts`): on by
   * default; the detail flags add prompt text and tool parameters.
   */
  otel?: { enabled: boolean; logPrompts?: boolean; logToolDetails?: boolean };
  /** Cache the relay's OTLP protobuf decoder (npm packages, fetched now). */
  otlpProtobuf?: boolean;
  /** Where the key came from (`--key-file /k`, `ZO_INGEST_KEY in the environment`, ...). */
  keySource?: string;
  /** Where the salt came from, when a flag gave it (`--salt-file /s`). */
  saltSource?: string;
  /**
   * What `claude --version` reported (`claude_version.ts`); undefined: none found. It decides
   * whether the blocks wire the events Claude Code 2.1.328 rejects.
   */
  claudeVersion?: string | undefined;
  /** Progress lines (stderr). */
  log: (line: string) => void;
}

/** What an install produced. */
export interface InstallResult {
  config: VmConfig;
  commandBlock: HooksSettings;
  httpBlock: HooksSettings;
  /** The settings' `env` entries that turn Claude Code's OpenTelemetry export on; {} when off. */
  settingsEnv: Record<string, string>;
  settingsChange?: SettingsChange;
  /** Files written or changed in this run: relative to the install dir, or absolute (settings). */
  changed: string[];
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function removeStale(dir: string, previous: Manifest | undefined, files: Set<string>) {
  for (const file of previous?.files ?? []) {
    if (files.has(file)) continue;
    await Deno.remove(`${dir}/${file}`).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
}

/** Says which Claude Code the blocks are for, and what that changed. */
function claudeCodeLine(version: string | undefined, wirePending: boolean): string {
  const pending = PENDING_EVENTS.join(" and ");
  if (version === undefined) {
    return `no Claude Code found (claude --version on PATH): the blocks leave out ${pending}, ` +
      `which Claude Code ${NEWEST_REJECTING_PENDING} rejects; re-run bootstrap once it is installed`;
  }
  return wirePending
    ? `Claude Code ${version} (claude --version), newer than ${NEWEST_REJECTING_PENDING}: the ` +
      `blocks wire ${pending} too (should it still reject them, it warns once and ignores them)`
    : `Claude Code ${version} (claude --version): the blocks leave out ${pending}, which it ` +
      "rejects in settings";
}

/**
 * Gives the install its own relay port when `.env` names none (`chooseRelayPort`: derived from
 * the install dir, the next one when taken) and sets it in `values`; says which it passed over.
 */
async function settleRelayPort(
  installDir: string,
  values: Map<string, string>,
): Promise<{ chosen: boolean; lines: string[] }> {
  if (values.get("ZO_RELAY_PORT")) return { chosen: false, lines: [] };
  const choice = await chooseRelayPort(installDir);
  values.set("ZO_RELAY_PORT", String(choice.port));
  return {
    chosen: true,
    lines: choice.skipped.map(({ port, holder }) =>
      `  relay port ${port} is held by ${describeHolder(holder)}: passed over`
    ),
  };
}

/** Installs (or, with `dryRun`, plans) per `request`. */
export async function install(request: InstallRequest): Promise<InstallResult> {
  const { log, dryRun } = request;
  checkPath("--install-dir", request.installDir);
  const layout = installLayout(request.installDir);
  const previous = await readManifest(layout);

  const existingEnv = parseEnvFile(await readText(layout.envFile) ?? "");
  const updates: EnvUpdates = { ...request.env };
  if (!updates.ZO_LOG_DIR && !existingEnv.get("ZO_LOG_DIR")) {
    updates.ZO_LOG_DIR = request.defaultLogDir;
  }
  const envValues = composeEnv(existingEnv, updates);
  const portNotes = await settleRelayPort(layout.dir, envValues);
  const config = loadVmConfig((name) => envValues.get(name));
  if (!portNotes.chosen) {
    const holder = await portHolder(config.relayPort);
    if (!portIsFor(holder, layout.dir)) {
      portNotes.lines.push(
        `  warning: relay port ${config.relayPort} (ZO_RELAY_PORT in ${layout.envFile}) is held ` +
          `by ${describeHolder(holder)}: this install's relay cannot serve http hooks there; ` +
          `re-run with --relay-port "" to pick a free one`,
      );
    }
  } else if (previous && !existingEnv.get("ZO_RELAY_PORT")) {
    portNotes.lines.push(
      `  note: http hooks move to this install's own port ${config.relayPort} (was the shared ` +
        "8790): restart a relay service running from here",
    );
  }
  checkPath("--log-dir", config.logDir);
  const envText = renderEnvFile(envValues);

  const sources = await listRuntimeFiles(request.repoDir);
  const wrappers = allWrappers({ layout, denoPath: request.denoPath, config });
  const units = relayUnits({ installDir: layout.dir, logDir: config.logDir });
  const wirePending = acceptsPendingEvents(request.claudeVersion);
  const commandBlock = hooksBlock({
    installDir: layout.dir,
    hookType: "command",
    relayPort: config.relayPort,
    wirePending,
  });
  const httpBlock = hooksBlock({
    installDir: layout.dir,
    hookType: "http",
    relayPort: config.relayPort,
    wirePending,
  });
  const otelWanted = (request.otel?.enabled ?? true)
    ? otelEnv({
      relayPort: config.relayPort,
      logPrompts: request.otel?.logPrompts,
      logToolDetails: request.otel?.logToolDetails,
    })
    : {};
  const withEnv = (hooks: HooksSettings) =>
    JSON.stringify(
      Object.keys(otelWanted).length > 0 ? { env: otelWanted, hooks } : { hooks },
      null,
      2,
    ) + "\n";
  const blockFiles = new Map([
    ["settings/hooks.command.json", withEnv(commandBlock)],
    ["settings/hooks.http.json", withEnv(httpBlock)],
  ]);
  const generated = new Map<string, { text: string; mode: number }>();
  for (const [name, text] of wrappers) generated.set(`bin/${name}`, { text, mode: 0o755 });
  for (const unit of units) generated.set(`systemd/${unit.name}`, { text: unit.text, mode: 0o644 });
  for (const [name, text] of blockFiles) generated.set(name, { text, mode: 0o644 });

  const entries = [...HOOK_SCRIPTS.map((s) => s.file), "relay.ts", "usage_collector.ts"].map((
    file,
  ) => `${layout.hooksDir}/${file}`);
  const keySet = envValues.has("ZO_INGEST_KEY");
  const keyFrom = request.env.ZO_INGEST_KEY !== undefined
    ? `from ${request.keySource ?? "the flags"}`
    : keySet
    ? `kept from ${layout.envFile}`
    : "none";
  const saltFrom = request.saltSource
    ? `from ${request.saltSource}`
    : existingEnv.get("ZO_REDACTION_SALT")
    ? "kept"
    : "new (one per install: give the fleet's with --salt-file)";
  const prefix = dryRun ? "would " : "";
  log(`${dryRun ? "Dry run: nothing is written. " : ""}Installing into ${layout.dir}`);
  log(`  ${prefix}copy the ${sources.length} files the hooks and the relay run`);
  log(`  ${prefix}cache ${entries.length} entry scripts in ${layout.denoDir}`);
  if (request.otlpProtobuf) {
    log(`  ${prefix}cache the relay's OTLP protobuf decoder (npm) in ${layout.denoDir}`);
  }
  log(
    `  ${prefix}write ${layout.envFile} (0600): endpoint ${config.endpoint?.href ?? "none"}, ` +
      `key ${keyFrom}, project ${config.projectId ?? "none"}, log dir ` +
      `${config.logDir}, salt ${saltFrom}, relay port ${config.relayPort}` +
      (portNotes.chosen ? " (this install's own)" : ""),
  );
  for (const line of portNotes.lines) log(line);
  log(`  ${prefix}write ${wrappers.size} wrappers in ${layout.binDir} (0755)`);
  log(`  ${claudeCodeLine(request.claudeVersion, wirePending)}`);
  log(`  ${prefix}write the relay's systemd units in ${layout.systemdDir}`);
  if (!config.endpoint) log("  no endpoint: events stay in the spool under the log dir");
  else if (!keySet) log("  no API key: only a bridge without keys (loopback) will take events");
  if (request.denoPath.includes("/_npx/")) {
    log(
      `  note: deno runs from npx's cache (${request.denoPath}), which npm may clear; ` +
        "install deno (scripts/bootstrap_vm.sh does) so the wrappers keep a stable path",
    );
  }

  const changed: string[] = [];
  let settingsChange: SettingsChange | undefined;
  if (!dryRun) {
    await Deno.mkdir(layout.dir, { recursive: true, mode: 0o755 });
    changed.push(...await copyRuntimeFiles(request.repoDir, layout.dir, sources));
    const pathVersion = await pathDenoVersion();
    if (pathVersion !== Deno.version.deno) {
      log(
        `  warning: the deno on PATH is ${pathVersion ?? "missing"}, not ${Deno.version.deno}; ` +
          "the first hook runs may transpile again",
      );
    }
    await cacheEntryScripts({ denoDir: layout.denoDir, entries });
    if (request.otlpProtobuf) {
      await cacheOtlpProtobuf({
        denoDir: layout.denoDir,
        module: `${layout.hooksDir}/pipeline/otel/otlp_protobuf.ts`,
      });
    }
    if (await writeEnvFile(layout.envFile, envText)) changed.push(".env");
    for (const [file, { text, mode }] of generated) {
      if (await writeIfChanged(`${layout.dir}/${file}`, new TextEncoder().encode(text), mode)) {
        changed.push(file);
      }
    }
    await Deno.mkdir(config.logDir, { recursive: true, mode: 0o700 });
  }
  if (request.settingsPath) {
    const block = request.hookType === "http" ? httpBlock : commandBlock;
    const previousEnv = previous?.settings.find((s) => s.path === request.settingsPath)?.env;
    settingsChange = await applySettingsFile(request.settingsPath, block, {
      installDir: layout.dir,
      dryRun,
      env: { wanted: otelWanted, ...(previousEnv ? { previous: previousEnv } : {}) },
    });
    if (settingsChange.changed && !dryRun) changed.push(request.settingsPath);
    log(
      settingsChange.changed
        ? `  ${prefix}merge ${request.hookType} hooks into ${request.settingsPath}` +
          (settingsChange.backupWritten ? ` (backup: ${settingsChange.backupWritten})` : "")
        : `  ${request.settingsPath} already has these hooks: left as is`,
    );
    const otelNames = Object.keys(otelWanted);
    if (otelNames.length > 0) {
      log(
        `  Claude Code's OpenTelemetry export goes to the relay (http://127.0.0.1:` +
          `${config.relayPort}): ${otelNames.join(", ")} in the settings' env block ` +
          "(--no-otel leaves it out)",
      );
    }
    for (const conflict of settingsChange.envConflicts ?? []) {
      log(
        `  note: ${request.settingsPath} sets ${conflict.name}=${conflict.theirs}; kept ` +
          `(bootstrap would set ${conflict.ours}), so that part of the export stays yours`,
      );
    }
    if (request.hookType === "http") {
      log(
        `  http hooks need the relay running as a service: ${layout.binDir}/relay --service, ` +
          `or a unit from ${layout.systemdDir}`,
      );
    }
  }

  const files = new Set([...sources, ".env", ...generated.keys(), "install.json"]);
  const settings: SettingsTarget[] = (previous?.settings ?? []).filter((s) =>
    s.path !== request.settingsPath
  );
  if (request.settingsPath) {
    const env = settingsChange?.envWritten;
    settings.push({
      path: request.settingsPath,
      hookType: request.hookType,
      ...(env && Object.keys(env).length > 0 ? { env } : {}),
    });
  }
  const manifest: Manifest = {
    version: 1,
    denoPath: request.denoPath,
    logDir: config.logDir,
    files: [...files],
    dirs: ["deno_dir"],
    settings,
  };
  if (!dryRun) {
    await removeStale(layout.dir, previous, files);
    const text = new TextEncoder().encode(renderManifest(manifest));
    if (await writeIfChanged(layout.manifestFile, text, 0o644)) changed.push("install.json");
    log(
      changed.length === 0
        ? "Done: nothing changed."
        : `Done: ${changed.length} files written or changed.`,
    );
    // `deno task` would first install the bridge's npm packages; doctor needs none.
    log(
      `Check it: ${request.denoPath} task --quiet --node-modules-dir=manual --config ` +
        `${request.repoDir}/deno.json doctor --install-dir ${layout.dir}`,
    );
  }
  return { config, commandBlock, httpBlock, settingsEnv: otelWanted, settingsChange, changed };
}
