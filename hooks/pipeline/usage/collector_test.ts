import assert from "node:assert/strict";
import { spooledEvents } from "../../testing/run_hook.ts";
import { loadVmConfig, type VmConfig } from "../vm_config.ts";
import { runCollector } from "./collector.ts";
import { collectorDir, jobsOf, listJobs, writeJobSync } from "./jobs.ts";
import {
  addTokens,
  raiseTokens,
  TOKEN_FIELDS,
  type TokenCounts,
  zeroTokens,
} from "../../../shared/usage/tokens.ts";

const FIXTURE = new URL("../../../testdata/claude-code/transcript.jsonl", import.meta.url).pathname;
const FIXTURE_SESSION = "00893aaf-19fa-41d2-8238-13269b9b3ca0";
const EXPECTED = {
  input_tokens: 1500,
  output_tokens: 405,
  cache_creation_input_tokens: 5000,
  cache_read_input_tokens: 6200,
};

interface Setup {
  logDir: string;
  dir: string;
  config: VmConfig;
  transcript: string;
}

async function withSetup(fn: (setup: Setup) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir();
  try {
    const logDir = `${root}/log`;
    await Deno.mkdir(logDir);
    const dir = `${root}/claude/projects/-home-dev-app`;
    await Deno.mkdir(dir, { recursive: true });
    const transcript = `${dir}/${FIXTURE_SESSION}.jsonl`;
    await Deno.copyFile(FIXTURE, transcript);
    const vars: Record<string, string> = {
      ZO_LOG_DIR: logDir,
      ZO_WORKER_ID: "vm-1",
      ZO_PROJECT_ID: "acme",
      ZO_REDACTION_SALT: "test-salt",
    };
    await fn({ logDir, dir, transcript, config: loadVmConfig((name) => vars[name]) });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function queue(
  setup: Setup,
  payload: Record<string, unknown>,
  context: { session_id: string; run_id: string; agent_id?: string },
): Promise<void> {
  for (const job of jobsOf(payload, context)) {
    writeJobSync(await collectorDir(setup.logDir, job.dir), job);
  }
}

const stop = (setup: Setup, session = FIXTURE_SESSION, transcript = setup.transcript) =>
  queue(setup, { hook_event_name: "Stop", transcript_path: transcript }, {
    session_id: session,
    run_id: `run-of-${session}`,
  });

async function usageEvents(logDir: string): Promise<Record<string, unknown>[]> {
  return (await spooledEvents(logDir)).filter((e) => e.event_type === "usage");
}

/** What the bridge counts: each message once, each field at its maximum. */
function counted(events: readonly Record<string, unknown>[]): TokenCounts & { messages: number } {
  const byMessage = new Map<string, TokenCounts>();
  for (const event of events) {
    const data = event.data as TokenCounts & { message_id: string };
    byMessage.set(
      data.message_id,
      raiseTokens(byMessage.get(data.message_id) ?? zeroTokens(), data),
    );
  }
  const sum = [...byMessage.values()].reduce((all, one) => addTokens(all, one), zeroTokens());
  return { ...sum, messages: byMessage.size };
}

const collect = (setup: Setup, extra: Partial<Parameters<typeof runCollector>[0]> = {}) =>
  runCollector({ config: setup.config, dir: setup.dir, lingerMs: 0, host: "vm", ...extra });

const line = (id: string, output: number, session = FIXTURE_SESSION, extra = {}) =>
  JSON.stringify({
    type: "assistant",
    sessionId: session,
    timestamp: "2026-11-21T09:00:00.000Z",
    message: { id, model: "claude-opus-4-5", usage: { input_tokens: 10, output_tokens: output } },
    ...extra,
  }) + "\n";

Deno.test("runCollector() turns the fixture into its expected usage, once", async () => {
  await withSetup(async (setup) => {
    await stop(setup);
    const result = await collect(setup);
    assert.deepEqual(result, { reason: "done", jobs: 1, events: 2 });
    const events = await usageEvents(setup.logDir);
    assert.equal(events.length, 2);
    assert.deepEqual(counted(events), { ...EXPECTED, messages: 2 });
    for (const event of events) {
      assert.equal(event.session_id, FIXTURE_SESSION);
      assert.equal(event.run_id, `run-of-${FIXTURE_SESSION}`);
      assert.equal(event.project_id, "acme");
      assert.equal(event.worker_id, "vm-1");
      assert.ok(!JSON.stringify(event).includes("12 passing"), "no transcript text");
    }
    assert.deepEqual(await listJobs(await collectorDir(setup.logDir, setup.dir)), []);

    // Another Stop with nothing new: nothing more.
    await stop(setup);
    assert.equal((await collect(setup)).events, 0);
    assert.equal((await usageEvents(setup.logDir)).length, 2);
  });
});

Deno.test("runCollector() reads only what was added, and a line once completed", async () => {
  await withSetup(async (setup) => {
    await stop(setup);
    await collect(setup);
    const next = line("msg_3", 50);
    await Deno.writeTextFile(setup.transcript, next.slice(0, 40), { append: true });
    await stop(setup);
    assert.equal((await collect(setup)).events, 0, "a partial line is not read");
    await Deno.writeTextFile(setup.transcript, next.slice(40), { append: true });
    await stop(setup);
    assert.equal((await collect(setup)).events, 1);
    const events = await usageEvents(setup.logDir);
    assert.deepEqual(counted(events).messages, 3);
    assert.equal((events.at(-1)!.data as { output_tokens: number }).output_tokens, 50);
  });
});

Deno.test("runCollector() never double counts after a crash between append and save", async () => {
  await withSetup(async (setup) => {
    await stop(setup);
    const logged: string[] = [];
    const crashed = await collect(setup, {
      log: (text) => logged.push(text),
      afterAppend: () => {
        throw new Error("killed before the position was saved");
      },
    });
    assert.equal(crashed.jobs, 0, "the job stays for the next run");
    assert.match(logged.join("\n"), /killed before the position was saved/);
    const again = await collect(setup);
    assert.equal(again.jobs, 1);
    const events = await usageEvents(setup.logDir);
    assert.equal(events.length, 4, "the same lines were read twice");
    assert.equal(new Set(events.map((e) => e.event_id)).size, 2, "into the very same events");
    assert.deepEqual(counted(events), { ...EXPECTED, messages: 2 });
  });
});

Deno.test("runCollector() handles resumed sessions", async (t) => {
  await withSetup(async (setup) => {
    await stop(setup);
    await collect(setup);
    const first = await usageEvents(setup.logDir);

    await t.step(
      "a new session id on the same transcript goes on from the saved position",
      async () => {
        await stop(setup, "s-resumed");
        assert.equal((await collect(setup)).events, 0);
        await Deno.writeTextFile(setup.transcript, line("msg_new", 9, "s-resumed"), {
          append: true,
        });
        await stop(setup, "s-resumed");
        assert.equal((await collect(setup)).events, 1);
        const last = (await usageEvents(setup.logDir)).at(-1)!;
        assert.equal(last.session_id, "s-resumed");
        assert.equal(last.run_id, "run-of-s-resumed");
      },
    );

    await t.step("a new transcript repeating the old lines makes the same events", async () => {
      const copy = `${setup.dir}/s-copy.jsonl`;
      await Deno.copyFile(FIXTURE, copy);
      await stop(setup, "s-copy", copy);
      await collect(setup);
      const all = await usageEvents(setup.logDir);
      const repeated = all.slice(first.length + 1);
      assert.equal(repeated.length, 2);
      assert.deepEqual(repeated.map((e) => e.event_id), first.map((e) => e.event_id));
      assert.ok(repeated.every((e) => e.session_id === FIXTURE_SESSION), "the lines' own session");
    });
  });
});

Deno.test("runCollector() reads a subagent's transcript with its agent id", async () => {
  await withSetup(async (setup) => {
    const agentPath = `${setup.dir}/${FIXTURE_SESSION}/subagents/agent-7f3c.jsonl`;
    await Deno.mkdir(`${setup.dir}/${FIXTURE_SESSION}/subagents`, { recursive: true });
    await Deno.writeTextFile(
      agentPath,
      line("msg_sub", 12, FIXTURE_SESSION, { isSidechain: true }) + line("msg_sub", 30),
    );
    await queue(setup, {
      hook_event_name: "SubagentStop",
      transcript_path: setup.transcript,
      agent_transcript_path: agentPath,
      agent_id: "agent-7f3c",
    }, { session_id: FIXTURE_SESSION, run_id: "r", agent_id: "agent-7f3c" });
    assert.equal((await collect(setup)).events, 3);
    const sub = (await usageEvents(setup.logDir)).filter((e) => e.agent_id === "agent-7f3c");
    assert.equal(sub.length, 1);
    assert.equal((sub[0]!.data as Record<string, unknown>).transcript, "subagent");
    assert.equal((sub[0]!.data as Record<string, unknown>).output_tokens, 30);
    const main = (await usageEvents(setup.logDir)).filter((e) => e.agent_id === undefined);
    assert.equal(main.length, 2);
  });
});

Deno.test("runCollector() reads a truncated or rotated transcript from the start", async () => {
  await withSetup(async (setup) => {
    await stop(setup);
    await collect(setup);
    await Deno.writeTextFile(setup.transcript, line("msg_after_rotation", 3));
    await stop(setup);
    assert.equal((await collect(setup)).events, 1);
    const events = await usageEvents(setup.logDir);
    assert.equal((events.at(-1)!.data as { message_id: string }).message_id, "msg_after_rotation");
    const totals = counted(events);
    for (const field of TOKEN_FIELDS) assert.ok(totals[field] >= EXPECTED[field]);
  });
});

Deno.test("runCollector() leaves at once when another collector holds the directory", async () => {
  await withSetup(async (setup) => {
    await stop(setup);
    const stateDir = await collectorDir(setup.logDir, setup.dir);
    using held = await Deno.open(`${stateDir}/collector.lock`, { write: true, create: true });
    await held.lock(true);
    assert.equal((await collect(setup)).reason, "locked");
    await held.unlock();
    assert.equal((await collect(setup)).events, 2);
  });
});
