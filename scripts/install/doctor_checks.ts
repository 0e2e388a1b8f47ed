/**
 * The checks of `scripts/doctor.ts`, each returning a status, what it found and, when it fails,
 * how to fix it. They read the install (its manifest, wrappers and `.env`), the log dir and the
 * settings files, and ask the bridge two things: `GET <endpoint>/../health`, and whether it takes
 * the key, by a `POST` of an empty body to the ingest URL (answered 400 `empty_body` once the key
 * has passed, 401/403 before; nothing is stored, though the bridge counts one malformed request
 * in `zo_events_rejected_total`). The key itself is never printed.
 *
 * @module
 */
import { HOOK_SCRIPTS } from "./hook_permissions.ts";
import { relayAlive } from "../../hooks/pipeline/relay_launcher.ts";
import { LAYOUT } from "../../hooks/pipeline/spool.ts";
import { type Backlog, measureBacklog } from "./backlog.ts";
import { cachedModulePath } from "./deno_cache.ts";
import { parseEnvFile } from "./env_file.ts";
import { isOurHook, WIRED_EVENTS } from "./hooks_block.ts";
import {
  type HookType,
  type InstallLayout,
  installLayout,
  type Manifest,
  readManifest,
} from "./layout.ts";
import { wrapperDenoPath } from "./wrappers.ts";

/** A check's outcome: `warn` and `skip` do not fail doctor. */
export type Status = "ok" | "warn" | "fail" | "skip";

/** One check's result. */
export interface CheckResult {
  name: string;
  status: Status;
  detail: string;
  /** How to fix it (with `fail`, and `warn` where there is something to do). */
  fix?: string;
}

/** Unshipped events older than this mean the relay is not shipping. */
export const BACKLOG_STALE_MS = 10 * 60_000;
/** How long doctor waits for the bridge. */
export const REQUEST_TIMEOUT_MS = 5_000;

/** Options of {@linkcode runDoctor}. */
export interface DoctorOptions {
  installDir: string;
  /** Settings files to check; default those the manifest names. */
  settingsPaths?: string[];
  /** For the fix lines: how to run bootstrap again. */
  bootstrapCommand?: string;
  nowMs?: number;
}

