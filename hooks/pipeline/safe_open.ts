/**
 * Opening files in the log dir without following links: Deno offers no `O_NOFOLLOW`, so, as
 * careful tools do, a path is `lstat`ed first (a link, FIFO, socket or directory is refused
 * before `open`, so a FIFO never blocks the caller) and the opened file's identity (dev, ino) is
 * compared with it after (a swap between the two calls is caught). New files are created with
 * `createNew` (O_EXCL), which never follows a link either.
 *
 * @module
 */

/** Why a path in the log dir was not opened. */
export class UnsafePathError extends Error {
  override name = "UnsafePathError";
}

function kind(info: Deno.FileInfo): string {
  if (info.isSymlink) return "a symlink";
  if (info.isDirectory) return "a directory";
  if (info.isFifo) return "a FIFO";
  if (info.isSocket) return "a socket";
  return "not a regular file";
}

/** `lstat`, or undefined when nothing is at `path`. */
export function lstatOrUndefined(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

function same(a: Deno.FileInfo, b: Deno.FileInfo): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** Throws {@linkcode UnsafePathError} unless `info` is a regular file. */
export function assertRegular(path: string, info: Deno.FileInfo): void {
  if (!info.isFile || info.isSymlink) {
    throw new UnsafePathError(`Cannot open ${path}: it is ${kind(info)}, not a regular file`);
  }
}

/**
 * Opens an existing regular file at `path` (no `create` in `options`), refusing links and
 * non-regular files. Throws `NotFound` when nothing is there.
 */
export function openExistingSync(path: string, options: Deno.OpenOptions): Deno.FsFile {
  // A file replaced by renames (checkpoint, status: written whole that way) may change again
  // between our lstat and open; a few tries find it still, as long as each holder is a regular
  // file. A link or a non-regular file is refused at once.
  for (let attempt = 1;; attempt++) {
    const before = lstatOrUndefined(path);
    if (!before) throw new Deno.errors.NotFound(`Cannot open ${path}: it does not exist`);
    assertRegular(path, before);
    const file = Deno.openSync(path, { ...options, create: false, createNew: false });
    let after: Deno.FileInfo;
    try {
      after = file.statSync();
    } catch (error) {
      file.close();
      throw error;
    }
    if (same(after, before) && after.isFile) return file;
    // Replaced between the two calls: fine when the path now holds, as a regular file, the very
    // file that was opened.
    const now = lstatOrUndefined(path);
    if (after.isFile && now && !now.isSymlink && now.isFile && same(after, now)) return file;
    file.close();
    if (!after.isFile || now?.isSymlink || attempt >= OPEN_ATTEMPTS) {
      throw new UnsafePathError(`Cannot open ${path}: it was replaced while being opened`);
    }
  }
}

/** Tries of {@linkcode openExistingSync} while renames keep replacing the file. */
const OPEN_ATTEMPTS = 16;

/**
 * Opens the regular file at `path`, creating it (mode `mode`) when nothing is there; never
 * through a link. `created` says whether this call created it.
 */
export function openOrCreateSync(
  path: string,
  options: Deno.OpenOptions & { mode: number },
): { file: Deno.FsFile; created: boolean } {
  for (let attempt = 0; attempt < 3; attempt++) {
    if (lstatOrUndefined(path) === undefined) {
      try {
        const file = Deno.openSync(path, { ...options, create: false, createNew: true });
        return { file, created: true };
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
        // Another writer created it first: open theirs.
      }
    }
    try {
      return { file: openExistingSync(path, options), created: false };
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      // Removed between the calls (the spool bound): create it again.
    }
  }
  throw new UnsafePathError(`Cannot open ${path}: it keeps appearing and vanishing`);
}

/** Async {@linkcode openExistingSync}, for the relay's reads. */
export function openExisting(path: string, options: Deno.OpenOptions): Promise<Deno.FsFile> {
  try {
    return Promise.resolve(openExistingSync(path, options));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** A unique temporary name beside `path`: `<path>.<pid>.<random>.tmp`. */
export function tmpPathFor(path: string): string {
  return `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
}

/** Reads all of an open file from where it stands, without closing it. */
function readAllSync(file: Deno.FsFile): Uint8Array {
  const chunks: Uint8Array[] = [];
  let length = 0;
  while (true) {
    const chunk = new Uint8Array(64 * 1024);
    const n = file.readSync(chunk);
    if (n === null) break;
    chunks.push(chunk.subarray(0, n));
    length += n;
  }
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

/**
 * The text of the regular file at `path`, read without following a link or blocking on a FIFO
 * ({@linkcode openExistingSync}). Throws `NotFound` when nothing is there.
 */
export function readTextSync(path: string): string {
  const file = openExistingSync(path, { read: true });
  try {
    return new TextDecoder().decode(readAllSync(file));
  } finally {
    file.close();
  }
}

/** Async {@linkcode readTextSync}. */
export function readText(path: string): Promise<string> {
  try {
    return Promise.resolve(readTextSync(path));
  } catch (error) {
    return Promise.reject(error);
  }
}
