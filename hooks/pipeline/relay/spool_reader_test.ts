import assert from "node:assert/strict";
import { LAYOUT } from "../spool.ts";
import { SPOOL_START } from "./checkpoint.ts";
import { MAX_LINE_BYTES, type SpoolBatch, SpoolReader } from "./spool_reader.ts";
import { wellFormedLine } from "./spool_line.ts";
import { logDirSource } from "./spool_source.ts";
import { fakeEvent, position, segmentAgo, writeSegment } from "../../testing/relay.ts";
import { withLogDir } from "../../testing/log_dir.ts";

const seqs = (batch: SpoolBatch | undefined) =>
  batch?.lines.map((line) => JSON.parse(line.text).seq as number);

/** Reads and commits everything, returning the seqs in order. */
async function drain(reader: SpoolReader): Promise<number[]> {
  const out: number[] = [];
  for (let batch = await reader.next(); batch; batch = await reader.next()) {
    out.push(...seqs(batch)!);
    reader.commit(batch);
  }
  return out;
}

Deno.test("SpoolReader reads segments in order, in batches of maxEvents and maxBytes", async () => {
  await withLogDir(async (logDir) => {
    const [older, newer] = [segmentAgo(10), segmentAgo(5)];
    await writeSegment(logDir, newer, [3, 4, 5, 6].map((i) => fakeEvent(i)));
    await writeSegment(logDir, older, [0, 1, 2].map((i) => fakeEvent(i)));
    const reader = new SpoolReader(logDirSource(logDir), SPOOL_START, { maxEvents: 2 });
    const batches: number[][] = [];
    for (let batch = await reader.next(); batch; batch = await reader.next()) {
      batches.push(seqs(batch)!);
      reader.commit(batch);
    }
    assert.deepEqual(batches.filter((b) => b.length > 0), [[0, 1], [2, 3], [4, 5], [6]]);

    const bySize = new SpoolReader(logDirSource(logDir), SPOOL_START, { maxBytes: 200 });
    const first = await bySize.next();
    assert.ok(first!.bytes <= 200 && first!.lines.length >= 1);
    assert.ok(first!.lines.length < 7, "the byte limit cut the batch");
  });
});

Deno.test("SpoolReader reads an open segment only up to its last newline", async () => {
  await withLogDir(async (logDir) => {
    const open = segmentAgo(0);
    await writeSegment(logDir, open, [fakeEvent(0), JSON.stringify(fakeEvent(1)).slice(0, 20)], {
      newlineAtEnd: false,
    });
    const reader = new SpoolReader(logDirSource(logDir), SPOOL_START);
    const batch = await reader.next();
    assert.deepEqual(seqs(batch), [0]);
    assert.deepEqual(batch!.quarantined, [], "a line being written is not corrupt");
    assert.equal(await reader.next(), undefined, "nothing more until the line is finished");
    // The writer finishes its line.
    await Deno.writeTextFile(
      `${logDir}/${LAYOUT.spoolDir}/${open}`,
      JSON.stringify(fakeEvent(1)).slice(20) + "\n",
      { append: true },
    );
    assert.deepEqual(seqs(await reader.next()), [1]);
  });
});

Deno.test("SpoolReader quarantines corrupt lines and a closed segment's torn tail", async () => {
  await withLogDir(async (logDir) => {
    const closed = segmentAgo(10);
    await writeSegment(logDir, closed, [
      fakeEvent(0),
      "{not json",
      "[1,2]",
      "null",
      "",
      fakeEvent(1),
      '{"torn": tr',
    ], { newlineAtEnd: false });
    const reader = new SpoolReader(logDirSource(logDir), SPOOL_START);
    const batch = await reader.next();
    assert.deepEqual(seqs(batch), [0, 1]);
    assert.deepEqual(batch!.quarantined.map((q) => q.reason.split(":")[0]), [
      "not JSON",
      "not a JSON object",
      "not a JSON object",
      "torn line",
    ]);
    assert.equal(batch!.quarantined[0]!.line, "{not json");
    assert.equal(batch!.quarantined[0]!.segment, closed);
    assert.equal(batch!.quarantined[0]!.offset, JSON.stringify(fakeEvent(0)).length + 1);
    const checkpoint = reader.commit(batch!);
    assert.deepEqual(position(checkpoint), {
      segment: closed,
      offset: (await Deno.stat(`${logDir}/${LAYOUT.spoolDir}/${closed}`)).size,
    });
  });
});

