/**
 * The `env` block of a Claude Code settings file, as bootstrap shares it with the user: the
 * entries that turn on Claude Code's OpenTelemetry export and point it at this install's relay
 * (`hooks/pipeline/otel/`), merged without ever taking a value the user set.
 *
 * - An entry is added when the file has none of that name; one bootstrap wrote before (recorded
 *   in the manifest, per settings file) is updated or taken out as the wanted entries change.
 * - An entry the user set to another value is left as it is and reported: with
 *   `OTEL_EXPORTER_OTLP_ENDPOINT` naming their own collector, their export keeps going there.
 * - Removal takes out exactly the entries bootstrap wrote that still hold the value it wrote, and
 *   the `env` object when nothing else is left in it.
 *
 * @module
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Settings = { [key: string]: Json };

/** What turns the export on (`--no-otel` leaves it out; the two detail flags add to it). */
export interface OtelEnvOptions {
  /** The relay's loopback port of this install. */
  relayPort: number;
  /** `OTEL_LOG_USER_PROMPTS=1`: prompt text in the `user_prompt` records (redacted on the VM). */
  logPrompts?: boolean;
  /** `OTEL_LOG_TOOL_DETAILS=1`: tool parameters in tool records (redacted on the VM). */
  logToolDetails?: boolean;
}

/** The env entries of the export: logs and metrics as OTLP/HTTP JSON to the relay. */
export function otelEnv(options: OtelEnvOptions): Record<string, string> {
  const env: Record<string, string> = {
    CLAUDE_CODE_ENABLE_TELEMETRY: "1",
    OTEL_LOGS_EXPORTER: "otlp",
    OTEL_METRICS_EXPORTER: "otlp",
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${options.relayPort}`,
  };
  if (options.logPrompts) env.OTEL_LOG_USER_PROMPTS = "1";
  if (options.logToolDetails) env.OTEL_LOG_TOOL_DETAILS = "1";
  return env;
}

/** An entry kept as the user set it, instead of the value bootstrap wanted. */
export interface EnvConflict {
  name: string;
  theirs: string;
  ours: string;
}

/** What {@linkcode mergeEnv} did. */
export interface EnvMerge {
  settings: Settings;
  /** The entries bootstrap now owns in this file (for the manifest). */
  written: Record<string, string>;
  conflicts: EnvConflict[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Checks the file's `env` block; throws `SyntaxError` when it is there but not an object. */
export function envOf(settings: Settings, path: string): Record<string, Json> {
  if (settings.env === undefined) return {};
  if (!isObject(settings.env)) {
    throw new SyntaxError(`Cannot merge the env block into ${path}: its "env" is not an object`);
  }
  return settings.env as Record<string, Json>;
}

/** `settings` with `env` as its env block; an empty one is left out. */
function withEnv(settings: Settings, env: Record<string, Json>): Settings {
  const result: Settings = { ...settings };
  if (Object.keys(env).length === 0) delete result.env;
  else result.env = env;
  return result;
}

/**
 * Merges `wanted` into `settings.env` (see the module doc); `previous` is what bootstrap wrote
 * into this file before (from the manifest), if anything. Returns a new object.
 */
export function mergeEnv(
  settings: Settings,
  wanted: Readonly<Record<string, string>>,
  previous: Readonly<Record<string, string>> = {},
  path = "the settings file",
): EnvMerge {
  const env: Record<string, Json> = { ...envOf(settings, path) };
  const written: Record<string, string> = {};
  const conflicts: EnvConflict[] = [];
  for (const [name, value] of Object.entries(previous)) {
    // Ours before and no longer wanted: out, unless the user changed it since.
    if (!(name in wanted) && env[name] === value) delete env[name];
  }
  for (const [name, value] of Object.entries(wanted)) {
    const current = env[name];
    if (current === undefined || current === previous[name]) {
      env[name] = value;
      written[name] = value;
    } else if (current === value) {
      // Already so: ours only if we wrote it (else it stays the user's on removal).
      if (previous[name] === value) written[name] = value;
    } else {
      conflicts.push({ name, theirs: String(current), ours: value });
    }
  }
  return { settings: withEnv(settings, env), written, conflicts };
}

/** `settings` without the entries bootstrap wrote (`written`) that still hold its value. */
export function removeEnv(
  settings: Settings,
  written: Readonly<Record<string, string>>,
  path = "the settings file",
): { settings: Settings; removed: number } {
  const env: Record<string, Json> = { ...envOf(settings, path) };
  let removed = 0;
  for (const [name, value] of Object.entries(written)) {
    if (env[name] === value) {
      delete env[name];
      removed++;
    }
  }
  if (removed === 0) return { settings, removed };
  return { settings: withEnv(settings, env), removed };
}
