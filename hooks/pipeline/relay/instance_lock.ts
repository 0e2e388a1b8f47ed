/**
 * One relay per log dir: an exclusive `flock` on `relay/relay.lock`, held for the life of the
 * process (the kernel drops it when the process dies, even by SIGKILL, so a crash never leaves a
 * stale lock), and a heartbeat file whose mtime tells hooks that a relay runs.
 *
 * @module
 */
import { ensureDir, FILE_MODE, HEARTBEAT_INTERVAL_MS, LAYOUT } from "../spool.ts";
import { openOrCreateSync } from "../safe_open.ts";

/**
 * Default wait for the lock: long enough for a relay that is leaving (idle) to finish its last
 * look at the spool and let go, so the relay a hook started meanwhile takes over.
 */
export const DEFAULT_LOCK_TIMEOUT_MS = 2_000;

/** A held relay lock; {@linkcode RelayLock.release} (or process exit) frees it. */
export interface RelayLock {
  /**
   * Says whether hooks should count on this relay: `false` ages the heartbeat (and stops
   * refreshing it) while the lock is still held, for a last look before an idle exit.
   */
  setAlive(alive: boolean): Promise<void>;
  /** Stops the heartbeat, ages it, and releases the lock. */
  release(): Promise<void>;
}

/** Options of {@linkcode acquireRelayLock}. */
export interface LockOptions {
  /**
   * How long to wait for a lock another relay holds, in ms; default
   * {@linkcode DEFAULT_LOCK_TIMEOUT_MS}. `FsFile.lock` blocks, so a lost race leaves a pending
   * lock call: the caller should exit the process soon after.
   */
  timeoutMs?: number;
  /** How often to touch the heartbeat; default {@linkcode HEARTBEAT_INTERVAL_MS}. */
  heartbeatMs?: number;
}

/**
 * Takes the relay lock of `logDir`, or returns undefined when another relay holds it. While held,
 * `relay/heartbeat` (which holds the pid) has its mtime refreshed every `heartbeatMs`.
 */
export async function acquireRelayLock(
  logDir: string,
  options: LockOptions = {},
): Promise<RelayLock | undefined> {
  await ensureDir(`${logDir}/${LAYOUT.relayDir}`);
  // Never through a link planted at the path, never blocking on a FIFO there.
  const { file } = openOrCreateSync(`${logDir}/${LAYOUT.lockFile}`, {
    read: true,
    write: true,
    mode: FILE_MODE,
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const locked = file.lock(true).then(() => true);
  const won = await Promise.race([
    locked,
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  if (!won) {
    // The pending lock call keeps the file; it is freed when the process exits.
    locked.then(() => file.close(), () => file.close());
    return undefined;
  }
  const heartbeatPath = `${logDir}/${LAYOUT.heartbeatFile}`;
  try {
    writeHeartbeat(heartbeatPath, new Date());
  } catch {
    // Shipping matters more than the heartbeat: see touch() below.
  }
  let alive = true;
  let beating: Promise<void> = Promise.resolve();
  const touch = (at: Date | number) =>
    beating = beating.then(() => {
      try {
        writeHeartbeat(heartbeatPath, at);
      } catch {
        // A link or FIFO planted there, or a full disk: hooks then start a relay, which waits
        // for this lock; nothing is lost.
      }
    });
  const beat = setInterval(() => {
    if (alive) touch(new Date());
  }, options.heartbeatMs ?? HEARTBEAT_INTERVAL_MS);
  let released = false;
  return {
    async setAlive(value) {
      alive = value;
      // An aged heartbeat makes the next hook start a relay (which waits for this lock).
      await touch(value ? new Date() : 0);
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(beat);
      alive = false;
      await touch(0);
      await file.unlock().catch(() => {});
      file.close();
    },
  };
}

/**
 * Writes this relay's pid to the heartbeat and sets its mtime to `at`, through the opened file:
 * never through a link planted at the path (`Deno.utime` and `Deno.writeTextFile` follow links),
 * never blocking on a FIFO there.
 */
function writeHeartbeat(path: string, at: Date | number): void {
  const { file } = openOrCreateSync(path, { write: true, truncate: true, mode: FILE_MODE });
  try {
    file.writeSync(new TextEncoder().encode(`${Deno.pid}\n`));
    file.utimeSync(at, at);
  } finally {
    file.close();
  }
}
