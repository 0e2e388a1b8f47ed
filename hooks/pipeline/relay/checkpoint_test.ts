import assert from "node:assert/strict";
import { comparePositions, readCheckpoint, SPOOL_START, writeCheckpoint } from "./checkpoint.ts";

Deno.test("readCheckpoint() starts at the spool's start when there is none", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.deepEqual(await readCheckpoint(`${dir}/checkpoint.json`), SPOOL_START);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeCheckpoint() replaces the checkpoint and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/checkpoint.json`;
    await writeCheckpoint(path, { segment: "20260101T000000Z.jsonl", offset: 10 });
    await writeCheckpoint(path, { segment: "20260101T000100Z.jsonl", offset: 42 });
    assert.deepEqual(await readCheckpoint(path), {
      segment: "20260101T000100Z.jsonl",
      offset: 42,
    });
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["checkpoint.json"]);
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readCheckpoint() refuses a file that is not a checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/checkpoint.json`;
    for (
      const text of [
        "{",
        "[]",
        '{"segment": "a", "offset": -1}',
        '{"segment": "../x", "offset": 1}',
      ]
    ) {
      await Deno.writeTextFile(path, text);
      await assert.rejects(
        readCheckpoint(path),
        /^SyntaxError: Cannot read checkpoint .*delete it/,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeCheckpoint() is durable: SIGKILL at any instant leaves a whole checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/checkpoint.json`;
    const module = new URL("./checkpoint.ts", import.meta.url).href;
    // A writer that advances the checkpoint as fast as it can, killed mid-stream.
    const script = `import { writeCheckpoint } from ${JSON.stringify(module)};
      for (let i = 1; ; i++) await writeCheckpoint(${
      JSON.stringify(path)
    }, { segment: "s.jsonl", offset: i });`;
    for (let round = 0; round < 3; round++) {
      const child = new Deno.Command("deno", {
        args: ["run", "--no-config", `--allow-read=${dir}`, `--allow-write=${dir}`, "-"],
        stdin: "piped",
        stdout: "null",
        stderr: "null",
      }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(script));
      await writer.close();
      // Kill only once it has written for a while.
      for (let i = 0; i < 200 && (await readCheckpoint(path)).offset < 20 * (round + 1); i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
      child.kill("SIGKILL");
      await child.status;
      const checkpoint = await readCheckpoint(path);
      assert.equal(checkpoint.segment, "s.jsonl");
      assert.ok(checkpoint.offset >= 20 * (round + 1), `offset ${checkpoint.offset} advanced`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("comparePositions() orders by segment, then offset", () => {
  assert.ok(comparePositions({ segment: "a", offset: 9 }, { segment: "b", offset: 0 }) < 0);
  assert.ok(comparePositions({ segment: "b", offset: 1 }, { segment: "b", offset: 0 }) > 0);
  assert.equal(comparePositions({ segment: "b", offset: 1 }, { segment: "b", offset: 1 }), 0);
  assert.ok(comparePositions(SPOOL_START, { segment: "a", offset: 0 }) < 0);
});
