import assert from "node:assert/strict";
import { writeCheckpoint } from "../../hooks/pipeline/relay/checkpoint.ts";
import { LAYOUT, segmentName, segmentStartMs } from "../../hooks/pipeline/spool.ts";
import { withLogDir } from "../../hooks/testing/log_dir.ts";
import { measureBacklog, measureDeadLetters } from "./backlog.ts";

Deno.test("measureBacklog() counts the events and bytes past the checkpoint", async () => {
  await withLogDir(async (logDir) => {
    assert.deepEqual(await measureBacklog(logDir), { events: 0, bytes: 0 });
    const first = segmentName(Date.UTC(2026, 0, 1, 10, 0));
    const second = segmentName(Date.UTC(2026, 0, 1, 10, 1));
    await Deno.mkdir(`${logDir}/${LAYOUT.spoolDir}`, { recursive: true });
    await Deno.writeTextFile(`${logDir}/${LAYOUT.spoolDir}/${first}`, '{"a":1}\n{"a":2}\n');
    await Deno.writeTextFile(`${logDir}/${LAYOUT.spoolDir}/${second}`, '{"a":3}\n');
    assert.deepEqual(await measureBacklog(logDir), {
      events: 3,
      bytes: 24,
      oldestSegment: first,
      oldestMs: segmentStartMs(first),
    });
    await writeCheckpoint(`${logDir}/${LAYOUT.checkpointFile}`, { segment: first, offset: 8 });
    assert.equal((await measureBacklog(logDir)).events, 2);
    await writeCheckpoint(`${logDir}/${LAYOUT.checkpointFile}`, { segment: first, offset: 16 });
    const rest = await measureBacklog(logDir);
    assert.deepEqual([rest.events, rest.bytes, rest.oldestSegment], [1, 8, second]);
  });
});

Deno.test("measureBacklog() counts earlier-named files only where the checkpoint leaves lines", async () => {
  await withLogDir(async (logDir) => {
    const spool = `${logDir}/${LAYOUT.spoolDir}`;
    await Deno.mkdir(spool, { recursive: true });
    const [a, b, c] = [0, 1, 2].map((m) => segmentName(Date.UTC(2026, 0, 1, 10, m)));
    const past = new Date(Date.now() - 60_000);
    for (const name of [a!, b!, c!]) {
      await Deno.writeTextFile(`${spool}/${name}`, '{"a":1}\n{"a":2}\n');
      await Deno.utime(`${spool}/${name}`, past, past);
    }
    // a wholly shipped (still there until it closes), b partly, c the checkpoint's.
    await writeCheckpoint(`${logDir}/${LAYOUT.checkpointFile}`, {
      segment: c!,
      offset: 8,
      others: [{ segment: b!, offset: 8 }],
    });
    assert.equal((await measureBacklog(logDir)).events, 2, "one line of b, one of c");
    // A clock gone back: a line appended to a after the relay's last commit counts again.
    await Deno.writeTextFile(`${spool}/${a}`, '{"a":3}\n', { append: true });
    const later = new Date(Date.now() + 60_000);
    await Deno.utime(`${spool}/${a}`, later, later);
    assert.equal((await measureBacklog(logDir)).events, 5);
  });
});

Deno.test("measureDeadLetters() counts the refused events that replay has not shipped", async () => {
  await withLogDir(async (logDir) => {
    const file = `${logDir}/${LAYOUT.deadLetterFile}`;
    assert.deepEqual(await measureDeadLetters(logDir), { file, total: 0, pending: 0 });
    await Deno.mkdir(`${logDir}/relay`, { recursive: true });
    const line = (at: string) => JSON.stringify({ at, reason: "invalid", event: { n: at } }) + "\n";
    const first = line("2026-01-01T10:00:00.000Z");
    await Deno.writeTextFile(file, first + line("2026-01-01T11:00:00.000Z"));
    const dead = await measureDeadLetters(logDir);
    assert.deepEqual([dead.total, dead.pending, dead.firstPendingAt], [
      2,
      2,
      "2026-01-01T10:00:00.000Z",
    ]);
    assert.ok(dead.lastMs! > 0);
    // Replay's checkpoint of a file it was given sits in <file>.replay/.
    const checkpoint = `${file}.replay/checkpoint.json`;
    await writeCheckpoint(checkpoint, { segment: "dead_letter.jsonl", offset: first.length });
    const half = await measureDeadLetters(logDir);
    assert.deepEqual([half.pending, half.firstPendingAt], [1, "2026-01-01T11:00:00.000Z"]);
    await writeCheckpoint(checkpoint, { segment: "dead_letter.jsonl", offset: 2 * first.length });
    const done = await measureDeadLetters(logDir);
    assert.deepEqual([done.total, done.pending, done.firstPendingAt], [2, 0, undefined]);
  });
});