Deno.test("SpoolReader quarantines invalid UTF-8 and over-long lines, and reads on", async () => {
  await withLogDir(async (logDir) => {
    const name = segmentAgo(10);
    const path = `${logDir}/${LAYOUT.spoolDir}/${name}`;
    await writeSegment(logDir, name, [fakeEvent(0)]);
    const bad = new Uint8Array([0x7b, 0xff, 0xfe, 0x7d, 0x0a]);
    await Deno.writeFile(path, bad, { append: true });
    const long = new Uint8Array(MAX_LINE_BYTES + 10).fill(0x61);
    await Deno.writeFile(path, long, { append: true });
    await Deno.writeTextFile(path, "\n" + JSON.stringify(fakeEvent(1)) + "\n", { append: true });
    // Longer still than what is read at once: skipped to its newline, not held in memory.
    await Deno.writeFile(path, new Uint8Array(3 * MAX_LINE_BYTES).fill(0x62), { append: true });
    await Deno.writeTextFile(path, "\n" + JSON.stringify(fakeEvent(2)) + "\n", { append: true });
    const reader = new SpoolReader(logDirSource(logDir), SPOOL_START);
    const all: number[] = [];
    const reasons: string[] = [];
    for (let batch = await reader.next(); batch; batch = await reader.next()) {
      all.push(...seqs(batch)!);
      reasons.push(...batch.quarantined.map((q) => q.reason));
      reader.commit(batch);
    }
    assert.deepEqual(all, [0, 1, 2]);
    const tooLong = `line longer than ${MAX_LINE_BYTES} bytes`;
    assert.deepEqual(reasons, ["not UTF-8", tooLong, tooLong]);
  });
});

Deno.test("SpoolReader moves the checkpoint only over committed batches, in order", async () => {
  await withLogDir(async (logDir) => {
    const [a, b] = [segmentAgo(10), segmentAgo(5)];
    await writeSegment(logDir, a, [0, 1].map((i) => fakeEvent(i)));
    await writeSegment(logDir, b, [2, 3].map((i) => fakeEvent(i)));
    const reader = new SpoolReader(logDirSource(logDir), SPOOL_START, { maxEvents: 1 });
    const first = (await reader.next())!;
    const second = (await reader.next())!;
    assert.deepEqual(reader.checkpoint, SPOOL_START, "reading alone moves nothing");
    assert.ok(reader.pending);
    assert.throws(() => reader.commit(second), /^RangeError: Cannot commit batch 1/);
    assert.deepEqual(position(reader.commit(first)), {
      segment: a,
      offset: first.lines[0]!.bytes + 1,
    });
    const third = (await reader.next())!;
    assert.deepEqual(seqs(third), [2]);
    // Committing the second finishes segment a: the checkpoint moves into b.
    assert.deepEqual(position(reader.commit(second)), { segment: b, offset: 0 });
    assert.deepEqual(reader.takeShippedFiles().map((file) => file.name), [a]);
    assert.deepEqual(reader.takeShippedFiles(), [], "each shipped file is told once");
    assert.equal(reader.commit(third).segment, b);
  });
});

Deno.test("SpoolReader ships later segments while an earlier one is open, checkpoint behind it", async () => {
  await withLogDir(async (logDir) => {
    const [stillOpen, current] = [segmentAgo(1), segmentAgo(0)];
    await writeSegment(logDir, stillOpen, [fakeEvent(0)]);
    await writeSegment(logDir, current, [fakeEvent(1)]);
    const reader = new SpoolReader(logDirSource(logDir), SPOOL_START);
    const batch = (await reader.next())!;
    assert.deepEqual(seqs(batch), [0, 1]);
    const checkpoint = reader.commit(batch);
    // A late hook may still append to the earlier segment: the checkpoint must not pass it.
    assert.equal(checkpoint.segment, stillOpen);
    await writeSegment(logDir, stillOpen, [fakeEvent(2)], { append: true });
    await writeSegment(logDir, current, [fakeEvent(3)], { append: true });
    assert.deepEqual(await drain(reader), [2, 3]);
    assert.deepEqual(await drain(reader), []);
  });
});

