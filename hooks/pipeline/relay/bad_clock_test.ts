// A VM clock that jumps ahead and back, tried on the reader and on the relay: segments take their
// names from that clock, so names say nothing of what was shipped, and no event may be lost.
import assert from "node:assert/strict";
import {
  appendToSpool,
  LAYOUT,
  listSegments,
  removeSegmentLocked,
  removeShippedSegment,
  segmentName,
  segmentPath,
} from "../spool.ts";
import { readDroppedTotals } from "../spool_bound.ts";
import { readCheckpoint, SPOOL_START } from "./checkpoint.ts";
import { relayFiles, runRelay } from "./relay.ts";
import { SpoolReader } from "./spool_reader.ts";
import { logDirSource } from "./spool_source.ts";
import { fakeEvent, startFakeBridge, testConfig } from "../../testing/relay.ts";
import { withLogDir } from "../../testing/log_dir.ts";

const DAY = 86_400_000;
const MINUTE = 60_000;

const seqs = (events: readonly Record<string, unknown>[]) => events.map((e) => e.seq as number);

function spool(logDir: string, nowMs: number, from: number, count: number): void {
  for (let i = from; i < from + count; i++) {
    appendToSpool(logDir, JSON.stringify(fakeEvent(i)), { nowMs });
  }
}

/** Reads and commits everything, returning the seqs in order. */
async function drain(reader: SpoolReader): Promise<number[]> {
  const out: number[] = [];
  for (let batch = await reader.next(); batch; batch = await reader.next()) {
    out.push(...batch.lines.map((line) => JSON.parse(line.text).seq as number));
    reader.commit(batch);
  }
  return out;
}

Deno.test("SpoolReader reads segments a clock gone back named before its checkpoint", async () => {
  await withLogDir(async (logDir) => {
    let clock = Date.now() + DAY;
    const reader = new SpoolReader(logDirSource(logDir), SPOOL_START, { now: () => clock });
    spool(logDir, clock, 0, 3);
    assert.deepEqual(await drain(reader), [0, 1, 2]);
    const ahead = segmentName(clock);
    assert.equal(reader.checkpoint.segment, ahead, "the checkpoint points a day ahead");

    // The clock comes back: new segments sort before the checkpoint's.
    clock -= DAY;
    spool(logDir, clock - 10 * MINUTE, 3, 2); // closed already
    spool(logDir, clock, 5, 3); // still open
    assert.ok((await listSegments(logDir)).slice(0, 2).every((name) => name < ahead));
    assert.deepEqual(await drain(reader), [3, 4, 5, 6, 7], "in the same process");

    // The relay deletes what was shipped to its end (the closed segment), then restarts from
    // its checkpoint: it ships nothing twice, and what comes next.
    const shipped = reader.takeShippedFiles();
    assert.deepEqual(shipped.map((file) => file.name), [segmentName(clock - 10 * MINUTE)]);
    for (const file of shipped) assert.equal(await removeShippedSegment(logDir, file), "gone");
    const restarted = new SpoolReader(logDirSource(logDir), reader.checkpoint, {
      now: () => clock,
    });
    assert.deepEqual(await drain(restarted), [], "the checkpoint covers both open segments");
    spool(logDir, clock, 8, 1);
    spool(logDir, clock + DAY, 9, 1);
    assert.deepEqual(await drain(restarted), [8, 9]);
  });
});

Deno.test("removeShippedSegment() keeps a segment that grew after it was read to its end", async () => {
  await withLogDir(async (logDir) => {
    // Read while the clock ran ahead, so the segment counted as closed...
    const clock = Date.now() + DAY;
    const now = Date.now();
    spool(logDir, now, 0, 2);
    const reader = new SpoolReader(logDirSource(logDir), SPOOL_START, { now: () => clock });
    assert.deepEqual(await drain(reader), [0, 1]);
    const [done] = reader.takeShippedFiles();
    assert.equal(done?.name, segmentName(now));
    // ...yet a hook whose clock is right still writes to it.
    spool(logDir, now, 2, 1);
    assert.equal(await removeShippedSegment(logDir, done!), "grown");
    assert.deepEqual(await listSegments(logDir), [done!.name], "kept");
    reader.reopen([done!.name]);
    assert.deepEqual(await drain(reader), [2], "the late line ships");
    const [again] = reader.takeShippedFiles();
    assert.equal(await removeShippedSegment(logDir, again!), "gone");
    assert.deepEqual(await listSegments(logDir), []);
  });
});

