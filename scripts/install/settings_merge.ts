/**
 * Merges an install's hooks (and the `env` entries of `settings_env.ts`) into a Claude Code
 * settings file (`~/.claude/settings.json` or a project's `.claude/settings.json`) and takes them
 * out again.
 *
 * - Everything else is kept: other settings, and the user's own hooks, even in the same event or
 *   matcher group. Ours (see `isOurHook()`) are replaced where they stand, so a re-run writes the
 *   same bytes and then does not write at all.
 * - Backup: before the first change, the file as it was is copied to `<file>.zo-backup` (mode
 *   0600; settings may hold secrets). It is written once and never overwritten, so it always
 *   holds the file from before bootstrap first touched it.
 * - Removal takes out exactly our hooks, and the matcher groups, events and `hooks` object that
 *   only they filled. When what is left equals the backup, the backup's bytes are put back and
 *   the backup removed; a settings file bootstrap created, left empty, is deleted. Otherwise (you
 *   edited the file since) the edited file minus our hooks is written and the backup kept.
 *
 * @module
 */
import { type HooksSettings, isOurHook, type MatcherGroup } from "./hooks_block.ts";
import { type EnvConflict, mergeEnv, removeEnv } from "./settings_env.ts";

/** Suffix of the backup next to a settings file. */
export const BACKUP_SUFFIX = ".zo-backup";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Settings = { [key: string]: Json };

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Parses a settings text; throws `SyntaxError` saying what is wrong and how to fix it. */
export function parseSettings(text: string, path: string): Settings {
  let parsed: unknown;
  try {
    parsed = text.trim() === "" ? {} : JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(
      `Cannot merge hooks into ${path}: it is not JSON (${
        (error as Error).message
      }); fix it or move it away`,
    );
  }
  if (!isObject(parsed)) {
    throw new SyntaxError(`Cannot merge hooks into ${path}: it holds no JSON object`);
  }
  if (parsed.hooks !== undefined && !isObject(parsed.hooks)) {
    throw new SyntaxError(`Cannot merge hooks into ${path}: its "hooks" is not an object`);
  }
  return parsed as Settings;
}

/** The settings text bootstrap writes: 2-space JSON and a final newline. */
export function renderSettings(settings: Settings): string {
  return JSON.stringify(settings, null, 2) + "\n";
}

/**
 * Puts `block` into `settings` for `installDir`: our old hooks go, the new ones take the place of
 * the first one of each event (or go last). Returns a new object; `settings` is not changed.
 */
export function mergeHooks(
  settings: Settings,
  block: HooksSettings,
  installDir: string,
): { settings: Settings; removed: number } {
  const existing = isObject(settings.hooks) ? settings.hooks : {};
  const hooks: Record<string, unknown> = {};
  let removed = 0;
  for (const [event, value] of Object.entries(existing)) {
    if (!Array.isArray(value)) {
      hooks[event] = value;
      continue;
    }
    const kept: unknown[] = [];
    let insertAt: number | undefined;
    for (const entry of value) {
      if (!isObject(entry) || !Array.isArray(entry.hooks)) {
        kept.push(entry);
        continue;
      }
      const handlers = entry.hooks.filter((handler) => !isOurHook(handler, installDir));
      const dropped = entry.hooks.length - handlers.length;
      if (dropped === 0) {
        kept.push(entry);
        continue;
      }
      removed += dropped;
      insertAt ??= handlers.length > 0 ? kept.length + 1 : kept.length;
      if (handlers.length > 0) kept.push({ ...entry, hooks: handlers });
    }
    const ours: MatcherGroup[] = block[event] ?? [];
    if (ours.length > 0) kept.splice(insertAt ?? kept.length, 0, ...ours);
    // An event only our hooks filled goes with them.
    if (kept.length > 0 || insertAt === undefined) hooks[event] = kept;
  }
  for (const [event, groups] of Object.entries(block)) {
    if (!(event in hooks)) hooks[event] = groups;
  }
  const result: Settings = { ...settings };
  const emptiedByUs = Object.keys(hooks).length === 0 && removed > 0;
  if (emptiedByUs || (settings.hooks === undefined && Object.keys(hooks).length === 0)) {
    delete result.hooks;
  } else {
    result.hooks = hooks as Settings;
  }
  return { settings: result, removed };
}

/** `settings` without any hook of `installDir` (see {@linkcode mergeHooks}). */
export function removeHooks(
  settings: Settings,
  installDir: string,
): { settings: Settings; removed: number } {
  return mergeHooks(settings, {}, installDir);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length &&
      a.every((item, i) => deepEqual(item, b[i]));
  }
  if (!isObject(a) || !isObject(b)) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length &&
    keys.every((key) => Object.hasOwn(b, key) && deepEqual(a[key], b[key]));
}

