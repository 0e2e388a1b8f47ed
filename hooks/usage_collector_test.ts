/**
 * Usage collection as it runs on a VM: the Stop hook queues a job and starts
 * `hooks/usage_collector.ts` with exactly its documented flags; the collector reads the
 * transcript and spools usage events; the relay ships them to a real bridge, whose `GET /usage`
 * then gives the fixture's expected totals.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startTestBridge } from "../bridge/testing/bridge.ts";
import type { UsageReport } from "../bridge/usage/report.ts";
import { COLLECTOR_SCRIPT, collectorCommand } from "../scripts/install/hook_permissions.ts";
import { relayCommand } from "./pipeline/relay_launcher.ts";
import { collectorDir, listJobs, writeJobSync } from "./pipeline/usage/jobs.ts";
import { loadVmConfig } from "./pipeline/vm_config.ts";
import { parseCollectorFlags } from "./usage_collector.ts";
import { HOOKS_DIR, runHookScript, spooledEvents } from "./testing/run_hook.ts";

const FIXTURE = new URL("../testdata/claude-code/transcript.jsonl", import.meta.url).pathname;
const PAYLOADS = new URL("../testdata/claude-code/payloads/", import.meta.url).pathname;
const SESSION = "00893aaf-19fa-41d2-8238-13269b9b3ca0";
const EXPECTED = {
  messages: 2,
  input_tokens: 1500,
  output_tokens: 405,
  cache_creation_input_tokens: 5000,
  cache_read_input_tokens: 6200,
};

/** Pids of the processes running `script` for `logDir`, from `ps`. */
async function pidsOf(script: string, logDir: string): Promise<number[]> {
  const output = await new Deno.Command("ps", { args: ["-eo", "pid=,args="], stdout: "piped" })
    .output();
  return new TextDecoder().decode(output.stdout).split("\n")
    .filter((line) => line.includes(`hooks/${script}`) && line.includes(`--allow-write=${logDir} `))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A temp root with a log dir and a Claude Code project dir holding the fixture transcript. */
async function withTranscript(
  fn: (paths: { logDir: string; dir: string; transcript: string }) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir();
  const logDir = `${root}/log`;
  const dir = `${root}/claude/projects/-home-dev-app`;
  try {
    await Deno.mkdir(dir, { recursive: true });
    const transcript = `${dir}/${SESSION}.jsonl`;
    await Deno.copyFile(FIXTURE, transcript);
    await fn({ logDir, dir, transcript });
  } finally {
    for (const script of [COLLECTOR_SCRIPT, "relay.ts"]) {
      for (const pid of await pidsOf(script, logDir)) {
        try {
          Deno.kill(pid, "SIGTERM");
        } catch {
          // gone meanwhile
        }
      }
    }
    await Deno.remove(root, { recursive: true });
  }
}

async function stopPayload(transcript: string): Promise<string> {
  const payload = JSON.parse(await Deno.readTextFile(`${PAYLOADS}stop.json`));
  return JSON.stringify({ ...payload, transcript_path: transcript });
}

/** The documented `deno run ...` line of a script, as words, shell quotes removed. */
async function documentedCommand(file: string): Promise<string[]> {
  const text = await Deno.readTextFile(`${HOOKS_DIR}/${file}`);
  const line = text.split("\n").find((l) => l.trimStart().startsWith("*     deno run "));
  assert.ok(line, `hooks/${file} documents no "deno run" line`);
  return line.replace(/^\s*\*\s+/, "").split(/\s+/).map((word) => word.replace(/^'(.*)'$/, "$1"));
}

Deno.test("hooks/usage_collector.ts documents exactly the flags it is started with", async () => {
  assert.deepEqual(
    await documentedCommand(COLLECTOR_SCRIPT),
    collectorCommand({ hooksDir: "hooks" }),
  );
});

Deno.test("parseCollectorFlags() takes one absolute --dir", () => {
  assert.deepEqual(parseCollectorFlags(["--dir=/home/dev/.claude/projects/-app"]), {
    dir: "/home/dev/.claude/projects/-app",
  });
  assert.throws(() => parseCollectorFlags([]), /give --dir=<transcript-dir>/);
  assert.throws(() => parseCollectorFlags(["--dir=relative"]), /absolute/);
  assert.throws(() => parseCollectorFlags(["--fast"]), /unknown/);
});

Deno.test("Stop hooks hand the transcript to the collector, off their own path", async () => {
  await withTranscript(async ({ logDir, dir, transcript }) => {
    const stdin = await stopPayload(transcript);
    // No relay: the hook starts the collector, which waits ZO_RELAY_IDLE_SECONDS for more jobs.
    const env = { ZO_RELAY_IDLE_SECONDS: "2" };
    const runs = await Promise.all(
      Array.from({ length: 5 }, () => runHookScript("stop.ts", { logDir, stdin, env })),
    );
    for (const run of runs) {
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, "");
      assert.equal(run.stderr, "");
    }
    const stateDir = await collectorDir(logDir, dir);
    const done = await until(async () =>
      (await pidsOf(COLLECTOR_SCRIPT, logDir)).length === 0 &&
      (await listJobs(stateDir)).length === 0, 30_000);
    assert.ok(done, "the collector did not finish its jobs");
    const usage = (await spooledEvents(logDir)).filter((e) => e.event_type === "usage");
    assert.equal(usage.length, 2, "two responses, read once by one collector at a time");
    assert.equal(new Set(usage.map((e) => e.event_id)).size, 2);
    assert.ok(usage.every((e) => e.session_id === SESSION));
    assert.equal((await spooledEvents(logDir)).filter((e) => e.event_type === "done").length, 5);
  });
});