Deno.test("removeShippedSegment() leaves a segment of that name written since alone", async () => {
  await withLogDir(async (logDir) => {
    const now = Date.now();
    spool(logDir, now, 0, 3);
    const name = segmentName(now);
    const old = await Deno.stat(segmentPath(logDir, name));
    // Deleted (the spool bound) and written again under the same name by a clock gone back.
    await Deno.remove(segmentPath(logDir, name));
    spool(logDir, now, 3, 1);
    assert.equal(
      await removeShippedSegment(logDir, { name, size: old.size, ino: old.ino! }),
      "replaced",
    );
    assert.deepEqual(await listSegments(logDir), [name]);
  });
});

Deno.test("runRelay() restarted after the clock went back ships every segment named before its checkpoint", async () => {
  await withLogDir(async (logDir) => {
    const bridge = startFakeBridge();
    const run = () =>
      runRelay({
        config: testConfig(logDir, bridge.url),
        idleMs: 200,
        httpPort: null,
        pollMs: 10,
        log: (line) => logged.push(line),
      });
    const logged: string[] = [];
    try {
      // Written and shipped while the clock ran a day ahead.
      const ahead = Date.now() + DAY;
      spool(logDir, ahead, 0, 3);
      assert.equal((await run()).totals.shipped, 3);
      const checkpoint = await readCheckpoint(relayFiles(logDir).checkpoint);
      assert.equal(checkpoint.segment, segmentName(ahead), "the checkpoint points ahead");

      // Back to the right time: 5 events in segments named before the checkpoint's.
      const now = Date.now();
      spool(logDir, now - 10 * MINUTE, 3, 2);
      spool(logDir, now, 5, 3);
      assert.equal((await run()).reason, "idle");
      assert.deepEqual(seqs(bridge.accepted), [0, 1, 2, 3, 4, 5, 6, 7], "none lost");
      assert.deepEqual(await readDroppedTotals(logDir), {
        dropped_events_total: 0,
        dropped_bytes_total: 0,
        dropped_segments_total: 0,
        last_drop_at: "",
      });
      const left = await listSegments(logDir);
      assert.ok(!left.includes(segmentName(now - 10 * MINUTE)), "the closed one, shipped, went");
      assert.ok(left.includes(segmentName(ahead)), "the one ahead counts as open: kept");
      assert.deepEqual(logged, []);
    } finally {
      await bridge.close();
    }
  });
});

Deno.test("runRelay() ships a segment whose checkpoint offset lies past its end, from the start", async () => {
  await withLogDir(async (logDir) => {
    const bridge = startFakeBridge();
    const logged: string[] = [];
    try {
      const name = segmentName(Date.now());
      spool(logDir, Date.now(), 0, 2);
      // The checkpoint says 10,000 bytes were shipped (a truncated segment, a torn copy).
      await Deno.mkdir(`${logDir}/${LAYOUT.relayDir}`, { recursive: true });
      await Deno.writeTextFile(
        relayFiles(logDir).checkpoint,
        JSON.stringify({ segment: name, offset: 10_000 }),
      );
      const result = await runRelay({
        config: testConfig(logDir, bridge.url),
        idleMs: 200,
        httpPort: null,
        pollMs: 10,
        log: (line) => logged.push(line),
      });
      assert.equal(result.reason, "idle", "not stuck");
      assert.deepEqual(seqs(bridge.accepted), [0, 1]);
      assert.equal(logged.length, 1);
      assert.match(logged[0]!, /^Cannot resume .* at byte 10000: the offset lies past its end/);
      // Appends after the restart ship too.
      spool(logDir, Date.now(), 2, 1);
      await runRelay({
        config: testConfig(logDir, bridge.url),
        idleMs: 200,
        httpPort: null,
        pollMs: 10,
      });
      assert.deepEqual(seqs(bridge.accepted), [0, 1, 2]);
    } finally {
      await bridge.close();
    }
  });
});

