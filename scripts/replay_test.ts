import assert from "node:assert/strict";
import { parseReplayArgs } from "./replay.ts";
import {
  fakeEvent,
  readJsonl,
  segmentAgo,
  startFakeBridge,
  writeSegment,
} from "../hooks/testing/relay.ts";
import { withLogDir } from "../hooks/testing/log_dir.ts";

const SCRIPT = new URL("./replay.ts", import.meta.url).pathname;

/** Runs the replay as `deno task replay` does, with this environment. */
async function replay(args: string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command("deno", {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-net",
      "--allow-env=ZO_EVENT_ENDPOINT,ZO_INGEST_KEY,ZO_API_KEY",
      SCRIPT,
      ...args,
    ],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

Deno.test("parseReplayArgs() reads the path and flags, and names a bad one", () => {
  assert.deepEqual(
    parseReplayArgs(["/x", "--endpoint=http://h/ingest", "--restart", "--max-attempts=3"]),
    { path: "/x", endpoint: "http://h/ingest", restart: true, maxAttempts: 3 },
  );
  assert.throws(() => parseReplayArgs([]), /^TypeError: Cannot replay: give the directory/);
  assert.throws(() => parseReplayArgs(["/x", "--nope"]), /Cannot use --nope: unknown flag/);
  assert.throws(() => parseReplayArgs(["/x", "--batch-events=0"]), /from 1 to 1000/);
  assert.throws(() => parseReplayArgs(["/x", "/y"]), /give one directory or file/);
  assert.equal(parseReplayArgs(["--help"]), "help");
  assert.equal((parseReplayArgs(["/x", "--key-file=/k"]) as { keyFile?: string }).keyFile, "/k");
  assert.throws(() => parseReplayArgs(["/x", "--key=a", "--key-file=/k"]), /give one/);
  assert.deepEqual(parseReplayArgs(["/x", "--endpoint", "http://h/ingest"]), {
    path: "/x",
    endpoint: "http://h/ingest",
    restart: false,
  });
});

Deno.test("deno task replay ships a log dir with progress, and a rerun resumes", async () => {
  await withLogDir(async (logDir) => {
    await writeSegment(logDir, segmentAgo(20), [0, 1, 2].map((i) => fakeEvent(i)));
    await writeSegment(logDir, segmentAgo(10), [
      fakeEvent(3),
      fakeEvent(4),
      "{corrupt",
      fakeEvent(5),
    ]);
    const bridge = startFakeBridge();
    try {
      const env = { ZO_EVENT_ENDPOINT: bridge.url.href, ZO_INGEST_KEY: "k" };
      const first = await replay([logDir, "--batch-events=2"], env);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(first.stdout, "");
      assert.match(first.stderr, /\[#{24}\] 7\/7 events {2}100%/);
      assert.match(
        first.stderr,
        /Replayed 6 events to http:\/\/127\.0\.0\.1:\d+\/ingest; 1 corrupt lines, see .*\.replay\/quarantine\.jsonl/,
      );
      // Batches are in flight several at once, so they may arrive in any order; each arrives once.
      const seqs = bridge.accepted.map((e) => e.seq as number).sort((a, b) => a - b);
      assert.deepEqual(seqs, [0, 1, 2, 3, 4, 5]);
      assert.equal(bridge.requests[0]!.headers.get("authorization"), "Bearer k");
      const quarantined = await readJsonl(`${logDir}/.replay/quarantine.jsonl`);
      assert.equal(quarantined[0]!.line, "{corrupt");

      const again = await replay([logDir], env);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /Replayed 0 events/);
      assert.equal(bridge.accepted.length, 6, "nothing shipped twice");

      const restarted = await replay([logDir, "--restart"], env);
      assert.equal(restarted.code, 0);
      assert.equal(bridge.accepted.length, 12, "--restart ships it all again");
    } finally {
      await bridge.close();
    }
  });
});

Deno.test("deno task replay fails clearly without an endpoint or a reachable bridge, then resumes", async () => {
  await withLogDir(async (logDir) => {
    const file = `${logDir}/events.jsonl`;
    await Deno.writeTextFile(
      file,
      [0, 1, 2, 3].map((i) => JSON.stringify(fakeEvent(i)) + "\n").join(""),
    );
    const unset = await replay([file]);
    assert.equal(unset.code, 1);
    assert.match(unset.stderr, /^Cannot replay: ZO_EVENT_ENDPOINT is not set/);

    // The first batch goes through, then the bridge is gone.
    const flaky = startFakeBridge((request, n) =>
      n === 0
        ? Response.json({ accepted: request.events.length, duplicates: 0, rejected: [] })
        : new Response("down", { status: 503 })
    );
    const down = await replay([file, "--batch-events=2", "--concurrency=1", "--max-attempts=2"], {
      ZO_EVENT_ENDPOINT: flaky.url.href,
    });
    await flaky.close();
    assert.equal(down.code, 1);
    assert.match(down.stderr, /Cannot ship events after 2 attempts: the bridge kept answering 503/);
    assert.match(down.stderr, /2 of 4 lines done; run the same command again to resume/);

    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const unreachable = await replay([file, "--max-attempts=2"], {
      ZO_EVENT_ENDPOINT: `http://127.0.0.1:${port}/ingest`,
    });
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /is unreachable/);

    const healthy = startFakeBridge();
    try {
      const resumed = await replay([file], { ZO_EVENT_ENDPOINT: healthy.url.href });
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.deepEqual(healthy.accepted.map((e) => e.seq), [2, 3], "only what was left");
    } finally {
      await healthy.close();
    }
  });
});

Deno.test("deno task replay --key-file sends the file's key, not the environment's", async () => {
  await withLogDir(async (logDir) => {
    await writeSegment(logDir, segmentAgo(20), [fakeEvent(0)]);
    const keyFile = `${logDir}/ingest.key`;
    await Deno.writeTextFile(keyFile, "from-file\n");
    const bridge = startFakeBridge();
    try {
      const run = await replay([logDir, `--key-file=${keyFile}`], {
        ZO_EVENT_ENDPOINT: bridge.url.href,
        ZO_INGEST_KEY: "from-env",
      });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(bridge.requests[0]!.headers.get("authorization"), "Bearer from-file");
    } finally {
      await bridge.close();
    }
  });
});
