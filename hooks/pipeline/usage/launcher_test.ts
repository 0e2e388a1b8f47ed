import assert from "node:assert/strict";
import { spooledEvents } from "../../testing/run_hook.ts";
import { collectorDir, listJobs } from "./jobs.ts";
import { collectorIdle, queueUsage, startPendingCollectors } from "./launcher.ts";

const FIXTURE = new URL("../../../testdata/claude-code/transcript.jsonl", import.meta.url).pathname;

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

Deno.test("queueUsage() without launching leaves the job for startPendingCollectors()", async () => {
  const root = await Deno.makeTempDir();
  try {
    const logDir = `${root}/log`;
    const dir = `${root}/projects/-app`;
    await Deno.mkdir(logDir);
    await Deno.mkdir(dir, { recursive: true });
    await Deno.copyFile(FIXTURE, `${dir}/s.jsonl`);
    const queued = await queueUsage(logDir, {
      payload: { hook_event_name: "Stop", transcript_path: `${dir}/s.jsonl` },
      context: { session_id: "s", run_id: "r" },
    }, { launch: false });
    assert.equal(queued.jobs.length, 1);
    assert.deepEqual(queued.launched, []);
    const stateDir = await collectorDir(logDir, dir);
    assert.ok(collectorIdle(stateDir));

    // As the relay does (its heartbeat tells the collector not to linger); "deno" from PATH is
    // what the test may run.
    await Deno.mkdir(`${logDir}/relay`);
    await Deno.writeTextFile(`${logDir}/relay/heartbeat`, `${Deno.pid}\n`);
    const started = new Map<string, number>();
    const options = { started, denoPath: "deno" };
    assert.deepEqual(await startPendingCollectors(logDir, options), [dir]);
    assert.deepEqual(await startPendingCollectors(logDir, options), [], "not twice at once");
    const done = await until(
      async () => (await listJobs(stateDir)).length === 0 && collectorIdle(stateDir),
      20_000,
    );
    assert.ok(done, "the collector did not take the job");
    const usage = (await spooledEvents(logDir)).filter((e) => e.event_type === "usage");
    assert.equal(usage.length, 2);
    assert.deepEqual(await startPendingCollectors(logDir, { started: new Map() }), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