function rerun(options: DoctorOptions): string {
  return `re-run ${
    options.bootstrapCommand ?? "deno task bootstrap"
  } --install-dir ${options.installDir} ` +
    "(it keeps your .env)";
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function statOptional(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Deno: the binary the wrappers run exists and is executable. */
export async function checkDeno(
  layout: InstallLayout,
  manifest: Manifest | undefined,
  options: DoctorOptions,
): Promise<CheckResult> {
  const name = "deno";
  const wrapper = await readOptional(`${layout.binDir}/zo_report_event`);
  const path = (wrapper && wrapperDenoPath(wrapper)) ?? manifest?.denoPath;
  if (!path) {
    return {
      name,
      status: "fail",
      detail: "no wrapper or manifest names a deno binary",
      fix: rerun(options),
    };
  }
  if (path === Deno.execPath()) {
    return { name, status: "ok", detail: `deno ${Deno.version.deno} at ${path}` };
  }
  const info = await statOptional(path);
  const fix = "install deno 2.9.6 (bash scripts/bootstrap_vm.sh does it), then " + rerun(options) +
    " so the wrappers name its path";
  if (!info) {
    return { name, status: "fail", detail: `no deno at ${path}, which the wrappers run`, fix };
  }
  if (!info.isFile || ((info.mode ?? 0) & 0o111) === 0) {
    return { name, status: "fail", detail: `${path} is not an executable file`, fix };
  }
  return {
    name,
    status: "ok",
    detail: `deno at ${path} (not the binary running doctor: its version is not checked)`,
  };
}

/** Install: every file of the manifest, wrappers executable, entry scripts cached. */
export async function checkInstall(
  layout: InstallLayout,
  manifest: Manifest | undefined,
  options: DoctorOptions,
): Promise<CheckResult> {
  const name = "install";
  if (!manifest) {
    return {
      name,
      status: "fail",
      detail: `no ${layout.manifestFile}: nothing installed there, or bootstrap did not finish`,
      fix: rerun(options),
    };
  }
  const problems: string[] = [];
  for (const file of manifest.files) {
    const info = await statOptional(`${layout.dir}/${file}`);
    if (!info) problems.push(`${file} is missing`);
    else if (file.startsWith("bin/") && ((info.mode ?? 0) & 0o111) !== 0o111) {
      problems.push(`${file} is not executable (mode ${((info.mode ?? 0) & 0o777).toString(8)})`);
    }
  }
  for (const file of [...HOOK_SCRIPTS.map((s) => s.file), "relay.ts", "usage_collector.ts"]) {
    const cached = cachedModulePath(layout.denoDir, `${layout.hooksDir}/${file}`);
    if (!(await statOptional(cached))) problems.push(`hooks/${file} is not cached in deno_dir`);
  }
  if (problems.length > 0) {
    const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : "";
    return {
      name,
      status: "fail",
      detail: problems.slice(0, 3).join("; ") + more,
      fix: rerun(options),
    };
  }
  return {
    name,
    status: "ok",
    detail: `${manifest.files.length} files in ${layout.dir}, entry scripts cached`,
  };
}

/** The .env file: present, mode 0600, with an absolute ZO_LOG_DIR. */
export async function checkEnvFile(
  layout: InstallLayout,
  options: DoctorOptions,
): Promise<{ result: CheckResult; env: Map<string, string> }> {
  const name = "env";
  const info = await statOptional(layout.envFile);
  if (!info) {
    return {
      result: { name, status: "fail", detail: `no ${layout.envFile}`, fix: rerun(options) },
      env: new Map(),
    };
  }
  const env = parseEnvFile(await Deno.readTextFile(layout.envFile));
  const mode = (info.mode ?? 0) & 0o777;
  if (mode !== 0o600) {
    return {
      result: {
        name,
        status: "fail",
        detail: `${layout.envFile} has mode ${
          mode.toString(8).padStart(4, "0")
        }: others may read the key`,
        fix: `chmod 600 ${layout.envFile}`,
      },
      env,
    };
  }
  const logDir = env.get("ZO_LOG_DIR");
  if (!logDir?.startsWith("/")) {
    return {
      result: {
        name,
        status: "fail",
        detail: `${layout.envFile} sets no absolute ZO_LOG_DIR`,
        fix: `${rerun(options)} with --log-dir <dir>`,
      },
      env,
    };
  }
  const set = (key: string) => env.get(key) ? "set" : "none";
  return {
    result: {
      name,
      status: "ok",
      detail:
        `mode 0600; endpoint ${env.get("ZO_EVENT_ENDPOINT") ?? "none"}, key ${
          env.get("ZO_INGEST_KEY") || env.get("ZO_API_KEY") ? "set" : "none"
        }, ` +
        `project ${env.get("ZO_PROJECT_ID") ?? "none"}, salt ${set("ZO_REDACTION_SALT")}`,
    },
    env,
  };
}

/** `1 event`, `2 events`. */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0]!.slice(0, 200);
}

/** Endpoint: `GET health` next to the ingest URL answers 200. */
export async function checkEndpoint(env: Map<string, string>): Promise<CheckResult> {
  const name = "endpoint";
  const endpoint = env.get("ZO_EVENT_ENDPOINT");
  if (!endpoint) {
    return { name, status: "skip", detail: "no ZO_EVENT_ENDPOINT: events stay in the local spool" };
  }
  let url: URL;
  try {
    url = new URL("health", endpoint);
  } catch {
    return {
      name,
      status: "fail",
      detail: `ZO_EVENT_ENDPOINT "${endpoint}" is no URL`,
      fix: "re-run bootstrap with --endpoint https://<bridge>/ingest",
    };
  }
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    await response.body?.cancel();
    if (response.ok) return { name, status: "ok", detail: `GET ${url.href}: ${response.status}` };
    return {
      name,
      status: "fail",
      detail: `GET ${url.href}: ${response.status}` +
        (response.status === 503 ? " (the bridge runs but cannot reach its Chroma)" : ""),
      fix: response.status === 503
        ? "look at the bridge's log and its Chroma"
        : "check that ZO_EVENT_ENDPOINT points at the bridge's /ingest",
    };
  } catch (error) {
    return {
      name,
      status: "fail",
      detail: `no answer from ${url.href}: ${messageOf(error)}`,
      fix: `check the URL in the .env, DNS, the firewall and TLS: curl -sS ${url.href}`,
    };
  }
}

