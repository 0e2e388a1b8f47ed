/**
 * The hook against a hostile or broken log dir, run as Claude Code runs it: a FIFO at the
 * segment path, a log dir others may write to, a file-size limit. Each run is bounded: a hook
 * that blocked would be killed and the test fail.
 */
import assert from "node:assert/strict";
import { hookCommand } from "../scripts/install/hook_permissions.ts";
import { segmentName, segmentPath } from "./pipeline/spool.ts";
import { HOOKS_DIR, spooledEvents } from "./testing/run_hook.ts";

const PAYLOAD = JSON.stringify({
  session_id: "s-hard",
  hook_event_name: "Notification",
  message: "hello",
});

/**
 * Runs the Notification hook, through `sh -c` with `prelude` before `exec`, killed after 30 s;
 * `env` replaces the default environment (`ZO_LOG_DIR` set to `logDir`).
 */
async function runThroughSh(logDir: string, prelude: string, env?: Record<string, string>) {
  const [, run, ...rest] = hookCommand("notification.ts", {
    logDir,
    denoPath: Deno.execPath(),
    hooksDir: HOOKS_DIR,
  });
  const quoted = [Deno.execPath(), run!, "--no-prompt", ...rest]
    .map((arg) => `'${arg.replaceAll("'", `'"'"'`)}'`).join(" ");
  // Through env, which the gate's --allow-run names.
  const child = new Deno.Command("env", {
    args: ["sh", "-c", `${prelude} exec ${quoted}`],
    clearEnv: true,
    env: env ?? { ZO_LOG_DIR: logDir, ZO_REDACTION_SALT: "test-salt" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(PAYLOAD));
  await writer.close();
  const out = await child.output();
  return {
    code: out.code,
    signal: out.signal,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

async function withLogDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.chmod(dir, 0o700);
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("hook refuses a log dir others may write to: exit 0, one line on stderr, nothing written", () =>
  withLogDir(async (dir) => {
    await Deno.chmod(dir, 0o777);
    const run = await runThroughSh(dir, "");
    assert.equal(run.code, 0);
    assert.equal(run.stdout, "");
    assert.equal(run.stderr.trim().split("\n").length, 1);
    assert.match(run.stderr, /group or others may write.*chmod 700/);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  }));

Deno.test("hook does not block on a FIFO at the segment path: exit 0, bounded", () =>
  withLogDir(async (dir) => {
    await Deno.mkdir(`${dir}/spool`, { mode: 0o700 });
    const fifo = segmentPath(dir, segmentName(Date.now()));
    assert.ok((await new Deno.Command("env", { args: ["mkfifo", fifo] }).output()).success);
    // The window may turn during the run: a FIFO at the next segment's path too.
    const next = segmentPath(dir, segmentName(Date.now() + 60_000));
    assert.ok((await new Deno.Command("env", { args: ["mkfifo", next] }).output()).success);
    const run = await runThroughSh(dir, "");
    assert.equal(run.signal, null, "the hook was killed: it blocked");
    assert.equal(run.code, 0);
    assert.match(run.stderr, /Cannot append to the spool/);
  }));

Deno.test("hook exits 0 under a file-size limit (ulimit -f), and the next event is whole", () =>
  withLogDir(async (dir) => {
    await Deno.chmod(dir, 0o700);
    // A segment already at the limit: the hook's append fails with EFBIG, as on a full disk.
    await Deno.mkdir(`${dir}/spool`, { mode: 0o700 });
    const names = [segmentName(Date.now()), segmentName(Date.now() + 60_000)];
    for (const name of names) {
      await Deno.writeTextFile(segmentPath(dir, name), '{"n":0}\n'.repeat(128), { mode: 0o600 });
    }
    // 1 block (512 bytes in sh) is below the segment's 1 KB; the same trap as the wrapper's.
    const limited = await runThroughSh(dir, "trap '' XFSZ; ulimit -f 1;");
    assert.equal(limited.signal, null);
    assert.equal(limited.code, 0, limited.stderr);
    assert.equal(limited.stdout, "");
    const free = await runThroughSh(dir, "");
    assert.equal(free.code, 0, free.stderr);
    const events = await spooledEvents(dir);
    const hooked = events.filter((event) => event.session_id === "s-hard");
    assert.equal(hooked.length, 1);
  }));

/** True when this process runs as root (a file it creates is root's); no `--allow-sys` needed. */
async function runsAsRoot(dir: string): Promise<boolean> {
  const probe = `${dir}/.uid-probe`;
  await Deno.writeTextFile(probe, "");
  const { uid } = await Deno.stat(probe);
  await Deno.remove(probe);
  return uid === 0;
}

Deno.test("hook refuses a log dir that belongs to another user: exit 0, one line on stderr, nothing written", () =>
  withLogDir(async (dir) => {
    await Deno.chmod(dir, 0o700);
    // Root can hand a dir to nobody (65534); anyone else finds one of root's: "/".
    let logDir = "/";
    if (await runsAsRoot(dir)) {
      logDir = `${dir}/theirs`;
      await Deno.mkdir(logDir, { mode: 0o755 });
      await Deno.chown(logDir, 65534, 65534);
    }
    const run = await runThroughSh(logDir, "");
    assert.equal(run.code, 0);
    assert.equal(run.stdout, "");
    assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    assert.match(run.stderr, /belongs to uid \d+, not to you .*ZO_LOG_DIR/);
    if (logDir !== "/") assert.deepEqual([...Deno.readDirSync(logDir)], []);
  }));

Deno.test("hook with neither ZO_LOG_DIR nor HOME writes nowhere: no fallback into /tmp", () =>
  withLogDir(async (dir) => {
    await Deno.chmod(dir, 0o700);
    const run = await runThroughSh(dir, "", { ZO_REDACTION_SALT: "test-salt" });
    assert.equal(run.code, 0);
    assert.equal(run.stdout, "");
    assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    assert.match(run.stderr, /Cannot find the log dir: ZO_LOG_DIR and HOME are unset/);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  }));
