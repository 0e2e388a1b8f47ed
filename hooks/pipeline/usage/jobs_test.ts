import assert from "node:assert/strict";
import { collectorDir, isTranscriptPath, jobsOf, listJobs, readJob, writeJobSync } from "./jobs.ts";

const CONTEXT = { session_id: "s-1", run_id: "r-1" };
const MAIN = "/home/dev/.claude/projects/-home-dev-app/s-1.jsonl";
const AGENT = "/home/dev/.claude/projects/-home-dev-app/s-1/subagents/agent-7f3c.jsonl";

Deno.test("jobsOf() puts a subagent's transcript in its session's directory job", () => {
  const [job, ...rest] = jobsOf(
    {
      hook_event_name: "SubagentStop",
      transcript_path: MAIN,
      agent_transcript_path: AGENT,
      cwd: "/home/dev/app",
    },
    { ...CONTEXT, agent_id: "agent-7f3c" },
    { nowMs: 5 },
  );
  assert.equal(rest.length, 0);
  assert.equal(job!.dir, "/home/dev/.claude/projects/-home-dev-app");
  assert.deepEqual(job!.transcripts, [
    { path: MAIN, kind: "main" },
    { path: AGENT, kind: "subagent" },
  ]);
  assert.equal(job!.agent_id, "agent-7f3c");
  assert.equal(job!.cwd, "/home/dev/app");
});

Deno.test("jobsOf() gives an outside subagent transcript a job of its own directory", () => {
  const jobs = jobsOf(
    {
      hook_event_name: "SubagentStop",
      transcript_path: MAIN,
      agent_transcript_path: "/elsewhere/agents/a.jsonl",
    },
    CONTEXT,
    { nowMs: 5 },
  );
  assert.deepEqual(jobs.map((j) => j.dir), [
    "/home/dev/.claude/projects/-home-dev-app",
    "/elsewhere/agents",
  ]);
});

Deno.test("isTranscriptPath() refuses paths the collector must not be pointed at", () => {
  assert.ok(isTranscriptPath(MAIN));
  for (
    const bad of [
      "relative/x.jsonl",
      "/x.jsonl",
      "/a/b.txt",
      "/a/../etc/b.jsonl",
      "/a,b/c.jsonl",
      7,
    ]
  ) {
    assert.equal(isTranscriptPath(bad), false, String(bad));
  }
  assert.deepEqual(
    jobsOf({ hook_event_name: "Stop", transcript_path: "/x.jsonl" }, CONTEXT, { nowMs: 1 }),
    [],
  );
});

Deno.test("writeJobSync() and readJob() round-trip, listJobs() lists oldest first", async () => {
  const logDir = await Deno.makeTempDir();
  try {
    const [job] = jobsOf({ hook_event_name: "Stop", transcript_path: MAIN }, CONTEXT, {
      nowMs: 20,
    });
    const stateDir = await collectorDir(logDir, job!.dir);
    const later = writeJobSync(stateDir, { ...job!, queued_ms: 30 });
    const earlier = writeJobSync(stateDir, job!);
    assert.deepEqual(await listJobs(stateDir), [earlier, later]);
    assert.deepEqual(await readJob(earlier), job);
    await Deno.writeTextFile(later, "{");
    assert.equal(await readJob(later), undefined);
  } finally {
    await Deno.remove(logDir, { recursive: true });
  }
});
