/**
 * What bootstrap copies from the checkout into the install dir: exactly the code a VM runs, i.e.
 * the entry scripts under `hooks/` (every `.ts` file directly in it except tests) and every module
 * they import, statically or by a literal `import()`, or start as a worker
 * (`new URL("./x.ts", import.meta.url)`), followed through relative specifiers. Shared
 * modules the hooks never load (the zod schema, the bridge's code) stay behind. Copies are written
 * only when their bytes differ, so a re-run leaves unchanged files (and their mtimes) alone.
 *
 * @module
 */

/** The directory whose top-level scripts are the VM's entry points. */
export const ENTRY_DIR = "hooks";

/** True for a file that may run on the VM (by its path relative to the checkout). */
export function isRuntimeFile(path: string): boolean {
  const parts = path.split("/");
  const name = parts[parts.length - 1]!;
  if (!/\.(ts|json)$/.test(name)) return false;
  if (name.endsWith("_test.ts")) return false;
  return !parts.slice(0, -1).includes("testing");
}

// `from "./x.ts"`, `import "./x.ts"`, `import("./x.ts")`: relative specifiers only (npm: and
// node: ones are not files of the checkout).
// Also `new URL("./x.ts", import.meta.url)`: a worker's module, which nothing imports.
const SPECIFIER =
  /(?:\bfrom\s+|\bimport\s*\(?\s*)"(\.{1,2}\/[^"]+)"|\bnew\s+URL\(\s*"(\.{1,2}\/[^"]+\.ts)"\s*,\s*import\.meta\.url/g;

/** The relative module specifiers `source` imports, or names as a worker's module. */
export function importedSpecifiers(source: string): string[] {
  return [...source.matchAll(SPECIFIER)].map((match) => (match[1] ?? match[2])!);
}

function resolveRelative(from: string, specifier: string): string {
  const parts = from.split("/").slice(0, -1);
  for (const part of specifier.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== ".") parts.push(part);
  }
  return parts.join("/");
}

/** The runtime files of the checkout at `repoDir`, relative to it, sorted. */
export async function listRuntimeFiles(repoDir: string): Promise<string[]> {
  const pending: string[] = [];
  for await (const entry of Deno.readDir(`${repoDir}/${ENTRY_DIR}`)) {
    const path = `${ENTRY_DIR}/${entry.name}`;
    if (entry.isFile && path.endsWith(".ts") && isRuntimeFile(path)) pending.push(path);
  }
  const found = new Set<string>();
  while (pending.length > 0) {
    const path = pending.pop()!;
    if (found.has(path)) continue;
    found.add(path);
    if (!path.endsWith(".ts")) continue;
    const source = await Deno.readTextFile(`${repoDir}/${path}`);
    for (const specifier of importedSpecifiers(source)) {
      const target = resolveRelative(path, specifier);
      if (target.startsWith("..")) {
        throw new Error(
          `Cannot list the VM's files: ${path} imports ${specifier}, outside the checkout`,
        );
      }
      pending.push(target);
    }
  }
  const files = [...found].sort();
  const odd = files.filter((file) => !isRuntimeFile(file));
  if (odd.length > 0) {
    throw new Error(
      `Cannot list the VM's files: runtime code imports test code (${odd.join(", ")})`,
    );
  }
  return files;
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
