import assert from "node:assert/strict";
import { COLLECTOR_SCRIPT, HOOK_SCRIPTS, snakeCase } from "../scripts/install/hook_permissions.ts";
import { parseEvent } from "../shared/schema.ts";
import { type HookRun, HOOKS_DIR, runHookScript, spooledEvents } from "./testing/run_hook.ts";
import { withLogDir as withTempLogDir } from "./testing/log_dir.ts";

const PAYLOADS = new URL("../testdata/claude-code/payloads/", import.meta.url).pathname;

async function payload(name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(`${PAYLOADS}${name}.json`));
}

/** A hook that did its job quietly: exit 0, nothing on stdout. */
function assertQuiet(run: HookRun, what: string): void {
  assert.equal(run.code, 0, `${what}: exit ${run.code}, stderr ${run.stderr}`);
  assert.equal(run.stdout, "", `${what} printed on stdout`);
}

function assertValid(event: Record<string, unknown>): void {
  const result = parseEvent(event);
  assert.ok(result.ok, result.ok ? "" : result.error);
}

const withLogDir = (fn: (logDir: string) => Promise<void>) => withTempLogDir(fn, { create: false });

/** Runs tasks at most `width` at a time. */
async function inBatches<T>(tasks: (() => Promise<T>)[], width = 6): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < tasks.length; i += width) {
    results.push(...await Promise.all(tasks.slice(i, i + width).map((task) => task())));
  }
  return results;
}

Deno.test("every fixture payload through its entry script becomes one valid envelope", async () => {
  await withLogDir(async (logDir) => {
    const files = [...Deno.readDirSync(PAYLOADS)].map((entry) => entry.name).sort();
    assert.ok(files.length >= 31);
    const runs = await inBatches(files.map((file) => async () => {
      const input = await Deno.readTextFile(`${PAYLOADS}${file}`);
      const script = `${snakeCase(JSON.parse(input).hook_event_name)}.ts`;
      return { file, script, run: await runHookScript(script, { logDir, stdin: input }) };
    }));
    for (const { file, script, run } of runs) {
      assertQuiet(run, `${script} < ${file}`);
      assert.equal(run.stderr, "", `${script}: ${run.stderr}`);
    }
    const events = await spooledEvents(logDir);
    assert.equal(events.length, files.length);
    for (const event of events) assertValid(event);
    const names = new Set(events.map((event) => event.hook_event_name));
    for (const { file } of runs) {
      assert.ok(names.has((await payload(file.replace(".json", ""))).hook_event_name), file);
    }
    assert.ok(events.every((event) => event.event_type !== "error" || event.level === "error"));
  });
});

Deno.test("every entry script runs with exactly its documented flags", async () => {
  await withLogDir(async (logDir) => {
    const base = await payload("notification");
    const runs = await inBatches(HOOK_SCRIPTS.map((script) => async () => {
      const input = script.event ? { ...base, hook_event_name: script.event } : base;
      return [
        script.file,
        await runHookScript(script.file, { logDir, stdin: JSON.stringify(input) }),
      ] as const;
    }));
    for (const [file, run] of runs) {
      assertQuiet(run, file);
      assert.equal(run.stderr, "", `${file}: ${run.stderr}`);
    }
    const events = await spooledEvents(logDir);
    assert.equal(events.length, HOOK_SCRIPTS.length);
    events.forEach(assertValid);
  });
});

Deno.test("50 hooks at once give 50 intact lines with one run id", async () => {
  await withLogDir(async (logDir) => {
    const base = await payload("pre_tool_use");
    const sessionId = crypto.randomUUID(); // a session no hook has seen: the run id is raced for
    const runs = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        runHookScript("pre_tool_use.ts", {
          logDir,
          stdin: JSON.stringify({ ...base, session_id: sessionId, tool_use_id: `toolu_${i}` }),
        })),
    );
    runs.forEach((run, i) => assertQuiet(run, `hook ${i}`));
    const events = await spooledEvents(logDir);
    assert.equal(events.length, 50);
    events.forEach(assertValid);
    assert.equal(new Set(events.map((event) => event.tool_use_id)).size, 50);
    assert.equal(new Set(events.map((event) => event.run_id)).size, 1);
    assert.equal(new Set(events.map((event) => event.event_id)).size, 50);
  });
});

