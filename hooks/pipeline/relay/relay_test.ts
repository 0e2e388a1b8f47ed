import assert from "node:assert/strict";
import { ensureRelay, LAUNCH_MARKER, relayCommand } from "../relay_launcher.ts";
import { LAYOUT, listSegments, segmentPath } from "../spool.ts";
import { readDroppedTotals } from "../spool_bound.ts";
import { readCheckpoint } from "./checkpoint.ts";
import { relayFiles, runRelay } from "./relay.ts";
import { keyFingerprint, readRelayStatus, relayStatusPath } from "./relay_status.ts";
import {
  fakeEvent,
  position,
  readJsonl,
  segmentAgo,
  startFakeBridge,
  testConfig,
  writeSegment,
} from "../../testing/relay.ts";
import { withLogDir } from "../../testing/log_dir.ts";

Deno.test("runRelay() ships the spool, deletes closed shipped segments, and exits when idle", async () => {
  await withLogDir(async (logDir) => {
    const [old, current] = [segmentAgo(10), segmentAgo(0)];
    await writeSegment(logDir, old, [0, 1, 2].map((i) => fakeEvent(i)));
    await writeSegment(logDir, current, [3, 4].map((i) => fakeEvent(i)));
    const bridge = startFakeBridge();
    try {
      const result = await runRelay({
        config: testConfig(logDir, bridge.url),
        idleMs: 300,
        httpPort: null,
        pollMs: 20,
      });
      assert.equal(result.reason, "idle");
      assert.equal(result.totals.shipped, 5);
      assert.deepEqual(bridge.accepted.map((e) => e.seq), [0, 1, 2, 3, 4]);
      assert.equal(bridge.requests[0]!.headers.get("authorization"), "Bearer test-key");
      assert.deepEqual(await listSegments(logDir), [current], "the open segment stays");
      const size = (await Deno.stat(segmentPath(logDir, current))).size;
      assert.deepEqual(position(await readCheckpoint(relayFiles(logDir).checkpoint)), {
        segment: current,
        offset: size,
      });
      const heartbeat = await Deno.stat(`${logDir}/${LAYOUT.heartbeatFile}`);
      assert.equal(heartbeat.mtime?.getTime(), 0, "a stopped relay leaves a stale heartbeat");
    } finally {
      await bridge.close();
    }
  });
});

