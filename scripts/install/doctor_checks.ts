/**
 * The checks of `scripts/doctor.ts`, run in order; each returns a status, what it found and, when
 * it fails, how to fix it. The checks themselves live by what they read: the install on disk
 * (`doctor_install.ts`), the bridge (`doctor_bridge.ts`), the settings files
 * (`doctor_settings.ts`), the log dir's safety (`doctor_log_dir.ts`), what it holds
 * (`doctor_relay.ts`) and the relay port (`doctor_port.ts`); their result type and shared helpers
 * are in `doctor_result.ts`.
 *
 * @module
 */
import { type Backlog, type DeadLetters, measureBacklog, measureDeadLetters } from "./backlog.ts";
import { installLayout, type Manifest, readManifest } from "./layout.ts";
import { checkApiKey, checkEndpoint, checkKeyProject } from "./doctor_bridge.ts";
import { checkDeno, checkEnvFile, checkInstall } from "./doctor_install.ts";
import { checkLogDir } from "./doctor_log_dir.ts";
import { checkBacklog, checkDeadLetters, checkRelay, checkRelayKey } from "./doctor_relay.ts";
import { type CheckResult, type DoctorOptions, messageOf, rerun } from "./doctor_result.ts";
import { checkSettings } from "./doctor_settings.ts";
import { checkRelayPort } from "./doctor_port.ts";

/**
 * Runs every check, in order: deno, install, env, endpoint, api key, key project, settings, log
 * dir, relay, relay key, relay port, backlog, dead letters.
 */
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
  const keyResult = await checkApiKey(env, endpointResult.status === "ok", layout.envFile);
  results.push(keyResult);
  results.push(
    await checkKeyProject(env, keyResult.status === "ok", {
      envFile: layout.envFile,
      rerun: rerun(options),
    }),
  );
  const settingsPaths = options.settingsPaths ?? manifest?.settings.map((s) => s.path) ?? [];
  const { result: settingsResult, hookTypes } = await checkSettings(layout, settingsPaths, options);
  results.push(settingsResult);
  const logDir = env.get("ZO_LOG_DIR") ?? manifest?.logDir;
  const relayPort = () => checkRelayPort(layout, env, hookTypes.has("http"), options);
  if (!logDir?.startsWith("/")) {
    for (const name of ["log dir", "relay", "relay key"]) {
      results.push({ name, status: "skip", detail: "no log dir known" });
    }
    results.push(await relayPort());
    for (const name of ["backlog", "dead letters"]) {
      results.push({ name, status: "skip", detail: "no log dir known" });
    }
    return results;
  }
  results.push(await checkLogDir(logDir));
  let backlog: Backlog;
  let dead: DeadLetters;
  try {
    backlog = await measureBacklog(logDir);
    dead = await measureDeadLetters(logDir);
  } catch (error) {
    const unread = (name: string): CheckResult => ({
      name,
      status: "skip",
      detail: "the log dir cannot be read",
    });
    results.push(unread("relay"), unread("relay key"), await relayPort(), {
      name: "backlog",
      status: "fail",
      detail: `cannot read the log dir ${logDir}: ${messageOf(error)}`,
      fix: "run doctor as the user that owns the log dir",
    }, unread("dead letters"));
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
  results.push(await checkRelayKey(layout, logDir, env, nowMs));
  results.push(await relayPort());
  results.push(checkBacklog(backlog, endpoint, layout, nowMs));
  results.push(checkDeadLetters(dead, layout.envFile));
  return results;
}
