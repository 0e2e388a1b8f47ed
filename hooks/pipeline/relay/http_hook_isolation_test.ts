/**
 * One slow client or payload on the relay's http-hook endpoint never holds up the others: a
 * client that stalls mid-body is recorded as far as it came once its time is up (and answered,
 * so the relay can still stop); a body slow to redact is redacted in a worker while the other
 * posts are answered; a worker that never finishes is terminated and its event kept as a stand-in.
 * No timing is asserted: each test checks what has happened by the time something else has.
 */
import assert from "node:assert/strict";
import { DEADLINE_RULE } from "../../../shared/redact.ts";
import { createHookPipeline, type HookHint } from "../hook_pipeline.ts";
import { relayCommand } from "../relay_launcher.ts";
import { loadVmConfig } from "../vm_config.ts";
import { listSegments, segmentPath } from "../spool.ts";
import { startHttpHookServer } from "./http_hook_server.ts";
import { createRecordPool, type RecordPool, type RecordPoolOptions } from "./record_pool.ts";
import { readJsonl, testConfig } from "../../testing/relay.ts";

const HANGING_WORKER = new URL("../../testing/hanging_worker.ts", import.meta.url);

async function spooled(logDir: string): Promise<Record<string, unknown>[]> {
  const events = [];
  for (const name of await listSegments(logDir)) {
    events.push(...await readJsonl(segmentPath(logDir, name)));
  }
  return events;
}

/** Polls `check` every 20 ms for at most 60 s. */
async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 3_000; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`never happened: ${what}`);
}

function smallPayload(i: number): string {
  return JSON.stringify({
    session_id: "s-small",
    hook_event_name: "PreToolUse",
    tool_name: "Read",
    tool_input: { file_path: `/tmp/f${i}` },
  });
}

interface Endpoint {
  port: number;
  logDir: string;
  pool: RecordPool;
  post(body: string, path?: string): Promise<Response>;
}

async function withEndpoint(
  options: {
    bodyTimeoutMs?: number;
    redactionBudgetMs?: number;
    pool?: Pick<RecordPoolOptions, "workerUrl" | "graceMs" | "startupMs">;
  },
  fn: (endpoint: Endpoint) => Promise<void>,
): Promise<void> {
  const logDir = await Deno.makeTempDir();
  const config = testConfig(logDir);
  const pipeline = await createHookPipeline(config, { host: "vm-7", onError: () => {} });
  const pool = createRecordPool({
    config,
    host: "vm-7",
    log: () => {},
    onStopped: async (hint, reason) => {
      await pipeline.record(new Uint8Array(0), { ...hint, incomplete: reason });
    },
    ...options.pool,
  });
  const server = startHttpHookServer(pipeline, {
    port: 0,
    pool,
    log: () => {},
    bodyTimeoutMs: options.bodyTimeoutMs,
    redactionBudgetMs: options.redactionBudgetMs,
  });
  try {
    await fn({
      port: server.port,
      logDir,
      pool,
      post: (body, path = "/hook/PreToolUse") =>
        fetch(`http://127.0.0.1:${server.port}${path}`, { method: "POST", body }),
    });
  } finally {
    await server.shutdown();
    await pool.close();
    await Deno.remove(logDir, { recursive: true });
  }
}

Deno.test("http hook endpoint records a stalled client's body as cut once its time is up, and serves others meanwhile", async () => {
  await withEndpoint({ bodyTimeoutMs: 300 }, async ({ port, logDir, post }) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      const head = "POST /hook/PostToolUse HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
        "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n";
      await conn.write(new TextEncoder().encode(`${head}{"session_id": "s-stalled", "x": "`));
      // Others are answered while the stalled body is still open.
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => post(smallPayload(i))),
      );
      for (const answer of answers) {
        assert.equal(answer.status, 200);
        await answer.body?.cancel();
      }
      // The stalled client gets its 200 too, once its body's time is up.
      const buffer = new Uint8Array(1024);
      const n = await conn.read(buffer);
      assert.ok(n !== null && n > 0, "the stalled client got an answer");
      assert.match(new TextDecoder().decode(buffer.subarray(0, n)), /^HTTP\/1\.1 200/);
    } finally {
      conn.close();
    }
    await eventually(async () => (await spooled(logDir)).length === 11, "11 events spooled");
    const events = await spooled(logDir);
    const stalled = events.filter((event) => event.event_type === "error");
    assert.equal(stalled.length, 1);
    assert.match(String(stalled[0]!.msg), /request body still arriving after 300 ms/);
    assert.match(
      String((stalled[0]!.data as Record<string, unknown>).raw_input),
      /s-stalled/,
      "what came is kept",
    );
  });
});