Deno.test("SpoolReader resumes from a checkpoint, and moves past one whose segment is gone", async (t) => {
  await withLogDir(async (logDir) => {
    const [a, b, c] = [segmentAgo(30), segmentAgo(20), segmentAgo(10)];
    await writeSegment(logDir, b, [0, 1, 2].map((i) => fakeEvent(i)));
    await writeSegment(logDir, c, [3].map((i) => fakeEvent(i)));
    const firstLine = JSON.stringify(fakeEvent(0)).length + 1;
    await t.step("mid-segment", async () => {
      const reader = new SpoolReader(logDirSource(logDir), { segment: b, offset: firstLine });
      assert.deepEqual(await drain(reader), [1, 2, 3]);
      assert.equal(reader.checkpoint.segment, c);
    });
    await t.step("segment deleted by the spool bound", async () => {
      const reader = new SpoolReader(logDirSource(logDir), { segment: a, offset: 12345 });
      assert.deepEqual(await drain(reader), [0, 1, 2, 3]);
    });
  });
});

Deno.test("SpoolReader reads nothing from an empty or missing spool", async () => {
  await withLogDir(async (logDir) => {
    const reader = new SpoolReader(logDirSource(logDir), SPOOL_START);
    assert.equal(await reader.next(), undefined);
    assert.equal(reader.pending, false);
  });
});

Deno.test("SpoolReader.hasUnread() tells whether a pass would find anything", async () => {
  await withLogDir(async (logDir) => {
    const reader = new SpoolReader(logDirSource(logDir), SPOOL_START);
    assert.equal(await reader.hasUnread(), false);
    const open = segmentAgo(0);
    await writeSegment(logDir, open, [fakeEvent(0)]);
    assert.equal(await reader.hasUnread(), true, "a new file");
    await drain(reader);
    assert.equal(await reader.hasUnread(), false, "all read");
    await writeSegment(logDir, open, [fakeEvent(1)], { append: true });
    assert.equal(await reader.hasUnread(), true, "appended bytes");
    await drain(reader);
    // Named before the checkpoint's file, yet never read: the clock may have gone back.
    await writeSegment(logDir, segmentAgo(10), []);
    assert.equal(await reader.hasUnread(), true, "a closed file not read to its end");
    await drain(reader);
    assert.equal(await reader.hasUnread(), false, "read to its end");
  });
});

Deno.test("SpoolReader reads the envelope inside a dead-letter line, so dead letters replay as they are", async () => {
  await withLogDir(async (logDir) => {
    const letter = {
      at: "2026-11-24T10:00:00.000Z",
      reason: "forbidden project",
      event: fakeEvent(7),
    };
    await writeSegment(logDir, segmentAgo(10), [fakeEvent(6), letter, fakeEvent(8)]);
    const reader = new SpoolReader(logDirSource(logDir), SPOOL_START);
    const batch = await reader.next();
    assert.deepEqual(batch!.lines.map((line) => JSON.parse(line.text)), [
      fakeEvent(6),
      fakeEvent(7),
      fakeEvent(8),
    ]);
  });
});

Deno.test("SpoolReader repairs a line holding a lone surrogate, so the bridge never sees a poison line", async () => {
  await withLogDir(async (logDir) => {
    const poisoned = { ...fakeEvent(9), tool_name: "a\ud800b" };
    await writeSegment(logDir, segmentAgo(10), [fakeEvent(1), poisoned]);
    const reader = new SpoolReader(logDirSource(logDir), SPOOL_START);
    const batch = await reader.next();
    assert.equal(batch!.lines[0]!.text, JSON.stringify(fakeEvent(1)));
    assert.deepEqual(JSON.parse(batch!.lines[1]!.text), { ...poisoned, tool_name: "a\ufffdb" });
  });
});

Deno.test("wellFormedLine() leaves lines without lone surrogates as they are", () => {
  const pair = JSON.stringify({ msg: "\ud83d\ude00" });
  assert.equal(wellFormedLine(pair), pair);
  const escapedPair = '{"msg":"\\ud83d\\ude00"}';
  assert.equal(wellFormedLine(escapedPair), escapedPair);
  assert.equal(wellFormedLine('{"msg":"\\ud800"}'), '{"msg":"\ufffd"}');
});
