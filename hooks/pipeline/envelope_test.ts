import assert from "node:assert/strict";
import { type EventContext, eventFromHookPayload, sealEvent, UNKNOWN_SESSION } from "./envelope.ts";
import { HOOK_EVENTS } from "../../shared/hook_events.ts";
import { eventHash, uuidV7Time } from "../../shared/ids.ts";
import { jsonBytes } from "./size_cap.ts";
import { createRedactor, type Redactor } from "../../shared/redact.ts";
import { type Event, parseEvent } from "../../shared/schema.ts";

const PAYLOADS = new URL("../../testdata/claude-code/payloads/", import.meta.url);
const CONTEXT: EventContext = {
  run_id: "run-1",
  project_id: "acme-app",
  worker_id: "dev-vm-7",
  agent_role: "worker",
  source: { host: "dev-vm-7", cwd: "/home/dev/app" },
};

async function fixtures(): Promise<[string, Record<string, unknown>][]> {
  const out: [string, Record<string, unknown>][] = [];
  for await (const entry of Deno.readDir(PAYLOADS)) {
    out.push([entry.name, JSON.parse(await Deno.readTextFile(new URL(entry.name, PAYLOADS)))]);
  }
  return out.sort(([a], [b]) => a.localeCompare(b));
}

function strict(): Promise<Redactor> {
  return createRedactor({ mode: "strict", hostNames: ["dev-vm-7"], salt: "test-salt" });
}

function valid(event: Event): Event {
  const result = parseEvent(event);
  assert.ok(result.ok, result.ok ? "" : result.error);
  return event;
}

Deno.test("eventFromHookPayload() turns every fixture payload into a valid envelope", async (t) => {
  const redactor = await strict();
  const all = await fixtures();
  assert.ok(all.length >= 31, `expected a payload per hook event, found ${all.length}`);
  for (const [name, payload] of all) {
    await t.step(name, async () => {
      const event = valid(await eventFromHookPayload(payload, CONTEXT, { redactor }));
      const spec = HOOK_EVENTS[payload.hook_event_name as keyof typeof HOOK_EVENTS];
      assert.ok(spec, `${payload.hook_event_name} is not mapped`);
      assert.equal(event.event_type, spec.type);
      assert.equal(event.level, spec.level);
      assert.equal(event.hook_event_name, payload.hook_event_name);
      assert.equal(event.session_id, payload.session_id);
      assert.equal(event.run_id, "run-1");
      assert.equal(event.schema_version, "1.0");
      assert.ok(event.msg && event.msg.length > 0 && !event.msg.includes("\n"));
      assert.ok(event.indexable_text && event.indexable_text.length > 0);
      assert.deepEqual(Object.keys(event.data ?? {}).sort(), Object.keys(payload).sort());
      assert.equal(event.hash, await eventHash(event));
      assert.equal(uuidV7Time(event.event_id), Date.parse(event.ts));
    });
  }
});

Deno.test("eventFromHookPayload() derives the summary fields from the payload", async (t) => {
  const redactor = await createRedactor({ mode: "standard" });
  const byName = new Map(await fixtures());
  const make = (name: string) => eventFromHookPayload(byName.get(name)!, CONTEXT, { redactor });

  await t.step("PostToolUse pairs by tool_use_id and says what ran", async () => {
    const event = await make("post_tool_use.json");
    assert.equal(event.tool_name, "Bash");
    assert.equal(event.tool_use_id, "toolu_01ABC123");
    assert.equal(event.msg, "Bash done in 4187 ms: npm test");
    assert.match(event.indexable_text!, /12 passing/);
  });
  await t.step("PostToolUseFailure is an error with error_detail", async () => {
    const event = await make("post_tool_use_failure.json");
    assert.equal(event.level, "error");
    assert.equal(event.error_detail?.type, "tool_failure");
    assert.match(event.error_detail!.message, /Permission to acme\/app.git denied/);
  });
  await t.step("StopFailure carries the API error", async () => {
    const event = await make("stop_failure.json");
    assert.equal(event.event_type, "error");
    assert.deepEqual(event.error_detail, { type: "rate_limit", message: "429 Too Many Requests" });
  });
  await t.step("subagent events carry agent_id", async () => {
    assert.equal((await make("subagent_start.json")).agent_id, "agent-7f3c");
    assert.equal((await make("subagent_stop.json")).agent_id, "agent-7f3c");
  });
  await t.step("task events carry task_id", async () => {
    assert.equal((await make("task_completed.json")).task_id, "task-12");
  });
  await t.step("a prompt is searchable in full", async () => {
    const event = await make("user_prompt_submit.json");
    assert.equal(event.indexable_text, byName.get("user_prompt_submit.json")!.prompt);
  });
});

