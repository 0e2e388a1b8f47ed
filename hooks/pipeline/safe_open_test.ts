import assert from "node:assert/strict";
import { appendToSpool, segmentName, segmentPath } from "./spool.ts";
import { readCheckpoint, writeCheckpoint } from "./relay/checkpoint.ts";
import { logDirProblem } from "./vm_config.ts";
import { readText, UnsafePathError } from "./safe_open.ts";

const T0 = Date.UTC(2026, 10, 24, 10, 15, 42);

/** `ln -s` (through env, which the gate allows): Deno.symlink needs unscoped read and write. */
async function symlink(target: string, path: string): Promise<void> {
  const made = await new Deno.Command("env", { args: ["ln", "-s", target, path] }).output();
  assert.ok(made.success, new TextDecoder().decode(made.stderr));
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("appendToSpool() refuses a symlink at the segment path; its target stays untouched", () =>
  withDir(async (dir) => {
    const outside = `${dir}/outside.txt`;
    await Deno.writeTextFile(outside, "mine\n");
    await Deno.mkdir(`${dir}/log/spool`, { recursive: true });
    await symlink(outside, segmentPath(`${dir}/log`, segmentName(T0)));
    assert.throws(
      () => appendToSpool(`${dir}/log`, '{"prompt":"secret"}', { nowMs: T0 }),
      UnsafePathError,
    );
    assert.equal(await Deno.readTextFile(outside), "mine\n");
    // A dangling link is refused too (createNew never follows it).
    await Deno.remove(outside);
    assert.throws(() => appendToSpool(`${dir}/log`, '{"n":1}', { nowMs: T0 }));
    await assert.rejects(Deno.stat(outside), Deno.errors.NotFound);
  }));

Deno.test("appendToSpool() refuses a FIFO at the segment path without blocking on it", () =>
  withDir(async (dir) => {
    await Deno.mkdir(`${dir}/spool`, { recursive: true });
    const fifo = segmentPath(dir, segmentName(T0));
    const made = await new Deno.Command("env", { args: ["mkfifo", fifo] }).output();
    assert.ok(made.success);
    // The check comes before open: a blocking open would hang here, not fail.
    assert.throws(() => appendToSpool(dir, '{"n":1}', { nowMs: T0 }), /FIFO/);
  }));

Deno.test("appendToSpool() starts each append on a line of its own after a torn write", () =>
  withDir(async (dir) => {
    appendToSpool(dir, '{"n":1}', { nowMs: T0 });
    const path = segmentPath(dir, segmentName(T0));
    // What a write cut short by a full disk leaves: half a line, no "\n".
    await Deno.writeTextFile(path, '{"n":2,"half', { append: true });
    appendToSpool(dir, '{"n":3}', { nowMs: T0 });
    const lines = (await Deno.readTextFile(path)).split("\n");
    assert.deepEqual(lines, ['{"n":1}', '{"n":2,"half', '{"n":3}', ""]);
  }));

Deno.test("writeCheckpoint() never follows a link planted at checkpoint.json.tmp", () =>
  withDir(async (dir) => {
    const victim = `${dir}/victim.txt`;
    await Deno.writeTextFile(victim, "keep me\n");
    await Deno.mkdir(`${dir}/relay`);
    const path = `${dir}/relay/checkpoint.json`;
    await symlink(victim, `${path}.tmp`);
    await writeCheckpoint(path, { segment: "a.jsonl", offset: 3 });
    assert.equal(await Deno.readTextFile(victim), "keep me\n");
    assert.equal((await Deno.lstat(path)).isSymlink, false);
    assert.deepEqual(await readCheckpoint(path), { segment: "a.jsonl", offset: 3 });
    // A checkpoint that is a link is refused rather than read through.
    await Deno.remove(path);
    await symlink(victim, path);
    await assert.rejects(readCheckpoint(path), UnsafePathError);
  }));

Deno.test("logDirProblem() refuses a group/world-writable log dir and says how to fix it", () =>
  withDir(async (dir) => {
    assert.equal(logDirProblem(`${dir}/absent`), undefined);
    await Deno.chmod(dir, 0o700);
    assert.equal(logDirProblem(dir), undefined);
    await Deno.chmod(dir, 0o777);
    assert.match(logDirProblem(dir)!, /group or others may write.*chmod 700/);
    await Deno.chmod(dir, 0o700);
  }));

Deno.test("readText() reads a file another process replaces by renames, never failing", () =>
  withDir(async (dir) => {
    const path = `${dir}/checkpoint.json`;
    await writeCheckpoint(path, { segment: "s.jsonl", offset: 0 });
    const module = new URL("./relay/checkpoint.ts", import.meta.url).href;
    // A relay writing its checkpoint (tmp file, rename) as fast as it can, while we read.
    const script = `import { writeCheckpoint } from ${JSON.stringify(module)};
      for (let i = 1; ; i++) await writeCheckpoint(${
      JSON.stringify(path)
    }, { segment: "s.jsonl", offset: i });`;
    const child = new Deno.Command("deno", {
      args: ["run", "--no-config", `--allow-read=${dir}`, `--allow-write=${dir}`, "-"],
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(script));
    await writer.close();
    try {
      let last = 0;
      // Until the writer replaced the file 100 times (the bound only keeps a stuck run finite).
      const deadline = Date.now() + 60_000;
      while (last < 100 && Date.now() < deadline) last = JSON.parse(await readText(path)).offset;
      assert.ok(last > 0, "the writer replaced the file while it was read");
    } finally {
      child.kill("SIGKILL");
      await child.status;
    }
  }));
