/**
 * `relay/status.json`: what a running relay says about itself, for `deno task doctor`: its pid,
 * when it started, and which key it sends, as a fingerprint (never the key). A key exported in
 * the shell that started Claude Code overrides the install's `.env` for every hook and relay
 * started from it, so doctor compares this fingerprint with the `.env`'s key, not the `.env`
 * alone. Written once, by the relay holding the log dir's lock, right after it took it.
 *
 * @module
 */
import { FILE_MODE, LAYOUT } from "../spool.ts";
import { readText, tmpPathFor } from "../safe_open.ts";

/** The contents of `relay/status.json`. */
export interface RelayStatus {
  pid: number;
  /** ISO time the relay started. */
  started_at: string;
  /** The variable the key came from (`ZO_INGEST_KEY`, or the old `ZO_API_KEY`). */
  key_variable: string;
  /** {@linkcode keyFingerprint} of the key it sends; null when it sends none. */
  key_fingerprint: string | null;
}

/** Path of the status file in `logDir`. */
export function relayStatusPath(logDir: string): string {
  return `${logDir}/${LAYOUT.statusFile}`;
}

/**
 * A key's fingerprint: `sha256:` and the first 16 hex digits of its SHA-256. It tells two keys
 * apart and gives nothing usable: the bridge's keys are long random strings (16 characters at
 * least), and their full SHA-256 is what the bridge itself may be configured with.
 */
export async function keyFingerprint(key: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)),
  );
  const hex = Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
  return `sha256:${hex}`;
}

/**
 * Writes `status` to `relay/status.json` of `logDir`, replacing the file whole (a unique
 * temporary file, created exclusively, renamed over it), so a reader never sees half of it.
 */
export async function writeRelayStatus(logDir: string, status: RelayStatus): Promise<void> {
  const path = relayStatusPath(logDir);
  const tmp = tmpPathFor(path);
  await Deno.writeTextFile(tmp, JSON.stringify(status) + "\n", {
    createNew: true,
    mode: FILE_MODE,
  });
  try {
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
}

/** The status in `logDir`, or undefined when there is none or it is not one (an older relay). */
export async function readRelayStatus(logDir: string): Promise<RelayStatus | undefined> {
  const path = relayStatusPath(logDir);
  let text: string;
  try {
    text = await readText(path); // a link or FIFO planted here is never followed
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  let parsed: Partial<RelayStatus> | undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (
    !Number.isSafeInteger(parsed?.pid) || typeof parsed?.started_at !== "string" ||
    typeof parsed.key_variable !== "string" ||
    !(parsed.key_fingerprint === null || typeof parsed.key_fingerprint === "string")
  ) return undefined;
  return parsed as RelayStatus;
}
