/**
 * What bootstrap copies from the checkout into the install dir: the code that runs on a VM, i.e.
 * every `.ts` and `.json` file under `hooks/` and `shared/` except tests (`*_test.ts`) and test
 * helpers (`_testing.ts`, anything under a `testing/` directory). Copies are written only when
 * their bytes differ, so a re-run leaves unchanged files (and their mtimes) alone.
 *
 * @module
 */

/** The directories copied, relative to the checkout and to the install dir. */
export const SOURCE_DIRS = ["hooks", "shared"] as const;

/** True for a file that runs on the VM (by its path relative to the checkout). */
export function isRuntimeFile(path: string): boolean {
  const parts = path.split("/");
  const name = parts[parts.length - 1]!;
  if (!/\.(ts|json)$/.test(name)) return false;
  if (name.endsWith("_test.ts") || name === "_testing.ts") return false;
  return !parts.slice(0, -1).includes("testing");
}

/** The runtime files of the checkout at `repoDir`, relative to it, sorted. */
export async function listRuntimeFiles(repoDir: string): Promise<string[]> {
  const found: string[] = [];
  async function walk(relative: string): Promise<void> {
    for await (const entry of Deno.readDir(`${repoDir}/${relative}`)) {
      const path = `${relative}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile && isRuntimeFile(path)) found.push(path);
    }
  }
  for (const dir of SOURCE_DIRS) await walk(dir);
  return found.sort();
}

async function readOptional(path: string): Promise<Uint8Array | undefined> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/**
 * Writes `bytes` to `path` with `mode` unless the file already holds them (the mode is set
 * either way); creates parent directories (0755). Returns whether it wrote.
 */
export async function writeIfChanged(
  path: string,
  bytes: Uint8Array,
  mode: number,
): Promise<boolean> {
  const current = await readOptional(path);
  const changed = current === undefined || !sameBytes(current, bytes);
  if (changed) {
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true, mode: 0o755 });
    await Deno.writeFile(path, bytes, { mode });
  }
  await Deno.chmod(path, mode);
  return changed;
}

/** Copies `files` (relative) from `repoDir` to `installDir` (0644); returns those it wrote. */
export async function copyRuntimeFiles(
  repoDir: string,
  installDir: string,
  files: readonly string[],
): Promise<string[]> {
  const changed: string[] = [];
  for (const file of files) {
    const bytes = await Deno.readFile(`${repoDir}/${file}`);
    if (await writeIfChanged(`${installDir}/${file}`, bytes, 0o644)) changed.push(file);
  }
  return changed;
}
