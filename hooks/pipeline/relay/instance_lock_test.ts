import assert from "node:assert/strict";
import { LAYOUT } from "../spool.ts";
import { acquireRelayLock } from "./instance_lock.ts";

Deno.test("acquireRelayLock() holds the lock, beats the heartbeat, and ages it on release", async () => {
  const logDir = await Deno.makeTempDir();
  try {
    const lock = await acquireRelayLock(logDir, { heartbeatMs: 30 });
    assert.ok(lock);
    const heartbeat = `${logDir}/${LAYOUT.heartbeatFile}`;
    assert.equal((await Deno.readTextFile(heartbeat)).trim(), String(Deno.pid));
    await Deno.utime(heartbeat, 1, 1);
    await new Promise((r) => setTimeout(r, 120));
    const beaten = (await Deno.stat(heartbeat)).mtime!.getTime();
    assert.ok(Date.now() - beaten < 1_000, "refreshed while held");
    await lock.setAlive(false);
    assert.equal((await Deno.stat(heartbeat)).mtime!.getTime(), 0, "aged while leaving");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await Deno.stat(heartbeat)).mtime!.getTime(), 0, "and not refreshed");
    await lock.setAlive(true);
    assert.ok(Date.now() - (await Deno.stat(heartbeat)).mtime!.getTime() < 1_000);
    await lock.release();
    assert.equal((await Deno.stat(heartbeat)).mtime!.getTime(), 0);
    assert.equal((await Deno.stat(`${logDir}/${LAYOUT.lockFile}`)).mode! & 0o777, 0o600);
    // Released: the next relay gets it at once.
    const again = await acquireRelayLock(logDir, { timeoutMs: 1_000 });
    assert.ok(again);
    await again.release();
  } finally {
    await Deno.remove(logDir, { recursive: true });
  }
});
