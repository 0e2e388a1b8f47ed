/**
 * Test helper: a fresh log dir for one test, removed afterwards with everything in it.
 *
 * @module
 */

/** Options of {@linkcode withLogDir}. */
export interface LogDirOptions {
  /**
   * False: hand out a path that does not exist yet (inside a fresh temp dir), for code that must
   * create its log dir itself. Default true.
   */
  create?: boolean;
  /** Prefix of the temp dir's name. */
  prefix?: string;
}

/** Runs `fn` with a log dir of its own; removes it however `fn` ends. */
export async function withLogDir(
  fn: (logDir: string) => Promise<void>,
  options: LogDirOptions = {},
): Promise<void> {
  const dir = await Deno.makeTempDir(options.prefix ? { prefix: options.prefix } : {});
  try {
    await fn(options.create === false ? `${dir}/log` : dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
