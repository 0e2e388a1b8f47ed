// Every small file of the log dir besides the segments and the checkpoint, tried with a link to
// a file outside (never written through, never read through) and a FIFO (never blocked on).
import assert from "node:assert/strict";
import { sessionRunId } from "./hook_context.ts";
import { LAYOUT, segmentName } from "./spool.ts";
import { enforceSpoolBound, readDroppedTotals } from "./spool_bound.ts";
import { appendJsonl } from "./relay/append_jsonl.ts";
import { acquireRelayLock } from "./relay/instance_lock.ts";
import { readRelayStatus } from "./relay/relay_status.ts";
import { UnsafePathError } from "./safe_open.ts";
import { withLogDir } from "../testing/log_dir.ts";

/** A tool run through env, which the gate allows (Deno.symlink needs unscoped read and write). */
async function run(...args: string[]): Promise<void> {
  const made = await new Deno.Command("env", { args }).output();
  assert.ok(made.success, new TextDecoder().decode(made.stderr));
}

/** A file outside the log dir, and a link to it at `path`. */
async function plantLink(logDir: string, path: string): Promise<string> {
  const outside = `${logDir}/../outside-${crypto.randomUUID().slice(0, 8)}.txt`;
  await Deno.writeTextFile(outside, "mine\n");
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true, mode: 0o700 });
  await run("ln", "-s", outside, path);
  return outside;
}

async function plantFifo(path: string): Promise<void> {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true, mode: 0o700 });
  await run("mkfifo", path);
}

Deno.test("relay side files (dead letters, quarantine) refuse a link and a FIFO at their path", () =>
  withLogDir(async (root) => {
    const logDir = `${root}/log`;
    const dead = `${logDir}/${LAYOUT.deadLetterFile}`;
    const outside = await plantLink(logDir, dead);
    await assert.rejects(appendJsonl(dead, [{ event: "secret" }]), UnsafePathError);
    assert.equal(await Deno.readTextFile(outside), "mine\n");
    const quarantine = `${logDir}/${LAYOUT.quarantineFile}`;
    await plantFifo(quarantine);
    await assert.rejects(appendJsonl(quarantine, [{ line: "x" }]), UnsafePathError);
  }));

Deno.test("dropped.json: a link is never truncated, a FIFO never blocks the count", () =>
  withLogDir(async (root) => {
    const logDir = `${root}/log`;
    const outside = await plantLink(logDir, `${logDir}/${LAYOUT.droppedFile}`);
    // Something to drop: a closed segment above a 1-byte bound.
    const old = Date.now() - 10 * 60_000;
    await Deno.writeTextFile(`${logDir}/${LAYOUT.spoolDir}/${segmentName(old)}`, '{"n":1}\n');
    await assert.rejects(enforceSpoolBound(logDir, 1), UnsafePathError);
    assert.equal(await Deno.readTextFile(outside), "mine\n");
    await Deno.remove(`${logDir}/${LAYOUT.droppedFile}`);
    await plantFifo(`${logDir}/${LAYOUT.droppedFile}`);
    assert.equal((await readDroppedTotals(logDir)).dropped_events_total, 0, "read, not blocked");
  }));

Deno.test("the relay's lock and heartbeat are never opened through a link", () =>
  withLogDir(async (root) => {
    const logDir = `${root}/log`;
    const lockTarget = await plantLink(logDir, `${logDir}/${LAYOUT.lockFile}`);
    await assert.rejects(acquireRelayLock(logDir), UnsafePathError);
    assert.equal(await Deno.readTextFile(lockTarget), "mine\n");
    await Deno.remove(`${logDir}/${LAYOUT.lockFile}`);

    const beatTarget = await plantLink(logDir, `${logDir}/${LAYOUT.heartbeatFile}`);
    const before = (await Deno.stat(beatTarget)).mtime?.getTime();
    const lock = await acquireRelayLock(logDir, { heartbeatMs: 10 });
    assert.ok(lock, "the relay still runs");
    await lock.setAlive(true);
    await lock.release();
    assert.equal(await Deno.readTextFile(beatTarget), "mine\n", "not truncated");
    assert.equal((await Deno.stat(beatTarget)).mtime?.getTime(), before, "not touched");
  }));

Deno.test("a session's run id: a link or FIFO at runs/<key> is neither read through nor blocked on", () =>
  withLogDir(async (root) => {
    const logDir = `${root}/log`;
    const first = await sessionRunId(logDir, "s-1");
    const [runFile] = [...Deno.readDirSync(`${logDir}/${LAYOUT.runsDir}`)].map((e) => e.name);
    const path = `${logDir}/${LAYOUT.runsDir}/${runFile}`;
    assert.equal(await sessionRunId(logDir, "s-1"), first, "kept");

    await Deno.remove(path);
    const outside = await plantLink(logDir, path);
    await Deno.writeTextFile(outside, "run-chosen-by-someone-else\n");
    const linked = await sessionRunId(logDir, "s-1");
    assert.notEqual(linked, "run-chosen-by-someone-else");
    assert.equal(await Deno.readTextFile(outside), "run-chosen-by-someone-else\n");

    await Deno.remove(path);
    await plantFifo(path);
    assert.match(await sessionRunId(logDir, "s-1"), /^[0-9a-f-]{36}$/, "minted, not blocked");
  }));

Deno.test("relay/status.json is never read through a link", () =>
  withLogDir(async (root) => {
    const logDir = `${root}/log`;
    const outside = await plantLink(logDir, `${logDir}/${LAYOUT.statusFile}`);
    await Deno.writeTextFile(
      outside,
      JSON.stringify({ pid: 1, started_at: "x", key_variable: "K", key_fingerprint: null }),
    );
    await assert.rejects(readRelayStatus(logDir), UnsafePathError);
  }));