Deno.test("http hook endpoint answers other posts while a worker is busy with a large body", async () => {
  // The worker never finishes (a busy loop, as a regular expression that backtracks forever):
  // the other posts are answered all the same, and the big one only once its worker is stopped.
  const big = JSON.stringify({
    session_id: "s-big",
    hook_event_name: "PostToolUse",
    tool_name: "Read",
    tool_response: { content: "x".repeat(256 << 10) },
  });
  const pool = { workerUrl: HANGING_WORKER, graceMs: 600_000, startupMs: 600_000 };
  await withEndpoint({ pool }, async ({ logDir, pool, post }) => {
    let bigDone = false;
    const bigAnswer = post(big, "/hook/PostToolUse").then(async (answer) => {
      bigDone = true;
      await answer.body?.cancel();
      return answer.status;
    });
    await eventually(() => pool.running === 1, "the big body is in a worker");
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => post(smallPayload(i))));
    for (const answer of answers) {
      assert.equal(answer.status, 200);
      await answer.body?.cancel();
    }
    assert.equal(bigDone, false, "the small posts were answered while the worker was busy");
    assert.equal((await spooled(logDir)).length, 10, "and their events are spooled");
    await pool.close();
    assert.equal(await bigAnswer, 200);
    const events = await spooled(logDir);
    assert.equal(events.length, 11);
    const standIn = events.find((event) => event.event_type === "error")!;
    assert.match(String(standIn.msg), /the relay stopped before the event was recorded/);
    assert.equal(standIn.hook_event_name, "PostToolUse");
  });
});

/** An OTLP/HTTP JSON logs export of `records` log records, each with a `filler`-character body. */
function otlpLogs(records: number, filler: number, secret = ""): string {
  return JSON.stringify({
    resourceLogs: [{
      resource: { attributes: [{ key: "service.name", value: { stringValue: "claude-code" } }] },
      scopeLogs: [{
        scope: { name: "com.anthropic.claude_code.events" },
        logRecords: Array.from({ length: records }, (_, i) => ({
          timeUnixNano: String((1_764_000_000_000 + i) * 1_000_000),
          observedTimeUnixNano: String((1_764_000_000_000 + i) * 1_000_000),
          body: { stringValue: "claude_code.tool_result" },
          attributes: [
            { key: "event.name", value: { stringValue: "tool_result" } },
            { key: "session.id", value: { stringValue: "s-otlp" } },
            {
              key: "tool_parameters",
              value: { stringValue: `{"full_command":"echo ${secret} ${"y".repeat(filler)}"}` },
            },
          ],
        })),
      }],
    }],
  });
}

function postOtlp(port: number, body: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/v1/logs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
}

Deno.test("an OTLP export over 64 KB is recorded by the pool's workers while other posts are answered", async () => {
  const pool = { workerUrl: HANGING_WORKER, graceMs: 600_000, startupMs: 600_000 };
  await withEndpoint({ pool }, async ({ port, logDir, pool, post }) => {
    let bigDone = false;
    const bigAnswer = postOtlp(port, otlpLogs(1, 256 << 10)).then(async (answer) => {
      bigDone = true;
      await answer.body?.cancel();
      return answer.status;
    });
    await eventually(() => pool.running === 1, "the export's record is in a worker");
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => post(smallPayload(i))));
    for (const answer of answers) {
      assert.equal(answer.status, 200);
      await answer.body?.cancel();
    }
    assert.equal(bigDone, false, "the hook posts were answered while the worker was busy");
    assert.equal((await spooled(logDir)).length, 10, "and their events are spooled");
    await pool.close();
    assert.equal(await bigAnswer, 200);
    const standIn = (await spooled(logDir)).filter((event) => event.event_type === "error");
    assert.equal(standIn.length, 1, "the stopped record is kept as a stand-in");
  });
});

