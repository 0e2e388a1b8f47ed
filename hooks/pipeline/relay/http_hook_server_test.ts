import assert from "node:assert/strict";
import { createHookPipeline } from "../hook_pipeline.ts";
import { listSegments, segmentPath } from "../spool.ts";
import {
  eventFromPath,
  RELAY_IDENTITY_PATH,
  RELAY_SERVICE,
  type RelayIdentity,
  startHttpHookServer,
} from "./http_hook_server.ts";
import { readJsonl, testConfig } from "../../testing/relay.ts";

const FIXTURES = new URL("../../../testdata/claude-code/payloads/", import.meta.url);

async function spooled(logDir: string): Promise<Record<string, unknown>[]> {
  const events = [];
  for (const name of await listSegments(logDir)) {
    events.push(...await readJsonl(segmentPath(logDir, name)));
  }
  return events;
}

/** Starts the endpoint on a free port over a fresh log dir. */
async function withEndpoint(
  fn: (post: (body: string, path?: string) => Promise<Response>, logDir: string) => Promise<void>,
): Promise<void> {
  const logDir = await Deno.makeTempDir();
  const pipeline = await createHookPipeline(testConfig(logDir), {
    host: "vm-7.internal",
    onError: () => {},
  });
  let handled = 0;
  const server = startHttpHookServer(pipeline, { port: 0, onEvent: () => handled++ });
  try {
    await fn(
      (body, path = "/hook") =>
        fetch(`http://127.0.0.1:${server.port}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        }),
      logDir,
    );
    assert.ok(handled > 0, "onEvent saw the requests");
  } finally {
    await server.shutdown();
    await Deno.remove(logDir, { recursive: true });
  }
}

Deno.test("http hook endpoint spools a Claude Code payload and answers an empty 200", async () => {
  await withEndpoint(async (post, logDir) => {
    const payload = await Deno.readTextFile(new URL("post_tool_use.json", FIXTURES));
    const response = await post(payload);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), "", "an empty body: no decision, no added context");
    const [event, ...rest] = await spooled(logDir);
    assert.equal(rest.length, 0);
    assert.equal(event!.hook_event_name, "PostToolUse");
    assert.equal(event!.event_type, "tool_invocation");
    assert.equal(event!.tool_name, "Bash");
    assert.equal(event!.worker_id, "worker-test");
    assert.equal(event!.session_id, JSON.parse(payload).session_id);
    assert.match(String(event!.event_id), /^[0-9a-f-]{36}$/);
  });
});

Deno.test("http hook endpoint redacts like the command hooks do", async () => {
  await withEndpoint(async (post, logDir) => {
    const secret = "AKIAZQ3DRT5NW2LKVH7Q";
    const response = await post(JSON.stringify({
      session_id: "s-1",
      hook_event_name: "UserPromptSubmit",
      prompt: `deploy with ${secret} from /home/alice/app on vm-7.internal`,
    }));
    assert.equal(response.status, 200);
    await response.body?.cancel();
    const text = JSON.stringify(await spooled(logDir));
    assert.ok(!text.includes(secret), "the key is gone");
    assert.ok(!text.includes("vm-7.internal"), "the host is pseudonymised in strict mode");
    assert.match(text, /\[REDACTED:aws_access_key\]/);
  });
});

Deno.test("http hook endpoint keeps garbage as an error event and still answers 200", async () => {
  await withEndpoint(async (post, logDir) => {
    for (const body of ["{not json", "", "[1,2,3]"]) {
      const response = await post(body);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), "");
    }
    const events = await spooled(logDir);
    assert.equal(events.length, 3);
    assert.ok(events.every((e) => e.event_type === "error" && e.level === "error"));
    assert.equal((events[0]!.data as Record<string, unknown>).raw_input, "{not json");
  });
});

Deno.test("http hook endpoint takes the event name from the URL when the payload lacks it", async () => {
  await withEndpoint(async (post, logDir) => {
    const response = await post(JSON.stringify({ session_id: "s-2" }), "/hook/Stop");
    await response.body?.cancel();
    const [event] = await spooled(logDir);
    assert.equal(event!.hook_event_name, "Stop");
    assert.equal(event!.event_type, "done");
  });
  assert.equal(eventFromPath("/hook/PostToolUse"), "PostToolUse");
  assert.equal(eventFromPath("/hook"), undefined);
  assert.equal(eventFromPath("/"), undefined);
});

Deno.test("http hook endpoint writes 50 concurrent events as 50 intact lines", async () => {
  await withEndpoint(async (post, logDir) => {
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        post(JSON.stringify({
          session_id: "s-3",
          hook_event_name: "PreToolUse",
          tool_name: "Read",
          tool_input: { file_path: `/tmp/f${i}`, pad: "p".repeat(5000) },
        }))),
    );
    assert.ok(responses.every((r) => r.status === 200));
    await Promise.all(responses.map((r) => r.body?.cancel()));
    const events = await spooled(logDir);
    assert.equal(events.length, 50);
    assert.equal(new Set(events.map((e) => e.event_id)).size, 50);
  });
});

Deno.test("http hook endpoint answers GET /health and ignores other methods", async () => {
  const logDir = await Deno.makeTempDir();
  const pipeline = await createHookPipeline(testConfig(logDir), { host: "h", onError: () => {} });
  const server = startHttpHookServer(pipeline, { port: 0 });
  try {
    const health = await fetch(`http://127.0.0.1:${server.port}/health`);
    assert.equal(await health.text(), "ok\n");
    const put = await fetch(`http://127.0.0.1:${server.port}/hook`, { method: "PUT", body: "x" });
    assert.equal(put.status, 200);
    await put.body?.cancel();
    assert.deepEqual(await listSegments(logDir), [], "nothing spooled");
  } finally {
    await server.shutdown();
    await Deno.remove(logDir, { recursive: true });
  }
});

Deno.test("http hook endpoint says whose relay it is, and refuses another install's events (421)", async () => {
  const logDir = await Deno.makeTempDir();
  const pipeline = await createHookPipeline(testConfig(logDir), { onError: () => {} });
  const lines: string[] = [];
  const identity: RelayIdentity = {
    service: RELAY_SERVICE,
    install_dir: "/opt/a",
    log_dir: logDir,
    pid: 7,
  };
  const server = startHttpHookServer(pipeline, { port: 0, identity, log: (l) => lines.push(l) });
  const base = `http://127.0.0.1:${server.port}`;
  const payload = await Deno.readTextFile(new URL("post_tool_use.json", FIXTURES));
  const postTo = (install: string) =>
    fetch(`${base}/hook/PostToolUse?install=${install}`, { method: "POST", body: payload });
  try {
    const who = await fetch(`${base}${RELAY_IDENTITY_PATH}`);
    assert.deepEqual(await who.json(), identity);
    for (let i = 0; i < 2; i++) {
      const refused = await postTo("/opt/b");
      assert.equal(refused.status, 421);
      assert.match(await refused.text(), /belongs to \/opt\/a, not \/opt\/b/);
    }
    assert.equal(lines.length, 1, "one log line, however many events: " + lines.join("; "));
    assert.equal((await spooled(logDir)).length, 0, "nothing recorded for another install");
    for (const install of ["/opt/a", "/opt/a/"]) {
      const taken = await postTo(install);
      assert.equal(taken.status, 200);
      await taken.body?.cancel();
    }
    const untagged = await fetch(`${base}/hook/PostToolUse`, { method: "POST", body: payload });
    assert.equal(untagged.status, 200, "a URL without install= is taken");
    await untagged.body?.cancel();
    assert.equal((await spooled(logDir)).length, 3);
  } finally {
    await server.shutdown();
    await Deno.remove(logDir, { recursive: true });
  }
});