Deno.test("hook -> collector -> spool -> relay -> bridge: GET /usage gives the fixture's totals", async () => {
  await using bridge = await startTestBridge();
  await withTranscript(async ({ logDir, transcript }) => {
    const env = {
      ZO_EVENT_ENDPOINT: bridge.ingestUrl,
      ZO_INGEST_KEY: bridge.ingestKey,
      ZO_PROJECT_ID: "acme",
      ZO_RELAY_PORT: String(freePort()),
      ZO_RELAY_IDLE_SECONDS: "2",
    };
    const run = await runHookScript("stop.ts", {
      logDir,
      env,
      stdin: await stopPayload(transcript),
    });
    assert.equal(run.code, 0, run.stderr);
    let report: UsageReport | undefined;
    const shipped = await until(async () => {
      const response = await fetch(`${bridge.url}/usage?group_by=model`, {
        headers: { authorization: `Bearer ${bridge.readKey}` },
      });
      // A loaded machine may answer 503 while Chroma is slow: that is "not yet", not a failure.
      if (!response.ok) {
        await response.body?.cancel();
        return false;
      }
      report = await response.json();
      return report!.totals.messages === 2;
    }, 30_000);
    assert.ok(shipped, `usage did not arrive: ${JSON.stringify(report?.totals)}`);
    const totals = report!.totals;
    assert.deepEqual({
      messages: totals.messages,
      input_tokens: totals.input_tokens,
      output_tokens: totals.output_tokens,
      cache_creation_input_tokens: totals.cache_creation_input_tokens,
      cache_read_input_tokens: totals.cache_read_input_tokens,
    }, EXPECTED);
    assert.deepEqual(report!.groups.map((g) => g.key.model), ["claude-sonnet-4-5"]);
    assert.equal(totals.cost_usd, 0.031185);

    // The session ends: nothing new, so nothing more is counted.
    const end = JSON.parse(await Deno.readTextFile(`${PAYLOADS}session_end.json`));
    await runHookScript("session_end.ts", {
      logDir,
      env,
      stdin: JSON.stringify({ ...end, transcript_path: transcript }),
    });
    assert.ok(
      await until(async () =>
        (await pidsOf(COLLECTOR_SCRIPT, logDir)).length === 0 &&
        (await pidsOf("relay.ts", logDir)).length === 0, 30_000),
      "the collector or the relay stayed",
    );
    const after = await fetch(`${bridge.url}/usage`, {
      headers: { authorization: `Bearer ${bridge.readKey}` },
    });
    assert.equal(((await after.json()) as UsageReport).totals.output_tokens, 405);
  });
});

Deno.test("an http-hook Stop at the relay starts the collector too", async () => {
  await withTranscript(async ({ logDir, dir, transcript }) => {
    const port = freePort();
    const vars: Record<string, string> = {
      ZO_LOG_DIR: logDir,
      ZO_RELAY_PORT: String(port),
      ZO_RELAY_IDLE_SECONDS: "2",
      ZO_REDACTION_SALT: "test-salt",
    };
    // Run as "deno" (what the tests may run); the relay itself may run only its own binary.
    const [, ...args] = relayCommand(loadVmConfig((name) => vars[name]), Deno.execPath());
    const relay = new Deno.Command("deno", {
      args,
      clearEnv: true,
      env: vars,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const listening = await until(async () => {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/health`);
        await response.body?.cancel();
        return response.ok;
      } catch {
        return false;
      }
    }, 20_000);
    assert.ok(listening, "the relay did not listen");
    const response = await fetch(`http://127.0.0.1:${port}/hook/Stop`, {
      method: "POST",
      body: await stopPayload(transcript),
    });
    await response.body?.cancel();
    assert.equal(response.status, 200);
    const stateDir = await collectorDir(logDir, dir);
    const collected = await until(
      async () =>
        (await spooledEvents(logDir)).filter((e) => e.event_type === "usage").length === 2 &&
        (await listJobs(stateDir)).length === 0,
      30_000,
    );
    const output = await relay.output();
    assert.ok(
      collected,
      `no usage from the http hook; relay: ${new TextDecoder().decode(output.stderr)}`,
    );
    assert.equal(output.code, 0);
  });
});

Deno.test("the collector reports a transcript outside its directory once, as an error event", async () => {
  await withTranscript(async ({ logDir, dir }) => {
    const outside = await Deno.makeTempDir();
    try {
      await Deno.copyFile(FIXTURE, `${outside}/s.jsonl`);
      const stateDir = await collectorDir(logDir, dir);
      const job = {
        v: 1 as const,
        dir,
        transcripts: [{ path: `${outside}/s.jsonl`, kind: "main" as const }],
        session_id: SESSION,
        run_id: "run-1",
        hook_event_name: "Stop",
        queued_ms: Date.now(),
      };
      const [, ...args] = collectorCommand({
        logDir,
        transcriptDir: dir,
        hooksDir: HOOKS_DIR,
      });
      for (let i = 0; i < 2; i++) {
        writeJobSync(stateDir, job);
        const run = await new Deno.Command("deno", {
          args,
          clearEnv: true,
          env: { ZO_LOG_DIR: logDir, ZO_RELAY_IDLE_SECONDS: "0" },
          stdout: "null",
          stderr: "piped",
        }).output();
        assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
      }
      const events = await spooledEvents(logDir);
      assert.equal(events.filter((e) => e.event_type === "usage").length, 0);
      const errors = events.filter((e) => e.event_type === "error");
      assert.equal(errors.length, 1, "said once, not at every Stop");
      assert.deepEqual(
        (errors[0]!.error_detail as Record<string, unknown>).type,
        "usage_transcript_unreadable",
      );
      assert.match(String(errors[0]!.msg), /outside .*the directory the collector may read/);
    } finally {
      await Deno.remove(outside, { recursive: true });
    }
  });
});