/** Key: the bridge lets an empty ingest request past authentication (400 `empty_body`). */
export async function checkApiKey(
  env: Map<string, string>,
  endpointOk: boolean,
  envFile: string,
): Promise<CheckResult> {
  const name = "api key";
  const endpoint = env.get("ZO_EVENT_ENDPOINT");
  if (!endpoint) return { name, status: "skip", detail: "no endpoint" };
  if (!endpointOk) return { name, status: "skip", detail: "the endpoint does not answer" };
  const key = env.get("ZO_INGEST_KEY") ?? env.get("ZO_API_KEY");
  const fix = `put an ingest key of the bridge into ZO_INGEST_KEY in ${envFile} ` +
    "(re-run bootstrap with --key-file <file>)";
  let status: number;
  let reason: string | undefined;
  try {
    const response = await fetch(endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-ndjson",
        ...(key ? { authorization: `Bearer ${key}` } : {}),
      },
      body: "",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    status = response.status;
    const body = await response.text();
    try {
      reason = JSON.parse(body)?.details?.reason;
    } catch {
      reason = undefined;
    }
  } catch (error) {
    return { name, status: "fail", detail: `POST ${endpoint}: ${messageOf(error)}`, fix };
  }
  if (status === 400 && reason === "empty_body") {
    return {
      name,
      status: "ok",
      detail: key ? "the bridge accepts the key for ingest" : "the bridge takes events with no key",
    };
  }
  if (status === 401) {
    return {
      name,
      status: "fail",
      detail: key ? "the bridge does not know the key (401)" : "the bridge wants a key (401)",
      fix,
    };
  }
  if (status === 403) {
    return { name, status: "fail", detail: "the key lacks the ingest scope (403)", fix };
  }
  if (status === 429 || status === 503) {
    return { name, status: "warn", detail: `the bridge is busy (${status}); try again shortly` };
  }
  return {
    name,
    status: "fail",
    detail: `POST ${endpoint} answered ${status}, not the bridge's 400 for an empty body`,
    fix: "check that ZO_EVENT_ENDPOINT is the bridge's /ingest URL",
  };
}

/** Settings: every wired event has one of this install's hooks in each settings file. */
export async function checkSettings(
  layout: InstallLayout,
  paths: readonly string[],
  options: DoctorOptions,
): Promise<{ result: CheckResult; hookTypes: Set<HookType> }> {
  const name = "settings";
  const hookTypes = new Set<HookType>();
  if (paths.length === 0) {
    return {
      result: {
        name,
        status: "skip",
        detail: "bootstrap merged the hooks into no settings file; pass --settings user|project " +
          "to check one",
      },
      hookTypes,
    };
  }
  const problems: string[] = [];
  for (const path of paths) {
    const text = await readOptional(path);
    if (text === undefined) {
      problems.push(`${path} does not exist`);
      continue;
    }
    let hooks: Record<string, unknown> = {};
    try {
      hooks = JSON.parse(text)?.hooks ?? {};
    } catch (error) {
      problems.push(`${path} is not JSON (${messageOf(error)})`);
      continue;
    }
    const missing: string[] = [];
    for (const event of WIRED_EVENTS) {
      const groups = Array.isArray(hooks[event]) ? hooks[event] as { hooks?: unknown[] }[] : [];
      const ours = groups.flatMap((g) => Array.isArray(g?.hooks) ? g.hooks : [])
        .find((h) => isOurHook(h, layout.dir)) as { type?: string } | undefined;
      if (ours) hookTypes.add(ours.type === "http" ? "http" : "command");
      else missing.push(event);
    }
    if (missing.length > 0) {
      problems.push(
        `${path} does not wire ${missing.slice(0, 4).join(", ")}` +
          (missing.length > 4 ? ` and ${missing.length - 4} more` : ""),
      );
    }
  }
  if (problems.length > 0) {
    return {
      result: {
        name,
        status: "fail",
        detail: problems.join("; "),
        fix: `${rerun(options)} with --settings user|project (your own hooks stay)`,
      },
      hookTypes,
    };
  }
  return {
    result: {
      name,
      status: "ok",
      detail: `${WIRED_EVENTS.length} events wired (${[...hookTypes].join(", ")} hooks) in ${
        paths.join(", ")
      }`,
    },
    hookTypes,
  };
}