/** Equal settings, counting an empty `hooks` object as none. */
export function sameSettings(a: Settings, b: Settings): boolean {
  const plain = (s: Settings) => {
    const copy = { ...s };
    if (isObject(copy.hooks) && Object.keys(copy.hooks).length === 0) delete copy.hooks;
    return copy;
  };
  return deepEqual(plain(a), plain(b));
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Replaces `path` with `text` by a rename, keeping its mode (new files: 0644). */
async function replaceFile(path: string, text: string): Promise<void> {
  let mode = 0o644;
  try {
    mode = (await Deno.stat(path)).mode! & 0o777;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")) || "/", { recursive: true });
  }
  const tmp = `${path}.zo-tmp`;
  await Deno.remove(tmp).catch(() => {});
  await Deno.writeTextFile(tmp, text, { createNew: true, mode });
  await Deno.chmod(tmp, mode);
  await Deno.rename(tmp, path);
}

/** What a change to a settings file did (or, in a dry run, would do). */
export interface SettingsChange {
  path: string;
  /** False: the file already was as wanted; nothing was written. */
  changed: boolean;
  /** The backup written now, if any. */
  backupWritten?: string;
  /** Removal: the backup's bytes were put back (and the backup removed). */
  restored?: boolean;
  /** Removal: the file bootstrap had created was deleted. */
  deleted?: boolean;
  /** Removal: the backup was kept (the file changed since install). */
  backupKept?: string;
  /** Merge: the `env` entries bootstrap owns in the file now (for the manifest). */
  envWritten?: Record<string, string>;
  /** Merge: `env` entries left as the user set them, instead of the wanted values. */
  envConflicts?: EnvConflict[];
}

/** The `env` entries a merge wants in the file, and those bootstrap wrote there before. */
export interface EnvRequest {
  wanted: Readonly<Record<string, string>>;
  previous?: Readonly<Record<string, string>>;
}

/** Merges `block` into the settings file at `path`; with `dryRun`, only says what it would do. */
export async function applySettingsFile(
  path: string,
  block: HooksSettings,
  options: { installDir: string; dryRun?: boolean; env?: EnvRequest },
): Promise<SettingsChange> {
  const current = await readOptional(path);
  const settings = parseSettings(current ?? "", path);
  const merged = mergeHooks(settings, block, options.installDir).settings;
  const env = mergeEnv(merged, options.env?.wanted ?? {}, options.env?.previous ?? {}, path);
  const envResult = options.env === undefined ? {} : {
    envWritten: env.written,
    ...(env.conflicts.length > 0 ? { envConflicts: env.conflicts } : {}),
  };
  const text = renderSettings(env.settings);
  if (text === current) return { path, changed: false, ...envResult };
  const backup = `${path}${BACKUP_SUFFIX}`;
  const needsBackup = current !== undefined && !(await exists(backup));
  if (!options.dryRun) {
    if (needsBackup) {
      await Deno.writeTextFile(backup, current!, { createNew: true, mode: 0o600 });
    }
    await replaceFile(path, text);
  }
  return {
    path,
    changed: true,
    ...(needsBackup ? { backupWritten: backup } : {}),
    ...envResult,
  };
}

/** Takes the hooks of `installDir` out of the settings file at `path` (see the module doc). */
export async function removeFromSettingsFile(
  path: string,
  options: { installDir: string; dryRun?: boolean; envWritten?: Readonly<Record<string, string>> },
): Promise<SettingsChange> {
  const current = await readOptional(path);
  if (current === undefined) return { path, changed: false };
  const withoutHooks = removeHooks(parseSettings(current, path), options.installDir);
  const withoutEnv = removeEnv(withoutHooks.settings, options.envWritten ?? {}, path);
  const settings = withoutEnv.settings;
  const removed = withoutHooks.removed + withoutEnv.removed;
  if (removed === 0) return { path, changed: false };
  const backup = `${path}${BACKUP_SUFFIX}`;
  const original = await readOptional(backup);
  let originalSettings: Settings | undefined;
  try {
    originalSettings = original === undefined ? undefined : parseSettings(original, backup);
  } catch {
    originalSettings = undefined;
  }
  if (original !== undefined && originalSettings && sameSettings(settings, originalSettings)) {
    if (!options.dryRun) {
      await replaceFile(path, original);
      await Deno.remove(backup);
    }
    return { path, changed: true, restored: true };
  }
  if (original === undefined && sameSettings(settings, {})) {
    if (!options.dryRun) await Deno.remove(path);
    return { path, changed: true, deleted: true };
  }
  if (!options.dryRun) await replaceFile(path, renderSettings(settings));
  return { path, changed: true, ...(original === undefined ? {} : { backupKept: backup }) };
}
