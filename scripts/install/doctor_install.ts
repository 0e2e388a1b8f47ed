/**
 * Doctor's checks of the install on disk: the deno binary the wrappers run, the files of the
 * manifest, and the `.env` file.
 *
 * @module
 */
import { HOOK_SCRIPTS } from "./hook_permissions.ts";
import { cachedModulePath } from "./deno_cache.ts";
import { parseEnvFile } from "./env_file.ts";
import type { InstallLayout, Manifest } from "./layout.ts";
import { wrapperDenoPath } from "./wrappers.ts";
import {
  type CheckResult,
  type DoctorOptions,
  readOptional,
  rerun,
  statOptional,
} from "./doctor_result.ts";

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
