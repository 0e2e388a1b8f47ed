import assert from "node:assert/strict";
import { writeCheckpoint } from "../../hooks/pipeline/relay/checkpoint.ts";
import { LAYOUT, segmentName, segmentStartMs } from "../../hooks/pipeline/spool.ts";
import { withLogDir } from "../../hooks/testing/log_dir.ts";
import { measureBacklog } from "./backlog.ts";

Deno.test("measureBacklog() counts the events and bytes past the checkpoint", async () => {
  await withLogDir(async (logDir) => {
    assert.deepEqual(await measureBacklog(logDir), { events: 0, bytes: 0, deadLetters: 0 });
    const first = segmentName(Date.UTC(2026, 0, 1, 10, 0));
    const second = segmentName(Date.UTC(2026, 0, 1, 10, 1));
    await Deno.mkdir(`${logDir}/${LAYOUT.spoolDir}`, { recursive: true });
    await Deno.writeTextFile(`${logDir}/${LAYOUT.spoolDir}/${first}`, '{"a":1}\n{"a":2}\n');
    await Deno.writeTextFile(`${logDir}/${LAYOUT.spoolDir}/${second}`, '{"a":3}\n');
    assert.deepEqual(await measureBacklog(logDir), {
      events: 3,
      bytes: 24,
      deadLetters: 0,
      oldestSegment: first,
      oldestMs: segmentStartMs(first),
    });
    await writeCheckpoint(`${logDir}/${LAYOUT.checkpointFile}`, { segment: first, offset: 8 });
    assert.equal((await measureBacklog(logDir)).events, 2);
    await writeCheckpoint(`${logDir}/${LAYOUT.checkpointFile}`, { segment: first, offset: 16 });
    const rest = await measureBacklog(logDir);
    assert.deepEqual([rest.events, rest.bytes, rest.oldestSegment], [1, 8, second]);
    await Deno.writeTextFile(`${logDir}/${LAYOUT.deadLetterFile}`, "{}\n{}\n");
    assert.equal((await measureBacklog(logDir)).deadLetters, 2);
  });
});
