/**
 * Artifact references: the files an event says were produced, each hashed (SHA-256) and sized
 * on the VM, so the bridge can tell which version of a file an event refers to without its bytes.
 *
 * @module
 */
import type { ArtifactRef } from "../../shared/schema.ts";

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Files up to this size are read whole; bigger ones are streamed so memory stays flat. */
export const WHOLE_READ_BYTES = 8 * 1024 * 1024;

/** A file that could not be read, kept in the event's data instead of `artifact_refs`. */
export interface ArtifactProblem {
  path: string;
  error: string;
}

/** Options of {@linkcode artifactRefs}. */
export interface ArtifactOptions {
  /** `type` of every ref; default "file". */
  type?: string;
}

async function sha256OfFile(
  path: string,
  expectedSize: number,
): Promise<{ hash: string; size: number }> {
  if (expectedSize > WHOLE_READ_BYTES) return await streamedSha256(path);
  const bytes = await Deno.readFile(path);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  let hash = "";
  for (const byte of digest) hash += HEX[byte];
  return { hash, size: bytes.length };
}

/** WebCrypto cannot hash incrementally; node:crypto can, and loads only for big files. */
async function streamedSha256(path: string): Promise<{ hash: string; size: number }> {
  const { createHash } = await import("node:crypto");
  const hash = createHash("sha256");
  let size = 0;
  const file = await Deno.open(path, { read: true }); // its readable closes it at the end
  for await (const chunk of file.readable) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { hash: hash.digest("hex"), size };
}

/**
 * Hashes and sizes each file: `{path, type, hash, size_bytes}` per readable regular file, and a
 * problem per path that is missing, a directory, or unreadable. Paths are kept as given (the
 * envelope's redaction shows home directories as `~` in strict mode).
 */
export async function artifactRefs(
  paths: readonly string[],
  options: ArtifactOptions = {},
): Promise<{ refs: ArtifactRef[]; problems: ArtifactProblem[] }> {
  const type = options.type ?? "file";
  const refs: ArtifactRef[] = [];
  const problems: ArtifactProblem[] = [];
  for (const path of paths) {
    try {
      const info = await Deno.stat(path);
      if (!info.isFile) {
        problems.push({ path, error: "Cannot hash artifact: not a regular file" });
        continue;
      }
      const { hash, size } = await sha256OfFile(path, info.size);
      refs.push({ path, type, hash, size_bytes: size });
    } catch (error) {
      problems.push({ path, error: `Cannot hash artifact: ${(error as Error).message}` });
    }
  }
  return { refs, problems };
}