Deno.test("SpoolReader reads a file again from its start when the checkpoint cannot be trusted", async (t) => {
  await withLogDir(async (logDir) => {
    const now = Date.now();
    spool(logDir, now, 0, 3);
    const name = segmentName(now);
    const ino = (await Deno.stat(segmentPath(logDir, name))).ino!;
    const line = JSON.stringify(fakeEvent(0)).length + 1;
    const cases: [string, { offset: number; ino?: number }, RegExp][] = [
      ["past its end", { offset: 10 * line }, /the offset lies past its end/],
      ["inside a line", { offset: line + 5 }, /the offset lies inside a line/],
      ["another file of that name", { offset: line, ino: ino + 1 }, /is another one/],
    ];
    for (const [label, checkpoint, reason] of cases) {
      await t.step(label, async () => {
        const told: string[] = [];
        const reader = new SpoolReader(logDirSource(logDir), { segment: name, ...checkpoint }, {
          onBadCheckpoint: (line) => told.push(line),
        });
        assert.deepEqual(await drain(reader), [0, 1, 2]);
        assert.equal(told.length, 1);
        assert.match(told[0]!, reason);
      });
    }
    await t.step("a sound one is trusted", async () => {
      const told: string[] = [];
      const reader = new SpoolReader(logDirSource(logDir), { segment: name, offset: line, ino }, {
        onBadCheckpoint: (line) => told.push(line),
      });
      assert.deepEqual(await drain(reader), [1, 2]);
      assert.deepEqual(told, []);
    });
  });
});

Deno.test("SpoolReader reads a segment deleted and written again under its name from the start", async () => {
  await withLogDir(async (logDir) => {
    const now = Date.now();
    spool(logDir, now, 0, 3);
    const reader = new SpoolReader(logDirSource(logDir), SPOOL_START);
    assert.deepEqual(await drain(reader), [0, 1, 2]);
    // The spool bound deletes it; a clock gone back names a new one the same.
    const name = segmentName(now);
    const keep = await Deno.open(segmentPath(logDir, name)); // so the inode is not reused
    try {
      await Deno.remove(segmentPath(logDir, name));
      spool(logDir, now, 3, 4);
      assert.deepEqual(await drain(reader), [3, 4, 5, 6]);
    } finally {
      keep.close();
    }
  });
});

Deno.test("appendToSpool() never writes into a segment being deleted", async () => {
  await withLogDir(async (logDir) => {
    const now = Date.now();
    spool(logDir, now, 0, 1);
    const name = segmentName(now);
    const spoolModule = new URL("../spool.ts", import.meta.url).href;
    const ready = `${logDir}/ready`;
    // A hook that opens the segment while the relay holds it to delete it, shipped to its end.
    const script = `import { appendToSpool } from ${JSON.stringify(spoolModule)};
      Deno.writeTextFileSync(${JSON.stringify(ready)}, "");
      appendToSpool(${JSON.stringify(logDir)}, ${
      JSON.stringify(JSON.stringify(fakeEvent(1)))
    }, { nowMs: ${now} });`;
    let child: Deno.ChildProcess | undefined;
    const removed = await removeSegmentLocked(segmentPath(logDir, name), async () => {
      child = new Deno.Command("deno", {
        args: ["eval", "--quiet", script],
        stdout: "null",
        stderr: "piped",
      }).spawn();
      // Give it every chance to open the file before the unlink (it then waits for the lock);
      // whenever it opens it, its line must survive.
      for (let i = 0; i < 500; i++) {
        try {
          await Deno.stat(ready);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      await new Promise((r) => setTimeout(r, 300));
      return undefined;
    });
    assert.ok(removed && "removed" in removed);
    const status = await child!.output();
    assert.equal(status.code, 0, new TextDecoder().decode(status.stderr));
    const text = await Deno.readTextFile(segmentPath(logDir, name));
    assert.deepEqual(text.trim().split("\n").map((l) => JSON.parse(l).seq), [1]);
  });
});