Deno.test("runRelay() ships lines appended while it runs, until stopped", async () => {
  await withLogDir(async (logDir) => {
    const bridge = startFakeBridge();
    const stop = new AbortController();
    try {
      const running = runRelay({
        config: testConfig(logDir, bridge.url),
        httpPort: null,
        pollMs: 10,
        signal: stop.signal,
      });
      const current = segmentAgo(0);
      for (let i = 0; i < 5; i++) {
        await writeSegment(logDir, current, [fakeEvent(i)], { append: true });
        await new Promise((r) => setTimeout(r, 30));
      }
      for (let i = 0; i < 100 && bridge.accepted.length < 5; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      stop.abort();
      const result = await running;
      assert.equal(result.reason, "stopped");
      assert.deepEqual(bridge.accepted.map((e) => e.seq), [0, 1, 2, 3, 4]);
    } finally {
      await bridge.close();
    }
  });
});

Deno.test("runRelay() serves http hooks and spools them with no endpoint configured", async () => {
  await withLogDir(async (logDir) => {
    const stop = new AbortController();
    let port = 0;
    const running = runRelay({
      config: testConfig(logDir),
      httpPort: 0,
      signal: stop.signal,
      onListen: (p) => port = p,
    });
    try {
      for (let i = 0; i < 200 && port === 0; i++) await new Promise((r) => setTimeout(r, 10));
      const response = await fetch(`http://127.0.0.1:${port}/hook`, {
        method: "POST",
        body: JSON.stringify({ session_id: "s", hook_event_name: "Notification", message: "hi" }),
      });
      assert.equal(response.status, 200);
      assert.equal(await response.text(), "");
      const [segment] = await listSegments(logDir);
      const [event] = await readJsonl(segmentPath(logDir, segment!));
      assert.equal(event!.hook_event_name, "Notification");
    } finally {
      stop.abort();
      assert.equal((await running).reason, "stopped");
    }
  });
});

Deno.test("runRelay() keeps the spool within ZO_SPOOL_MAX_MB and reports the drop as an event", async () => {
  await withLogDir(async (logDir) => {
    // Three closed segments of ~600 KB against a 1 MB bound: the two oldest must go.
    const names = [segmentAgo(30), segmentAgo(20), segmentAgo(10)];
    for (const [n, name] of names.entries()) {
      await writeSegment(
        logDir,
        name,
        Array.from({ length: 60 }, (_, i) => fakeEvent(n * 100 + i, 10_000)),
      );
    }
    const logged: string[] = [];
    const result = await runRelay({
      config: testConfig(logDir, undefined, { ZO_SPOOL_MAX_MB: "1" }),
      httpPort: null,
      idleMs: 50,
      pollMs: 10,
      log: (line) => logged.push(line),
    });
    assert.equal(result.reason, "idle");
    assert.deepEqual(logged, [
      "Spool above ZO_SPOOL_MAX_MB: dropped 120 unshipped events (2 oldest segments)",
    ]);
    const left = await listSegments(logDir);
    assert.ok(!left.includes(names[0]!) && !left.includes(names[1]!), "the oldest went first");
    assert.ok(left.includes(names[2]!));
    const totals = await readDroppedTotals(logDir);
    assert.equal(totals.dropped_events_total, 120);
    const events = (await Promise.all(left.map((n) => readJsonl(segmentPath(logDir, n))))).flat();
    const report = events.find((e) => e.event_type === "error");
    assert.equal(report?.msg, "spool full: 120 events dropped");
    assert.equal((report?.data as Record<string, unknown>).dropped_events, 120);
    assert.equal(report?.hook_event_name, undefined);
  });
});

Deno.test("runRelay() warns once when the key comes from the old name ZO_API_KEY", async () => {
  await withLogDir(async (logDir) => {
    const run = async (env: Record<string, string>) => {
      const logged: string[] = [];
      const result = await runRelay({
        config: testConfig(logDir, undefined, env),
        httpPort: null,
        idleMs: 50,
        pollMs: 10,
        log: (line) => logged.push(line),
      });
      assert.equal(result.reason, "idle");
      return logged;
    };
    assert.deepEqual(await run({ ZO_INGEST_KEY: "", ZO_API_KEY: "old-name-key" }), [
      "Warning: ZO_API_KEY is the old name of the ingest key; set ZO_INGEST_KEY instead " +
      "(re-running bootstrap moves it in the install's .env)",
    ]);
    assert.equal((await readRelayStatus(logDir))?.key_variable, "ZO_API_KEY");
    assert.deepEqual(await run({ ZO_API_KEY: "old-name-key" }), [], "ZO_INGEST_KEY wins, quietly");
  });
});

Deno.test("hooks/relay.ts runs with the launcher's exact flags; a second one exits at once", async () => {
  await withLogDir(async (logDir) => {
    const bridge = startFakeBridge();
    try {
      await writeSegment(logDir, segmentAgo(10), [0, 1, 2].map((i) => fakeEvent(i)));
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (listener.addr as Deno.NetAddr).port;
      listener.close();
      const config = testConfig(logDir, bridge.url, { ZO_RELAY_PORT: String(port) });
      const [program, ...args] = relayCommand(config, "deno");
      const env = {
        ZO_LOG_DIR: logDir,
        ZO_EVENT_ENDPOINT: bridge.url.href,
        ZO_INGEST_KEY: "test-key",
        ZO_RELAY_PORT: String(port),
        ZO_RELAY_IDLE_SECONDS: "1",
      };
      const first = new Deno.Command(program!, { args, env, stdout: "piped", stderr: "piped" })
        .spawn();
      for (let i = 0; i < 200 && bridge.accepted.length < 3; i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
      // It says which key it sends, by fingerprint only, for doctor.
      const status = await readRelayStatus(logDir);
      assert.equal(status?.pid, first.pid);
      assert.deepEqual(
        [status?.key_variable, status?.key_fingerprint],
        ["ZO_INGEST_KEY", await keyFingerprint("test-key")],
      );
      assert.ok(!(await Deno.readTextFile(relayStatusPath(logDir))).includes("test-key"));
      const started = performance.now();
      const second = await new Deno.Command(program!, {
        args,
        env,
        stdout: "piped",
        stderr: "piped",
      })
        .output();
      assert.equal(second.code, 0);
      assert.equal(new TextDecoder().decode(second.stderr), "", "quietly");
      assert.ok(performance.now() - started < 5_000);
      const done = await first.output();
      assert.equal(done.code, 0, new TextDecoder().decode(done.stderr));

      assert.equal(new TextDecoder().decode(done.stdout), "", "nothing on stdout");
      assert.deepEqual(bridge.accepted.map((e) => e.seq), [0, 1, 2]);
    } finally {
      await bridge.close();
    }
  });
});

Deno.test("runRelay() clears the launch marker, so a hook right after it leaves starts the next relay", async () => {
  await withLogDir(async (logDir) => {
    const bridge = startFakeBridge();
    try {
      const config = testConfig(logDir, bridge.url);
      // A hook launches (the marker), and a relay starts, runs and leaves at once.
      assert.equal(ensureRelay(config, { command: ["env", "true"] }), true);
      await Deno.stat(`${logDir}/${LAUNCH_MARKER}`);
      const result = await runRelay({ config, idleMs: 50, httpPort: null, pollMs: 10 });
      assert.equal(result.reason, "idle");
      await assert.rejects(Deno.stat(`${logDir}/${LAUNCH_MARKER}`), Deno.errors.NotFound);
      // Well within LAUNCH_GRACE_MS of the first launch, the next hook starts a relay.
      assert.equal(ensureRelay(config, { command: ["env", "true"] }), true);
    } finally {
      await bridge.close();
    }
  });
});