Deno.test("eventFromHookPayload() keeps an unknown hook event, and unknown fields", async () => {
  const redactor = await strict();
  const payload = {
    session_id: "s-1",
    hook_event_name: "BrandNewEvent",
    novel_field: "the model switched to claude-opus-5",
    nested: { deeper: [1, 2, 3] },
  };
  const event = valid(await eventFromHookPayload(payload, CONTEXT, { redactor }));
  assert.equal(event.event_type, "other");
  assert.equal(event.hook_event_name, "BrandNewEvent");
  assert.equal(event.msg, "Hook event BrandNewEvent");
  assert.match(event.indexable_text!, /novel_field: the model switched to claude-opus-5/);
  assert.deepEqual(event.data, payload);
});

Deno.test("eventFromHookPayload() survives payloads with missing or odd fields", async (t) => {
  const redactor = await strict();
  const cases: [string, Record<string, unknown>][] = [
    ["empty object", {}],
    ["no session_id", { hook_event_name: "Stop" }],
    ["non-string fields", { session_id: 42, hook_event_name: ["x"], tool_name: { a: 1 } }],
    ["over-long ids", { session_id: "s".repeat(300), tool_use_id: "t".repeat(300) }],
    ["prototype keys", JSON.parse('{"__proto__": {"polluted": true}, "constructor": "x"}')],
  ];
  for (const [name, payload] of cases) {
    await t.step(name, async () => {
      const event = valid(await eventFromHookPayload(payload, CONTEXT, { redactor }));
      assert.equal(typeof event.session_id, "string");
      assert.deepEqual(Object.keys(event.data ?? {}).sort(), Object.keys(payload).sort());
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });
  }
  await t.step("session id falls back to the context, then to a sentinel", async () => {
    const fromContext = await eventFromHookPayload({}, { ...CONTEXT, session_id: "ctx" }, {
      redactor,
    });
    assert.equal(fromContext.session_id, "ctx");
    assert.equal(
      (await eventFromHookPayload({}, CONTEXT, { redactor })).session_id,
      UNKNOWN_SESSION,
    );
  });
});

Deno.test("eventFromHookPayload() lets no secret reach data, msg or indexable_text", async () => {
  const redactor = await createRedactor({ mode: "standard" });
  const token = "ghp_" + "Zx8Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz2Xc4";
  const password = "correct-horse-battery-staple";
  const payload = {
    session_id: "s-1",
    hook_event_name: "PostToolUse",
    tool_name: "Bash",
    tool_input: { command: `git push https://x:${token}@github.com/acme/app.git` },
    tool_response: { stdout: `DB_PASSWORD=${password}\nok`, stderr: "" },
  };
  const event = valid(await eventFromHookPayload(payload, CONTEXT, { redactor }));
  const text = JSON.stringify(event);
  assert.ok(!text.includes(token), "token leaked");
  assert.ok(!text.includes(password), "password leaked");
  assert.match(event.msg!, /\[REDACTED:github_pat\]/);
  assert.match(event.indexable_text!, /DB_PASSWORD=\[REDACTED:secret_assignment\]/);
  assert.deepEqual(event.redaction, {
    applied: true,
    rules: ["github_pat", "secret_assignment"],
    mode: "standard",
  });
});

Deno.test("eventFromHookPayload() applies strict mode to data and source", async () => {
  const event = await eventFromHookPayload(
    { session_id: "s", hook_event_name: "Notification", message: "mail dev@acme.io on dev-vm-7" },
    CONTEXT,
    { redactor: await strict() },
  );
  assert.match(event.source!.host!, /^host-[0-9a-f]{12}$/);
  assert.equal(event.source!.cwd, "~/app");
  assert.equal(event.worker_id, event.source!.host);
  assert.equal(event.msg, `mail [REDACTED:email] on ${event.source!.host}`);
  assert.deepEqual(event.redaction?.rules, ["email", "home_dir", "host_name"]);
});