Deno.test("run ids: one per session across hooks, CLAUDE_RUN_ID wins", async () => {
  await withLogDir(async (logDir) => {
    const start = await payload("session_start");
    const stop = await payload("stop");
    const other = { ...stop, session_id: "another-session" };
    for (const [script, input] of [["session_start.ts", start], ["stop.ts", stop]] as const) {
      assertQuiet(await runHookScript(script, { logDir, stdin: JSON.stringify(input) }), script);
    }
    assertQuiet(await runHookScript("stop.ts", { logDir, stdin: JSON.stringify(other) }), "other");
    assertQuiet(
      await runHookScript("stop.ts", {
        logDir,
        stdin: JSON.stringify(stop),
        env: { CLAUDE_RUN_ID: "run-from-env" },
      }),
      "with CLAUDE_RUN_ID",
    );
    const [a, b, c, d] = await spooledEvents(logDir);
    assert.equal(a!.run_id, b!.run_id);
    assert.match(String(a!.run_id), /^[0-9a-f-]{36}$/);
    assert.notEqual(c!.run_id, a!.run_id);
    assert.equal(d!.run_id, "run-from-env");
  });
});

Deno.test("garbage or empty stdin is kept as an error event, exit 0, nothing on stdout", async () => {
  await withLogDir(async (logDir) => {
    const secret = "AKIAAUZOJ3KU265X3HKN";
    const inputs = [`not json at all ${secret}`, "", "[1,2,3]", '"just a string"', "\u0000\xff"];
    for (const stdin of inputs) {
      assertQuiet(
        await runHookScript("post_tool_use.ts", { logDir, stdin }),
        JSON.stringify(stdin),
      );
    }
    const events = await spooledEvents(logDir);
    assert.equal(events.length, inputs.length);
    for (const event of events) {
      assertValid(event);
      assert.equal(event.event_type, "error");
      assert.equal(event.hook_event_name, "PostToolUse");
      assert.equal((event.error_detail as { type: string }).type, "invalid_hook_input");
    }
    const first = events[0]!.data as Record<string, unknown>;
    assert.equal(first.reason, "not JSON");
    assert.match(String(first.raw_input), /^not json at all \[REDACTED:/);
    assert.ok(!JSON.stringify(events).includes(secret), "the secret reached the spool");
    assert.equal((events[1]!.data as Record<string, unknown>).reason, "empty input");
    assert.equal((events[2]!.data as Record<string, unknown>).reason, "not a JSON object");
  });
});

Deno.test("huge garbage is kept truncated", async () => {
  await withLogDir(async (logDir) => {
    const stdin = "x".repeat(300_000);
    assertQuiet(await runHookScript("stop.ts", { logDir, stdin }), "huge");
    const [event] = await spooledEvents(logDir);
    const data = event!.data as Record<string, unknown>;
    assert.equal(data.input_bytes, 300_000);
    assert.ok(String(data.raw_input).length <= 8_192);
  });
});

Deno.test("a missing log dir is created 0700", async () => {
  await withLogDir(async (logDir) => {
    const nested = `${logDir}/deeper/still`;
    assertQuiet(
      await runHookScript("stop.ts", {
        logDir: nested,
        stdin: JSON.stringify(await payload("stop")),
      }),
      "stop",
    );
    assert.equal((await Deno.stat(`${nested}/spool`)).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(`${nested}/runs`)).mode! & 0o777, 0o700);
    assert.equal((await spooledEvents(nested)).length, 1);
  });
});

Deno.test("an unwritable log dir: exit 0, one line on stderr, in bounded time", async () => {
  await withLogDir(async (logDir) => {
    await Deno.mkdir(logDir);
    await Deno.writeTextFile(`${logDir}/file`, "a file, not a directory");
    const run = await runHookScript("stop.ts", {
      logDir: `${logDir}/file/log`,
      stdin: JSON.stringify(await payload("stop")),
    });
    assertQuiet(run, "stop");
    assert.ok(run.stderr.trim().split("\n").length <= 2, run.stderr);
    assert.match(run.stderr, /^agent-telemetry hook: Cannot /);
    assert.ok(run.ms < 5_000, `${run.ms} ms`);
  });
});

Deno.test("a segment that cannot be written (as on a full disk): exit 0, bounded", async () => {
  await withLogDir(async (logDir) => {
    // Every segment name of the next two minutes is a directory: each open fails at once.
    const now = Date.now();
    for (const ms of [now, now + 60_000]) {
      const { segmentName, segmentPath } = await import("./pipeline/spool.ts");
      await Deno.mkdir(segmentPath(logDir, segmentName(ms)), { recursive: true });
    }
    const run = await runHookScript("stop.ts", {
      logDir,
      stdin: JSON.stringify(await payload("stop")),
    });
    assertQuiet(run, "stop");
    assert.match(run.stderr, /Cannot append to the spool/);
    assert.ok(run.ms < 5_000, `${run.ms} ms`);
  });
});