/** Relay: its heartbeat is fresh, or nothing needs one now. */
export async function checkRelay(
  layout: InstallLayout,
  logDir: string,
  needs: { http: boolean; backlog: number; endpoint: boolean },
  nowMs: number,
): Promise<CheckResult> {
  const name = "relay";
  const heartbeat = `${logDir}/${LAYOUT.heartbeatFile}`;
  if (relayAlive(logDir, nowMs)) {
    const pid = (await readOptional(heartbeat))?.trim();
    return { name, status: "ok", detail: `running (pid ${pid || "?"})` };
  }
  const start = `${layout.binDir}/relay --service, or a unit from ${layout.systemdDir}`;
  if (needs.http) {
    return {
      name,
      status: "fail",
      detail: `no relay runs for ${logDir}, and the http hooks need one`,
      fix: `start it: ${start}`,
    };
  }
  if (needs.endpoint && needs.backlog > 0) {
    return {
      name,
      status: "fail",
      detail: `no relay runs for ${logDir}, with ${count(needs.backlog, "event")} waiting`,
      fix:
        `start it (${start}); if it stops at once, run ${layout.binDir}/relay by hand to see why`,
    };
  }
  return {
    name,
    status: "ok",
    detail: needs.endpoint
      ? "not running, nothing to ship: the next hook starts one on demand"
      : "not needed: no endpoint",
  };
}

function size(bytes: number): string {
  return bytes < 1024 * 1024
    ? `${(bytes / 1024).toFixed(1)} KB`
    : `${(bytes / 1048576).toFixed(1)} MB`;
}

/** Backlog: how much waits to be shipped; stale when its oldest event is too old. */
export function checkBacklog(
  backlog: Backlog,
  endpoint: boolean,
  layout: InstallLayout,
  nowMs: number,
): CheckResult {
  const name = "backlog";
  const dead = backlog.deadLetters > 0
    ? `; ${count(backlog.deadLetters, "event")} refused by the bridge in relay/dead_letter.jsonl`
    : "";
  if (backlog.events === 0) return { name, status: "ok", detail: `nothing waits${dead}` };
  const waiting = `${count(backlog.events, "event")} (${size(backlog.bytes)}) waiting`;
  if (!endpoint) {
    return { name, status: "ok", detail: `${waiting} in the local spool (no endpoint)${dead}` };
  }
  const age = backlog.oldestMs === undefined ? 0 : nowMs - backlog.oldestMs;
  if (age > BACKLOG_STALE_MS) {
    return {
      name,
      status: "fail",
      detail: `${waiting}, the oldest since ${
        new Date(backlog.oldestMs!).toISOString()
      }: nothing ships`,
      fix: "see the relay, endpoint and key checks; run " +
        `${layout.binDir}/relay by hand to see its errors`,
    };
  }
  return { name, status: "ok", detail: `${waiting} to be shipped${dead}` };
}

/** Runs every check, in order: deno, install, env, endpoint, api key, settings, relay, backlog. */
export async function runDoctor(options: DoctorOptions): Promise<CheckResult[]> {
  const nowMs = options.nowMs ?? Date.now();
  const layout = installLayout(options.installDir);
  let manifest: Manifest | undefined;
  let manifestError: string | undefined;
  try {
    manifest = await readManifest(layout);
  } catch (error) {
    manifestError = messageOf(error);
  }
  const results: CheckResult[] = [await checkDeno(layout, manifest, options)];
  results.push(
    manifestError
      ? { name: "install", status: "fail", detail: manifestError, fix: rerun(options) }
      : await checkInstall(layout, manifest, options),
  );
  const { result: envResult, env } = await checkEnvFile(layout, options);
  results.push(envResult);
  const endpointResult = await checkEndpoint(env);
  results.push(endpointResult);
  results.push(await checkApiKey(env, endpointResult.status === "ok", layout.envFile));
  const settingsPaths = options.settingsPaths ?? manifest?.settings.map((s) => s.path) ?? [];
  const { result: settingsResult, hookTypes } = await checkSettings(layout, settingsPaths, options);
  results.push(settingsResult);
  const logDir = env.get("ZO_LOG_DIR") ?? manifest?.logDir;
  if (!logDir?.startsWith("/")) {
    results.push({ name: "relay", status: "skip", detail: "no log dir known" });
    results.push({ name: "backlog", status: "skip", detail: "no log dir known" });
    return results;
  }
  let backlog: Backlog;
  try {
    backlog = await measureBacklog(logDir);
  } catch (error) {
    results.push({ name: "relay", status: "skip", detail: "the backlog cannot be read" });
    results.push({
      name: "backlog",
      status: "fail",
      detail: `cannot read the spool in ${logDir}: ${messageOf(error)}`,
      fix: "run doctor as the user that owns the log dir",
    });
    return results;
  }
  const endpoint = Boolean(env.get("ZO_EVENT_ENDPOINT"));
  results.push(
    await checkRelay(
      layout,
      logDir,
      { http: hookTypes.has("http"), backlog: backlog.events, endpoint },
      nowMs,
    ),
  );
  results.push(checkBacklog(backlog, endpoint, layout, nowMs));
  return results;
}
