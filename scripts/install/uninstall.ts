/**
 * `bootstrap --uninstall`: takes this install's hooks out of every settings file its manifest
 * names (and the one `--settings` names), then removes what the manifest lists from the install
 * dir (its files, and `deno_dir` whole), then the directories left empty, the install dir
 * included. Files it did not create stay, and so does the log dir: it may hold events not
 * shipped yet.
 *
 * @module
 */
import { installLayout, readManifest } from "./layout.ts";
import { removeFromSettingsFile, type SettingsChange } from "./settings_merge.ts";

/** What to uninstall. */
export interface UninstallRequest {
  installDir: string;
  /** A settings file to clean besides those of the manifest. */
  settingsPath?: string;
  dryRun: boolean;
  log: (line: string) => void;
}

/** What an uninstall did. */
export interface UninstallResult {
  /** False when there was no install (no manifest) and no hooks in the settings. */
  found: boolean;
  settings: SettingsChange[];
  removedFiles: number;
  logDir?: string;
}

async function removeIfPresent(path: string, recursive = false): Promise<boolean> {
  try {
    await Deno.remove(path, { recursive });
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Removes the directory if it is empty; true if it did. */
async function removeIfEmpty(path: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(path)) return false;
    await Deno.remove(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Uninstalls (or, with `dryRun`, says what it would remove). */
export async function uninstall(request: UninstallRequest): Promise<UninstallResult> {
  const { log, dryRun } = request;
  const layout = installLayout(request.installDir);
  const manifest = await readManifest(layout);
  const prefix = dryRun ? "would " : "";
  log(`${dryRun ? "Dry run: nothing is removed. " : ""}Uninstalling ${layout.dir}`);

  const paths = new Set(manifest?.settings.map((s) => s.path) ?? []);
  if (request.settingsPath) paths.add(request.settingsPath);
  const settings: SettingsChange[] = [];
  for (const path of [...paths].sort()) {
    const envWritten = manifest?.settings.find((s) => s.path === path)?.env;
    const change = await removeFromSettingsFile(path, {
      installDir: layout.dir,
      dryRun,
      ...(envWritten ? { envWritten } : {}),
    });
    settings.push(change);
    if (!change.changed) log(`  ${path}: none of this install's hooks`);
    else if (change.restored) log(`  ${prefix}restore ${path} from its backup`);
    else if (change.deleted) log(`  ${prefix}delete ${path} (bootstrap had created it)`);
    else {
      log(
        `  ${prefix}take this install's hooks out of ${path}` +
          (change.backupKept ? `; it changed since install, so ${change.backupKept} stays` : ""),
      );
    }
  }

  if (!manifest) {
    log(`  no ${layout.manifestFile}: nothing of bootstrap's to remove in ${layout.dir}`);
    return { found: settings.some((s) => s.changed), settings, removedFiles: 0 };
  }
  let removedFiles = 0;
  const dirs = new Set<string>();
  for (const file of manifest.files) {
    for (let at = file.lastIndexOf("/"); at > 0; at = file.lastIndexOf("/", at - 1)) {
      dirs.add(file.slice(0, at));
    }
    if (dryRun) removedFiles++;
    else if (await removeIfPresent(`${layout.dir}/${file}`)) removedFiles++;
  }
  for (const dir of manifest.dirs) {
    if (!dryRun) await removeIfPresent(`${layout.dir}/${dir}`, true);
  }
  log(`  ${prefix}remove ${removedFiles} files and ${manifest.dirs.join(", ")} from ${layout.dir}`);
  if (!dryRun) {
    // Deepest first, so a parent is empty by the time it is tried.
    const ordered = [...dirs].sort((a, b) => b.split("/").length - a.split("/").length);
    for (const dir of ordered) await removeIfEmpty(`${layout.dir}/${dir}`);
    if (!(await removeIfEmpty(layout.dir))) {
      log(`  ${layout.dir} holds files bootstrap did not create: it stays`);
    }
  }
  log(
    `  the log dir ${manifest.logDir} stays (it may hold events not shipped yet); ` +
      "remove it by hand when you are sure",
  );
  log(
    "  a relay unit you installed from systemd/ stays too: systemctl --user disable --now " +
      "zo-relay (or sudo systemctl disable --now zo-relay@<user>) and remove its file",
  );
  return { found: true, settings, removedFiles, logDir: manifest.logDir };
}