Deno.test("an OTLP export over 64 KB has each record redacted and spooled by a worker", async () => {
  const secret = "ghp_" + crypto.randomUUID().replaceAll("-", "").slice(0, 30) + "Zq8x9Y";
  const pool = { startupMs: 600_000 };
  await withEndpoint({ pool }, async ({ port, logDir }) => {
    const answer = await postOtlp(port, otlpLogs(4, 40 << 10, secret));
    await answer.body?.cancel();
    assert.equal(answer.status, 200);
    const events = await spooled(logDir);
    assert.equal(events.length, 4);
    for (const event of events) {
      assert.equal(event.event_type, "telemetry");
      assert.equal(event.session_id, "s-otlp");
    }
    const text = JSON.stringify(events);
    assert.ok(!text.includes(secret), "the secret reached the spool");
    assert.ok(text.includes("[REDACTED:github_pat]"), "its marker is there");
  });
});

Deno.test("a body slow to redact is spooled by a worker, cut at its deadline and marked", async () => {
  // 16 MB of "password=x " takes a worker 6-60 s to redact: its 1 s budget cuts it.
  const unit = "password=x ";
  const big = JSON.stringify({
    session_id: "s-big",
    hook_event_name: "PostToolUse",
    tool_name: "Bash",
    tool_input: { command: "cat log" },
    tool_response: { stdout: unit.repeat(Math.ceil((16 << 20) / unit.length)) },
  });
  // Under `deno test` a worker's modules are type-checked as it starts, which on a loaded
  // machine can take longer than the pool's 30 s allowance: the test allows it more.
  const pool = { startupMs: 600_000 };
  await withEndpoint({ redactionBudgetMs: 1_000, pool }, async ({ logDir, post }) => {
    const answer = await post(big, "/hook/PostToolUse");
    await answer.body?.cancel();
    assert.equal(answer.status, 200);
    const events = await spooled(logDir);
    assert.equal(events.length, 1);
    const [event] = events;
    assert.equal(event!.session_id, "s-big");
    const redaction = event!.redaction as { rules: string[]; unfinished?: number };
    assert.ok(redaction.rules.includes(DEADLINE_RULE), JSON.stringify(redaction));
    assert.ok(redaction.unfinished! >= 1);
    assert.ok(!JSON.stringify(event).includes("password=x password=x"));
  });
});

Deno.test("record pool terminates a worker that never finishes and records its stand-in", async () => {
  const logDir = await Deno.makeTempDir();
  const stopped: [HookHint, string][] = [];
  const pool = createRecordPool({
    config: testConfig(logDir),
    host: "vm-7",
    size: 1,
    graceMs: 100,
    startupMs: 100,
    log: () => {},
    onStopped: (hint, reason) => {
      stopped.push([hint, reason]);
      return Promise.resolve();
    },
    workerUrl: HANGING_WORKER,
  });
  try {
    const hint = { script: "relay http hook", event: "PostToolUse" };
    // Two jobs, one worker: the second waits, then gets a fresh worker that hangs as well.
    await Promise.all([
      pool.record(new TextEncoder().encode("{}"), hint, 100),
      pool.record(new TextEncoder().encode("{ }"), hint, 100),
    ]);
    assert.equal(stopped.length, 2);
    for (const [given, reason] of stopped) {
      assert.deepEqual(given, hint);
      assert.match(reason, /^redaction did not finish within 300 ms; its \d bytes were dropped$/);
    }
    assert.equal(pool.running, 0);
  } finally {
    await pool.close();
    await Deno.remove(logDir, { recursive: true });
  }
});

Deno.test("the relay process, with its own flags, records a large http-hook body in a worker", async () => {
  const logDir = await Deno.makeTempDir();
  try {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close();
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
    await eventually(async () => {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/health`);
        await response.body?.cancel();
        return response.ok;
      } catch {
        return false;
      }
    }, "the relay listens");
    const token = "ghp_" + "Zq8".repeat(14);
    const response = await fetch(`http://127.0.0.1:${port}/hook/PostToolUse`, {
      method: "POST",
      body: JSON.stringify({
        session_id: "s-relay",
        hook_event_name: "PostToolUse",
        tool_name: "Read",
        tool_input: { file_path: "/tmp/big.txt" },
        tool_response: { content: `${"line of text\n".repeat(80_000)}token ${token}` },
      }),
    });
    await response.body?.cancel();
    assert.equal(response.status, 200);
    const output = await relay.output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    const events = await spooled(logDir);
    assert.equal(events.length, 1, stderr);
    assert.equal(events[0]!.session_id, "s-relay", String(events[0]!.msg));
    assert.ok(!JSON.stringify(events[0]).includes(token));
    assert.ok((events[0]!.redaction as { rules: string[] }).rules.includes("github_pat"));
  } finally {
    await Deno.remove(logDir, { recursive: true });
  }
});
