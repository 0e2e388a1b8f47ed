import assert from "node:assert/strict";
import { LAYOUT } from "../spool.ts";
import { readCheckpoint, SPOOL_START } from "./checkpoint.ts";
import { pump } from "./pump.ts";
import { relayFiles } from "./relay.ts";
import { createShipper, DeliveryError } from "./shipper.ts";
import { SpoolReader } from "./spool_reader.ts";
import { logDirSource } from "./spool_source.ts";
import {
  fakeEvent,
  position,
  readJsonl,
  segmentAgo,
  startFakeBridge,
  writeSegment,
} from "../../testing/relay.ts";
import { withLogDir } from "../../testing/log_dir.ts";

Deno.test("pump() ships everything, dead-letters, quarantines and checkpoints durably", async () => {
  await withLogDir(async (logDir) => {
    const [a, b] = [segmentAgo(10), segmentAgo(5)];
    await writeSegment(logDir, a, [...[0, 1, 2].map((i) => fakeEvent(i)), "garbage{"]);
    await writeSegment(logDir, b, [3, 4, 5, 6, 7].map((i) => fakeEvent(i)));
    const bridge = startFakeBridge((request) =>
      Response.json({
        accepted: request.events.length,
        duplicates: 0,
        rejected: request.events.flatMap((e, index) =>
          e.seq === 4 ? [{ index, error: "level: invalid" }] : []
        ),
      })
    );
    const shipper = createShipper({ endpoint: bridge.url });
    const files = relayFiles(logDir);
    const deleted: string[] = [];
    try {
      const reader = new SpoolReader(logDirSource(logDir), SPOOL_START, { maxEvents: 2 });
      const totals = await pump(reader, shipper, {
        files,
        concurrency: 3,
        deleteShipped: async (shipped) => {
          const names = shipped.map((file) => file.name);
          deleted.push(...names);
          for (const name of names) await Deno.remove(`${logDir}/${LAYOUT.spoolDir}/${name}`);
          return { gone: names, grown: [] };
        },
      });
      assert.deepEqual(
        { ...totals, batches: undefined },
        { shipped: 7, deadLettered: 1, quarantined: 1, batches: undefined },
      );
      assert.deepEqual(
        bridge.accepted.map((e) => e.seq).sort(),
        [0, 1, 2, 3, 4, 5, 6, 7],
      );
      const dead = await readJsonl(files.deadLetter);
      assert.equal(dead.length, 1);
      assert.equal(dead[0]!.reason, "level: invalid");
      assert.deepEqual(dead[0]!.event, fakeEvent(4));
      assert.match(String(dead[0]!.at), /^\d{4}-\d\d-\d\dT/);
      const quarantined = await readJsonl(files.quarantine);
      assert.deepEqual(
        quarantined.map(({ segment, line }) => ({ segment, line })),
        [{ segment: a, line: "garbage{" }],
      );
      const size = [3, 4, 5, 6, 7].reduce((n, i) => n + JSON.stringify(fakeEvent(i)).length + 1, 0);
      const { ino, ...position } = await readCheckpoint(files.checkpoint);
      assert.deepEqual(position, { segment: b, offset: size });
      assert.ok(Number.isSafeInteger(ino), "the checkpoint names its file's inode");
      assert.deepEqual(deleted, [a, b], "closed, wholly shipped segments go");
    } finally {
      shipper.close();
      await bridge.close();
    }
  });
});

Deno.test("pump() leaves the checkpoint before a batch the bridge never took", async () => {
  await withLogDir(async (logDir) => {
    const a = segmentAgo(10);
    await writeSegment(logDir, a, [0, 1, 2, 3].map((i) => fakeEvent(i)));
    // The first batch ships, every later one meets a dead bridge.
    const bridge = startFakeBridge((request, n) =>
      n === 0
        ? Response.json({ accepted: request.events.length, duplicates: 0, rejected: [] })
        : new Response("down", { status: 503 })
    );
    const shipper = createShipper({
      endpoint: bridge.url,
      maxAttempts: 2,
      backoff: { baseMs: 1, capMs: 2 },
      log: () => {},
    });
    const files = relayFiles(logDir);
    try {
      const reader = new SpoolReader(logDirSource(logDir), SPOOL_START, { maxEvents: 2 });
      await assert.rejects(pump(reader, shipper, { files, concurrency: 1 }), DeliveryError);
      const checkpoint = await readCheckpoint(files.checkpoint);
      const twoLines = 2 * (JSON.stringify(fakeEvent(0)).length + 1);
      assert.deepEqual(position(checkpoint), { segment: a, offset: twoLines });
      // A fresh reader from the checkpoint ships the rest, and only the rest.
      const healthy = startFakeBridge();
      const again = createShipper({ endpoint: healthy.url });
      try {
        await pump(new SpoolReader(logDirSource(logDir), checkpoint), again, { files });
        assert.deepEqual(healthy.accepted.map((e) => e.seq), [2, 3]);
      } finally {
        again.close();
        await healthy.close();
      }
    } finally {
      shipper.close();
      await bridge.close();
    }
  });
});
