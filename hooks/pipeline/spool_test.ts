import assert from "node:assert/strict";
import { createRedactor } from "../../shared/redact.ts";
import {
  appendToSpool,
  isSegmentClosed,
  LAYOUT,
  listSegments,
  SEGMENT_GRACE_MS,
  segmentName,
  segmentPath,
  segmentStartMs,
} from "./spool.ts";
import { enforceSpoolBound, readDroppedTotals } from "./spool_bound.ts";

const T0 = Date.UTC(2026, 10, 24, 10, 15, 42, 123);
const MINUTE = 60_000;

Deno.test("segmentName() names the window's UTC start, sortable", () => {
  assert.equal(segmentName(T0), "20261124T101500Z.jsonl");
  assert.equal(segmentName(T0, 3_600_000), "20261124T100000Z.jsonl");
  assert.equal(segmentStartMs("20261124T101500Z.jsonl"), Date.UTC(2026, 10, 24, 10, 15));
  assert.equal(segmentStartMs("dropped.json"), undefined);
  assert.ok(segmentName(T0) < segmentName(T0 + MINUTE));
  assert.throws(() => segmentName(T0, 1500), RangeError);
});

Deno.test("isSegmentClosed() waits for the window plus the grace time", () => {
  const name = segmentName(T0);
  const end = segmentStartMs(name)! + MINUTE;
  assert.equal(isSegmentClosed(name, end), false);
  assert.equal(isSegmentClosed(name, end + SEGMENT_GRACE_MS - 1), false);
  assert.equal(isSegmentClosed(name, end + SEGMENT_GRACE_MS), true);
  assert.equal(isSegmentClosed("not-a-segment.jsonl", end * 2), false);
});

Deno.test("appendToSpool() creates the spool 0700, segments 0600, one line per call", async () => {
  const logDir = await Deno.makeTempDir();
  try {
    const first = appendToSpool(`${logDir}/nested`, '{"n":1}', { nowMs: T0 });
    const second = appendToSpool(`${logDir}/nested`, '{"n":2}\n', { nowMs: T0 + 1 });
    assert.deepEqual(first, { segment: "20261124T101500Z.jsonl", created: true });
    assert.deepEqual(second, { segment: "20261124T101500Z.jsonl", created: false });
    const path = segmentPath(`${logDir}/nested`, first.segment);
    assert.equal(await Deno.readTextFile(path), '{"n":1}\n{"n":2}\n');
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(`${logDir}/nested/spool`)).mode! & 0o777, 0o700);
    assert.deepEqual(await listSegments(`${logDir}/nested`), [first.segment]);
    assert.deepEqual(await listSegments(`${logDir}/absent`), []);
  } finally {
    await Deno.remove(logDir, { recursive: true });
  }
});

Deno.test("appendToSpool() throws when the segment cannot be written", async () => {
  const logDir = await Deno.makeTempDir();
  try {
    // A directory where the segment should be: the open fails, as on a full or read-only disk.
    await Deno.mkdir(segmentPath(logDir, segmentName(T0)), { recursive: true });
    assert.throws(() => appendToSpool(logDir, '{"n":1}', { nowMs: T0 }));
  } finally {
    await Deno.remove(logDir, { recursive: true });
  }
});

/** A spool with `count` segments a minute apart, each `lines` lines of `size` bytes. */
function fillSpool(logDir: string, count: number, lines: number, size: number) {
  const line = JSON.stringify({ pad: "x".repeat(size - 11) });
  assert.equal(line.length + 1, size);
  for (let s = 0; s < count; s++) {
    for (let i = 0; i < lines; i++) appendToSpool(logDir, line, { nowMs: T0 + s * MINUTE });
  }
}

Deno.test("enforceSpoolBound() drops the oldest closed segments and counts the loss", async (t) => {
  const logDir = await Deno.makeTempDir();
  const redactor = await createRedactor({ mode: "strict" });
  try {
    fillSpool(logDir, 5, 10, 100); // 5 segments of 1,000 bytes
    const now = T0 + 4 * MINUTE + SEGMENT_GRACE_MS; // the last one is still open

    await t.step("under the bound nothing goes", async () => {
      const drop = await enforceSpoolBound(logDir, 5_000, { nowMs: now });
      assert.deepEqual(drop.segments, []);
      assert.equal((await listSegments(logDir)).length, 5);
    });

    await t.step("above it the oldest go first, shipped lines are not counted lost", async () => {
      const names = await listSegments(logDir);
      // The relay shipped 3 lines of the second segment. The first is unshipped all the same:
      // the relay deletes what it shipped, and a name before the checkpoint's says nothing (the
      // clock may have gone back before it was written).
      await Deno.mkdir(`${logDir}/${LAYOUT.relayDir}`);
      await Deno.writeTextFile(
        `${logDir}/${LAYOUT.checkpointFile}`,
        JSON.stringify({ segment: names[1], offset: 300 }),
      );
      const drop = await enforceSpoolBound(logDir, 3_000, {
        nowMs: now,
        report: { context: { run_id: "run-1", worker_id: "w1" }, redactor },
      });
      assert.deepEqual(drop.segments, names.slice(0, 2));
      assert.equal(drop.events, 17);
      assert.equal(drop.bytes, 1_700);
      assert.equal(drop.freedBytes, 2_000);
      // The report event opened the current segment.
      assert.deepEqual(await listSegments(logDir), [...names.slice(2), segmentName(now)]);
      assert.equal(drop.event?.msg, "spool full: 17 events dropped");
      assert.equal(drop.event?.event_type, "error");
      assert.equal(drop.event?.hook_event_name, undefined);
      assert.deepEqual(
        { ...drop.event?.data, reason: undefined },
        { dropped_events: 17, dropped_bytes: 1_700, reason: undefined },
      );
      const totals = await readDroppedTotals(logDir);
      assert.equal(totals.dropped_events_total, 17);
      assert.equal(totals.dropped_segments_total, 2);
    });

    await t.step("the report event is in the spool", async () => {
      const current = segmentPath(logDir, segmentName(now));
      const lines = (await Deno.readTextFile(current)).trim().split("\n");
      assert.equal(JSON.parse(lines.at(-1)!).msg, "spool full: 17 events dropped");
    });

    await t.step("open segments are never deleted, even above the bound", async () => {
      const drop = await enforceSpoolBound(logDir, 10, { nowMs: now });
      const left = await listSegments(logDir);
      assert.ok(left.every((name) => !isSegmentClosed(name, now)), left.join());
      assert.equal(drop.events, 20); // the two closed segments left, nothing of them shipped
      assert.equal((await readDroppedTotals(logDir)).dropped_events_total, 37);
    });
  } finally {
    await Deno.remove(logDir, { recursive: true });
  }
});

Deno.test("enforceSpoolBound() run twice at once counts each segment once", async () => {
  const logDir = await Deno.makeTempDir();
  try {
    fillSpool(logDir, 4, 5, 100);
    const now = T0 + 10 * MINUTE;
    const [a, b] = await Promise.all([
      enforceSpoolBound(logDir, 0, { nowMs: now }),
      enforceSpoolBound(logDir, 0, { nowMs: now }),
    ]);
    assert.equal(a.events + b.events, 20);
    assert.deepEqual(await listSegments(logDir), []);
    assert.equal((await readDroppedTotals(logDir)).dropped_segments_total, 4);
  } finally {
    await Deno.remove(logDir, { recursive: true });
  }
});