Deno.test("eventFromHookPayload() with redaction off says so", async () => {
  const payload = {
    session_id: "s",
    hook_event_name: "Stop",
    last_assistant_message: "dev@acme.io",
  };
  const event = await eventFromHookPayload(payload, CONTEXT, {
    redactor: await createRedactor({ mode: "off" }),
  });
  assert.deepEqual(event.redaction, { applied: false, rules: [], mode: "off" });
  assert.equal(event.data?.last_assistant_message, "dev@acme.io");
});

Deno.test("eventFromHookPayload() caps an oversized event and hashes what it sends", async () => {
  const redactor = await strict();
  const big = "line of build output\n".repeat(30_000); // ~630 KB
  const payload = {
    session_id: "s",
    hook_event_name: "PostToolUse",
    tool_name: "Bash",
    tool_input: { command: "make" },
    tool_response: { stdout: big, stderr: "" },
  };
  const event = valid(
    await eventFromHookPayload(payload, CONTEXT, { redactor, maxEventBytes: 64 * 1024 }),
  );
  assert.ok(jsonBytes(event) <= 64 * 1024, `event is ${jsonBytes(event)} bytes`);
  const stdout = (event.data?.tool_response as { stdout: string }).stdout;
  assert.match(stdout, new RegExp(`…\\[TRUNCATED:${big.length} bytes,sha256=[0-9a-f]{64}\\]$`));
  assert.equal(event.hash, await eventHash(event));
});

Deno.test("sealEvent() keeps event_id and hash through a serialise/parse round trip", async () => {
  const redactor = await strict();
  const event = await sealEvent({
    session_id: "s",
    run_id: "r",
    event_type: "worker_spawn",
    level: "info",
    msg: "spawned worker-2",
    data: { b: 2, a: { d: [1, "x"], c: null } },
  }, { redactor });
  const replayed = JSON.parse(JSON.stringify(event)) as Event;
  assert.equal(replayed.event_id, event.event_id);
  assert.equal(await eventHash(replayed), event.hash);
  const reordered = Object.fromEntries(Object.entries(replayed).reverse()) as Event;
  assert.equal(await eventHash(reordered), event.hash);
});

Deno.test("sealEvent() redacts every field of a draft and clips summaries", async () => {
  const redactor = await createRedactor({ mode: "standard" });
  const key = "AKIA" + "Q3EGRT5YHN7JMK2L";
  const event = valid(
    await sealEvent({
      session_id: "s",
      run_id: "r",
      event_type: "error",
      level: "error",
      msg: `failed with ${key} ` + "x".repeat(600),
      indexable_text: "y".repeat(3000),
      error_detail: { type: "Auth", message: `bad key ${key}` },
    }, { redactor }),
  );
  assert.ok(!JSON.stringify(event).includes(key));
  assert.equal(event.msg!.length, 500);
  assert.equal(event.indexable_text!.length, 2000);
  assert.deepEqual(event.redaction?.rules, ["aws_access_key"]);
});

Deno.test("envelope.ts loads without zod, so hooks stay fast", async (t) => {
  // --no-npm fails a run that would load any npm package; type-only imports are not loaded.
  const load = async (module: string) =>
    (await new Deno.Command("deno", {
      args: ["run", "--no-npm", new URL(module, import.meta.url).pathname],
      stdout: "null",
      stderr: "null",
    }).output()).success;
  await t.step("envelope.ts and what it imports load with npm disabled", async () => {
    assert.ok(await load("./envelope.ts"));
  });
  await t.step("the check catches a module that loads zod", async () => {
    assert.equal(await load("../../shared/schema.ts"), false);
  });
});

Deno.test("eventFromHookPayload() repairs lone surrogates to U+FFFD, so the bridge accepts the event", async () => {
  const payload = {
    session_id: "s-1",
    hook_event_name: "PreToolUse",
    tool_name: "Bash\ud800",
    tool_input: { command: "echo \udc00", "k\ud800": 1 },
  };
  // As a hook reads it: the surrogate arrives as a JSON escape on stdin.
  const parsed = JSON.parse(JSON.stringify(payload));
  const event = valid(await eventFromHookPayload(parsed, CONTEXT, { redactor: await strict() }));
  assert.equal(event.tool_name, "Bash\ufffd");
  const input = event.data!.tool_input as Record<string, unknown>;
  assert.equal(input.command, "echo \ufffd");
  assert.equal(input["k\ufffd"], 1);
  assert.ok(JSON.stringify(event).isWellFormed());
  assert.equal(event.hash, await eventHash(event));
});
