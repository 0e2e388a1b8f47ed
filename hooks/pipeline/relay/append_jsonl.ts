/**
 * Durable appends of JSON records to the relay's side files (dead letters, quarantine): one
 * write, then fsync, because the checkpoint may move past a line only once the side file holds it.
 *
 * @module
 */
import { ensureDir, FILE_MODE } from "../spool.ts";
import { openOrCreateSync } from "../safe_open.ts";

/** Appends `records` as JSON lines to `path` (creating it 0600 and its directory 0700) and fsyncs. */
export async function appendJsonl(path: string, records: readonly unknown[]): Promise<void> {
  if (records.length === 0) return;
  const text = records.map((record) => JSON.stringify(record) + "\n").join("");
  await ensureDir(path.slice(0, path.lastIndexOf("/")) || "/");
  // Never through a link planted at the path, never blocking on a FIFO there.
  const { file } = openOrCreateSync(path, { append: true, mode: FILE_MODE });
  try {
    let bytes = new TextEncoder().encode(text);
    while (bytes.length > 0) bytes = bytes.subarray(await file.write(bytes));
    await file.sync();
  } finally {
    file.close();
  }
}
