/**
 * Where things go inside an install dir (`/opt/claude-hooks` by default), and the install's
 * manifest (`install.json`): the list of what bootstrap created there, so a re-run removes what a
 * newer version no longer ships and `--uninstall` removes exactly that, and doctor knows what to
 * expect.
 *
 * @module
 */

/** Install dir default (the original system's path). */
export const DEFAULT_INSTALL_DIR = "/opt/claude-hooks";

/** Paths of one install dir, all absolute. */
export interface InstallLayout {
  readonly dir: string;
  /** Wrappers, one per entry script. */
  readonly binDir: string;
  /** Copies of the repository's `hooks/` and `shared/`. */
  readonly hooksDir: string;
  readonly sharedDir: string;
  /** `DENO_DIR` of every wrapper: the transpiled entry scripts and their imports. */
  readonly denoDir: string;
  /** Settings of hooks and relay, mode 0600. */
  readonly envFile: string;
  /** The relay's systemd units. */
  readonly systemdDir: string;
  /** The Claude Code `hooks` blocks, as files for tools that merge settings themselves. */
  readonly settingsDir: string;
  readonly manifestFile: string;
}

/** The layout of `dir` (absolute, no trailing slash). */
export function installLayout(dir: string): InstallLayout {
  return {
    dir,
    binDir: `${dir}/bin`,
    hooksDir: `${dir}/hooks`,
    sharedDir: `${dir}/shared`,
    denoDir: `${dir}/deno_dir`,
    envFile: `${dir}/.env`,
    systemdDir: `${dir}/systemd`,
    settingsDir: `${dir}/settings`,
    manifestFile: `${dir}/install.json`,
  };
}

/** A Claude Code settings file bootstrap merged its hooks into. */
export interface SettingsTarget {
  path: string;
  hookType: HookType;
  /** The `env` entries bootstrap wrote into the file (`settings_env.ts`), to take out again. */
  env?: Record<string, string>;
}

/** `command`: one wrapper process per event; `http`: POSTs to the relay's loopback endpoint. */
export type HookType = "command" | "http";

/** What bootstrap created in an install dir; written last, so a partial install has none. */
export interface Manifest {
  version: 1;
  /** The deno binary the wrappers run (absolute, resolved). */
  denoPath: string;
  logDir: string;
  /** Files, relative to the install dir, sorted. */
  files: string[];
  /** Directories bootstrap owns whole (removed with all they hold), relative. */
  dirs: string[];
  /** Settings files holding this install's hooks. */
  settings: SettingsTarget[];
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return value !== null && typeof value === "object" && !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === "string");
}

/** Paths are plain and relative: a manifest never makes uninstall touch anything outside. */
function safeRelative(path: unknown): path is string {
  return typeof path === "string" && path !== "" && !path.startsWith("/") &&
    !path.split("/").some((part) => part === ".." || part === "." || part === "");
}

/** Reads the manifest of `layout`; undefined when there is none (no install, or a partial one). */
export async function readManifest(layout: InstallLayout): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(layout.manifestFile);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  let parsed: Partial<Manifest> | undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const valid = parsed?.version === 1 && typeof parsed.denoPath === "string" &&
    typeof parsed.logDir === "string" && Array.isArray(parsed.files) &&
    parsed.files.every(safeRelative) && Array.isArray(parsed.dirs) &&
    parsed.dirs.every(safeRelative) && Array.isArray(parsed.settings) &&
    parsed.settings.every((s) =>
      typeof s?.path === "string" && s.path.startsWith("/") &&
      (s.hookType === "command" || s.hookType === "http") &&
      (s.env === undefined || isStringRecord(s.env))
    );
  if (!valid) {
    throw new SyntaxError(
      `Cannot read ${layout.manifestFile}: not a manifest written by scripts/bootstrap.ts; ` +
        "move it away and run bootstrap again",
    );
  }
  return parsed as Manifest;
}

/** The manifest's text: stable key order and sorted lists, so a re-run writes the same bytes. */
export function renderManifest(manifest: Manifest): string {
  const settings = [...manifest.settings].sort((a, b) =>
    a.path < b.path ? -1 : a.path > b.path ? 1 : 0
  );
  return JSON.stringify(
    {
      version: manifest.version,
      denoPath: manifest.denoPath,
      logDir: manifest.logDir,
      files: [...manifest.files].sort(),
      dirs: [...manifest.dirs].sort(),
      settings: settings.map(({ path, hookType, env }) => ({
        path,
        hookType,
        ...(env && Object.keys(env).length > 0
          ? { env: Object.fromEntries(Object.entries(env).sort()) }
          : {}),
      })),
    },
    null,
    2,
  ) + "\n";
}
