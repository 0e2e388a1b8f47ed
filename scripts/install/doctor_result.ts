/**
 * What every doctor check returns, the options they share, and the small file and message
 * helpers they use.
 *
 * @module
 */

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

/** Options of {@linkcode runDoctor}. */
export interface DoctorOptions {
  installDir: string;
  /** Settings files to check; default those the manifest names. */
  settingsPaths?: string[];
  /** For the fix lines: how to run bootstrap again. */
  bootstrapCommand?: string;
  nowMs?: number;
}

/** The fix line that says how to run bootstrap again. */
export function rerun(options: DoctorOptions): string {
  return `re-run ${
    options.bootstrapCommand ?? "deno task bootstrap"
  } --install-dir ${options.installDir} ` +
    "(it keeps your .env)";
}

/** The text of `path`, or `undefined` when it does not exist. */
export async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** The `stat` of `path`, or `undefined` when it does not exist. */
export async function statOptional(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** `1 event`, `2 events`. */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** An error's message, first line only and at most 200 characters, for one report line. */
export function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0]!.slice(0, 200);
}