Deno.test("bad settings: the input is still kept, as an error event with defaults", async () => {
  await withLogDir(async (logDir) => {
    const run = await runHookScript("stop.ts", {
      logDir,
      stdin: JSON.stringify(await payload("stop")),
      env: { ZO_REDACTION_MODE: "bogus", ZO_SPOOL_MAX_MB: "lots" },
    });
    assertQuiet(run, "stop");
    assert.match(run.stderr, /Cannot use the settings/);
    const [event] = await spooledEvents(logDir);
    assertValid(event!);
    assert.equal(event!.event_type, "error");
    assert.match(String((event!.data as Record<string, unknown>).reason), /^bad settings: /);
    assert.equal((event!.redaction as { mode: string }).mode, "strict");
  });
});

Deno.test("subagent events link to their SubagentStart", async () => {
  await withLogDir(async (logDir) => {
    const start = await payload("subagent_start");
    const tool = { ...await payload("pre_tool_use"), agent_id: start.agent_id };
    for (
      const [script, input] of [
        ["subagent_start.ts", start],
        ["pre_tool_use.ts", tool],
        ["subagent_stop.ts", await payload("subagent_stop")],
      ] as const
    ) {
      assertQuiet(await runHookScript(script, { logDir, stdin: JSON.stringify(input) }), script);
    }
    const [started, used, stopped] = await spooledEvents(logDir);
    assert.equal(started!.agent_id, "agent-7f3c");
    assert.equal(started!.parent_event_id, undefined);
    assert.equal(used!.parent_event_id, started!.event_id);
    assert.equal(stopped!.parent_event_id, started!.event_id);
    assert.equal(stopped!.agent_id, "agent-7f3c");
  });
});

Deno.test("mcp_telemetry.ts gives the MCP server and tool as fields", async () => {
  await withLogDir(async (logDir) => {
    const input = await Deno.readTextFile(`${PAYLOADS}post_tool_use_mcp.json`);
    assertQuiet(await runHookScript("mcp_telemetry.ts", { logDir, stdin: input }), "mcp");
    const [event] = await spooledEvents(logDir);
    assertValid(event!);
    assert.equal(event!.mcp_server, "github");
    assert.equal(event!.mcp_tool, "create_pull_request");
    const data = event!.data as Record<string, unknown>;
    assert.equal(data.mcp_server, "github");
    assert.equal(data.mcp_tool, "create_pull_request");
  });
});

Deno.test("artifact_produced.ts hashes and sizes its files", async () => {
  await withLogDir(async (logDir) => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/report.md`, "hello\n");
      const run = await runHookScript("artifact_produced.ts", {
        logDir,
        args: ["--type=report", `${dir}/report.md`, `${dir}/missing.txt`],
        stdin: JSON.stringify({ session_id: "s-1", description: "weekly report" }),
      });
      assertQuiet(run, "artifact");
      const [event] = await spooledEvents(logDir);
      assertValid(event!);
      assert.equal(event!.event_type, "artifact");
      assert.equal(event!.session_id, "s-1");
      assert.deepEqual(event!.artifact_refs, [{
        path: `${dir}/report.md`,
        type: "report",
        hash: "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
        size_bytes: 6,
      }]);
      const problems = (event!.data as Record<string, unknown>).artifact_problems as unknown[];
      assert.equal(problems.length, 1);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("worker_spawn.ts and error_event.ts record the original system's events", async () => {
  await withLogDir(async (logDir) => {
    const spawn = { session_id: "s-1", spawned_worker_id: "w-7", task_id: "t-3" };
    const runs = [
      await runHookScript("worker_spawn.ts", { logDir, stdin: JSON.stringify(spawn) }),
      await runHookScript("error_event.ts", { logDir, stdin: "disk quota exceeded\n" }),
      await runHookScript("error_event.ts", {
        logDir,
        stdin: JSON.stringify({ error: { type: "TypeError", message: "x is undefined" } }),
      }),
    ];
    runs.forEach((run, i) => assertQuiet(run, `run ${i}`));
    const [spawned, plain, typed] = await spooledEvents(logDir);
    [spawned, plain, typed].forEach((event) => assertValid(event!));
    assert.equal(spawned!.event_type, "worker_spawn");
    assert.equal(spawned!.task_id, "t-3");
    assert.equal(spawned!.msg, "Worker spawned: w-7 for task t-3");
    assert.equal(plain!.event_type, "error");
    assert.deepEqual(plain!.error_detail, { type: "error", message: "disk quota exceeded" });
    assert.deepEqual(typed!.error_detail, { type: "TypeError", message: "x is undefined" });
  });
});

Deno.test("hooks/ holds exactly the documented entry scripts", () => {
  const files = [...Deno.readDirSync(HOOKS_DIR)]
    .filter((entry) => entry.isFile && entry.name.endsWith(".ts"))
    .map((entry) => entry.name)
    .filter((name) =>
      !name.endsWith("_test.ts") && name !== "relay.ts" && name !== COLLECTOR_SCRIPT
    )
    .sort();
  assert.deepEqual(files, HOOK_SCRIPTS.map((script) => script.file).sort());
});
