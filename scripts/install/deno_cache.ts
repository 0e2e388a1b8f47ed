/**
 * Caches the installed entry scripts in the install's own `DENO_DIR`, so no hook ever downloads
 * or transpiles anything when it runs: `deno cache --no-config --no-npm --no-remote` (the flags
 * the hooks run with, so an import they could not load fails here, at install time) writes each
 * module's JavaScript under `<deno_dir>/gen/`. Hooks import only local files; the cache holds
 * the transpiled output and the dependency analysis.
 *
 * @module
 */

/** Where deno keeps the transpiled form of the local file `path` (absolute) in `denoDir`. */
export function cachedModulePath(denoDir: string, path: string): string {
  return `${denoDir}/gen/file${path}.js`;
}

/** Options of {@linkcode cacheEntryScripts}. */
export interface CacheOptions {
  denoDir: string;
  /** Absolute paths of the entry scripts. */
  entries: readonly string[];
  /**
   * The program to run; default `deno` from PATH (a task's `--allow-run=deno` covers that name,
   * not the absolute path). The caller checks it is the deno the wrappers run.
   */
  deno?: string;
}

/** Runs `deno cache` over the entry scripts; throws with deno's own message when it fails. */
export async function cacheEntryScripts(options: CacheOptions): Promise<void> {
  const output = await new Deno.Command(options.deno ?? "deno", {
    args: ["cache", "--no-config", "--no-npm", "--no-remote", "--quiet", ...options.entries],
    env: { DENO_DIR: options.denoDir, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    const why = new TextDecoder().decode(output.stderr).trim().split("\n").slice(0, 5).join(" | ");
    throw new Error(`Cannot cache the hooks in ${options.denoDir}: deno cache failed: ${why}`);
  }
  const missing = options.entries.filter((entry) => {
    try {
      Deno.statSync(cachedModulePath(options.denoDir, entry));
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    throw new Error(
      `Cannot cache the hooks in ${options.denoDir}: no transpiled ${missing[0]} after deno cache`,
    );
  }
}

/**
 * Caches the OTLP protobuf decoder's npm packages in the install's `DENO_DIR`
 * (`bootstrap --otlp-protobuf`): the one module of the install that loads npm packages, which the
 * relay then loads from that cache only (`--cached-only`). Needs the npm registry now, never on
 * the relay's path. `module` is the installed `hooks/pipeline/otel/otlp_protobuf.ts`.
 */
export async function cacheOtlpProtobuf(
  options: { denoDir: string; module: string; deno?: string },
): Promise<void> {
  const output = await new Deno.Command(options.deno ?? "deno", {
    args: ["cache", "--no-config", "--quiet", options.module],
    env: { DENO_DIR: options.denoDir, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    const why = new TextDecoder().decode(output.stderr).trim().split("\n").slice(0, 3).join(" | ");
    throw new Error(
      `Cannot cache the OTLP protobuf decoder in ${options.denoDir} (it needs the npm registry ` +
        `once, now): ${why}; leave out --otlp-protobuf to use OTLP/HTTP JSON only`,
    );
  }
}

/** The version of the `deno` on PATH (`2.9.6`), to compare with the one the wrappers run. */
export async function pathDenoVersion(deno = "deno"): Promise<string | undefined> {
  try {
    const output = await new Deno.Command(deno, {
      args: ["--version"],
      env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    return /^deno (\S+)/.exec(new TextDecoder().decode(output.stdout))?.[1];
  } catch {
    return undefined;
  }
}
