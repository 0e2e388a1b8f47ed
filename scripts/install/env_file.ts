/**
 * `<install>/.env`: the settings of one VM's hooks and relay, read by every wrapper through
 * Deno's `--env-file` (and usable as a systemd `EnvironmentFile` or sourced by `sh`: values are
 * single-quoted, which all three read literally). A re-run keeps what it is not told to change:
 * the API key, the other values, any extra `KEY=value` line a person added, and above all the
 * redaction salt, so host pseudonyms stay stable across upgrades.
 *
 * @module
 */
import { ConfigError } from "../../shared/config.ts";

/** The variables bootstrap manages, in the order it writes them. */
export const MANAGED_KEYS = [
  "ZO_EVENT_ENDPOINT",
  "ZO_INGEST_KEY",
  "ZO_PROJECT_ID",
  "ZO_LOG_DIR",
  "ZO_WORKER_ID",
  "ZO_REDACTION_SALT",
  "ZO_RELAY_PORT",
] as const;

/** One of {@linkcode MANAGED_KEYS}. */
export type ManagedKey = typeof MANAGED_KEYS[number];

const HEADER = [
  "# Claude Code telemetry: settings of the hooks and relay installed here. Written by",
  "# scripts/bootstrap.ts; re-run it after an edit so the wrappers' permission flags follow",
  "# (ZO_LOG_DIR, ZO_EVENT_ENDPOINT, ZO_RELAY_PORT). Other KEY='value' lines are kept; comments",
  "# are not. Variables set in the caller's environment win over this file (ZO_LOG_DIR aside).",
];

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses a `.env` text: `KEY=value`, `KEY='value'`, `KEY="value"` (no escapes are interpreted),
 * an optional `export ` prefix; blank lines and `#` comments are skipped. Later lines win.
 */
export function parseEnvFile(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const body = line.startsWith("export ") ? line.slice("export ".length).trimStart() : line;
    const equals = body.indexOf("=");
    if (equals <= 0) continue;
    const key = body.slice(0, equals).trim();
    if (!KEY.test(key)) continue;
    let value = body.slice(equals + 1).trim();
    const quote = value[0];
    if ((quote === "'" || quote === '"') && value.length >= 2 && value.endsWith(quote)) {
      value = value.slice(1, -1);
    }
    values.set(key, value);
  }
  return values;
}

/**
 * Checks that `value` can be written single-quoted: no `'`, no line break, no NUL. Throws a
 * `ConfigError` naming the variable otherwise.
 */
export function checkEnvValue(key: string, value: string): void {
  if (/['\n\r\0]/.test(value)) {
    throw new ConfigError(
      `Cannot write ${key} to .env: its value holds a quote (') or a line break; remove it`,
    );
  }
}

/** A random redaction salt: 32 bytes from `crypto.getRandomValues`, as hex. */
export function newSalt(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * What to change: a string sets a value, `""` removes it, undefined keeps what the file has.
 * `ZO_REDACTION_SALT` is set by `--salt-file` (the fleet's salt), else made when the file has
 * none.
 */
export type EnvUpdates = Partial<Record<ManagedKey, string>>;

/** The values of the new file: the existing ones with `updates` applied, a salt made if missing. */
export function composeEnv(
  existing: ReadonlyMap<string, string>,
  updates: EnvUpdates,
  makeSalt: () => string = newSalt,
): Map<string, string> {
  const values = new Map(existing);
  // An install from before the key had its own name: ZO_API_KEY becomes ZO_INGEST_KEY.
  const oldKey = values.get("ZO_API_KEY");
  values.delete("ZO_API_KEY");
  if (oldKey && !values.get("ZO_INGEST_KEY")) values.set("ZO_INGEST_KEY", oldKey);
  for (const key of MANAGED_KEYS) {
    const update = updates[key];
    if (key === "ZO_REDACTION_SALT" && update === "") continue;
    if (update === undefined) continue;
    if (update === "") values.delete(key);
    else values.set(key, update);
  }
  if (!values.get("ZO_REDACTION_SALT")) values.set("ZO_REDACTION_SALT", makeSalt());
  for (const [key, value] of values) checkEnvValue(key, value);
  return values;
}

/** The file's text: header, managed keys in their order, then any other keys as found. */
export function renderEnvFile(values: ReadonlyMap<string, string>): string {
  const lines = [...HEADER];
  const managed = new Set<string>(MANAGED_KEYS);
  for (const key of MANAGED_KEYS) {
    const value = values.get(key);
    if (value !== undefined) lines.push(`${key}='${value}'`);
  }
  for (const [key, value] of values) {
    if (!managed.has(key)) lines.push(`${key}='${value}'`);
  }
  return lines.join("\n") + "\n";
}

/**
 * Writes `text` to `path` with mode 0600 from the first byte (temp file, then rename), so the key
 * is never readable by others, not even for an instant. Leaves an identical file untouched;
 * returns whether it wrote. An existing file's mode is set back to 0600 either way.
 */
export async function writeEnvFile(path: string, text: string): Promise<boolean> {
  let current: string | undefined;
  try {
    current = await Deno.readTextFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (current === text) {
    await Deno.chmod(path, 0o600);
    return false;
  }
  const tmp = `${path}.tmp`;
  await Deno.remove(tmp).catch(() => {});
  await Deno.writeTextFile(tmp, text, { createNew: true, mode: 0o600 });
  await Deno.chmod(tmp, 0o600);
  await Deno.rename(tmp, path);
  return true;
}
