import assert from "node:assert/strict";
import { checkLogDir } from "./doctor_log_dir.ts";
import { withLogDir } from "../../hooks/testing/log_dir.ts";

/** The uid of this process, read from a file it creates (tests run without `--allow-sys`). */
async function ownUid(dir: string): Promise<number> {
  const probe = `${dir}/.uid-probe`;
  await Deno.writeTextFile(probe, "");
  const { uid } = await Deno.stat(probe);
  await Deno.remove(probe);
  return uid!;
}

/** Runs a tool through `env`, which the gate's `--allow-run` names (Deno.symlink needs more). */
async function run(...args: string[]): Promise<void> {
  assert.ok((await new Deno.Command("env", { args }).output()).success, args.join(" "));
}

Deno.test("checkLogDir() says why the hooks would refuse a log dir, and how to fix it", async (t) => {
  await withLogDir(async (root) => {
    const uid = await ownUid(root);
    const logDir = `${root}/log`;

    await t.step("not there yet: fine, the first hook creates it", async () => {
      const result = await checkLogDir(logDir, { uid });
      assert.equal(result.status, "ok");
      assert.match(result.detail, /does not exist yet/);
    });

    await Deno.mkdir(`${logDir}/spool`, { recursive: true, mode: 0o700 });
    await Deno.chmod(logDir, 0o700);
    await t.step("the user's, closed to others: ok", async () => {
      assert.equal((await checkLogDir(logDir, { uid })).status, "ok");
    });

    await t.step("open to others: fail, with the chmod", async () => {
      await Deno.chmod(`${logDir}/spool`, 0o777);
      const result = await checkLogDir(logDir, { uid });
      assert.equal(result.status, "fail");
      assert.match(result.detail, /group or others may write to .*\/spool \(mode 777\)/);
      assert.equal(result.fix, `run chmod 700 ${logDir}/spool`);
      await Deno.chmod(`${logDir}/spool`, 0o700);
    });

    await t.step("another user's: fail", async () => {
      const result = await checkLogDir(logDir, { uid: uid + 1 });
      assert.equal(result.status, "fail");
      assert.match(
        result.detail,
        new RegExp(`belongs to uid ${uid}, not to you \\(uid ${uid + 1}\\)`),
      );
      assert.match(result.fix!, /ZO_LOG_DIR/);
    });

    await t.step("a link or a FIFO planted in spool/: fail, naming them", async () => {
      const link = `${logDir}/spool/20260101T000000Z.jsonl`;
      await run("ln", "-s", `${root}/elsewhere`, link);
      const fifo = `${logDir}/spool/20260101T000100Z.jsonl`;
      await run("mkfifo", fifo);
      const result = await checkLogDir(logDir, { uid });
      assert.equal(result.status, "fail");
      assert.match(result.detail, /a link, FIFO or socket/);
      assert.ok(result.detail.includes(link) && result.detail.includes(fifo), result.detail);
      assert.equal(result.fix, `remove them (rm ${link} ${fifo})`);
      await Deno.remove(link);
      await Deno.remove(fifo);
    });

    await t.step("spool/ itself a link: fail", async () => {
      await Deno.remove(`${logDir}/spool`);
      await Deno.mkdir(`${root}/other`, { mode: 0o700 });
      await run("ln", "-s", `${root}/other`, `${logDir}/spool`);
      const result = await checkLogDir(logDir, { uid });
      assert.equal(result.status, "fail");
      assert.match(result.detail, /\/spool is a link/);
    });
  });
});

Deno.test("measureBacklog() and measureDeadLetters() never block on a FIFO planted as the dead letters", async () => {
  await withLogDir(async (logDir) => {
    await Deno.mkdir(`${logDir}/relay`, { mode: 0o700 });
    await run("mkfifo", `${logDir}/relay/dead_letter.jsonl`);
    const { measureBacklog, measureDeadLetters } = await import("./backlog.ts");
    assert.equal((await measureBacklog(logDir)).events, 0);
    assert.ok(await measureDeadLetters(logDir), "measured, not blocked");
  });
});
