import assert from "node:assert/strict";
import { createApp } from "../bridge/app.ts";
import { createAuthenticator, parseApiKeys } from "../bridge/auth.ts";
import { FakeStore, makeEvent } from "../bridge/testing/fakes.ts";
import { parseCliArgs } from "./bridge_cli/cli_args.ts";
import { runQuery } from "./query.ts";

const READ = "read-key-0000000000000000000";
const INGEST = "ingest-key-00000000000000000";

Deno.test("runQuery() prints the bridge's answer as a table or JSON, never the key", async (t) => {
  const app = createApp({
    store: new FakeStore(),
    authenticate: await createAuthenticator(
      parseApiKeys(`read:${READ},ingest:${INGEST}`, "ZO_API_KEYS"),
    ),
    groupCommit: { lingerMs: 1 },
    log: () => {},
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app);
  const url = `http://127.0.0.1:${server.addr.port}`;
  try {
    const events = [
      await makeEvent({ session_id: "s-1", tool_name: "Bash", msg: "Bash done: npm test" }),
      await makeEvent({ session_id: "s-2", msg: "other session" }),
    ];
    const stored = await fetch(`${url}/ingest`, {
      method: "POST",
      headers: { authorization: `Bearer ${INGEST}` },
      body: JSON.stringify(events),
    });
    assert.equal(stored.status, 200);
    await stored.body?.cancel();
    const run = async (args: string[], key = READ) => {
      const out: string[] = [];
      const notes: string[] = [];
      const options = parseCliArgs("query", args, {
        env: (name) => ({ ZO_BRIDGE_URL: url, ZO_API_KEY: key } as Record<string, string>)[name],
        nowMs: Date.now(),
      });
      assert.notEqual(options, "help");
      const status = await runQuery(options as never, {
        out: (text) => out.push(text),
        note: (text) => notes.push(text),
        columns: 160,
      });
      return { status, out: out.join(""), notes: notes.join("\n") };
    };
    await t.step("a table of the matching events", async () => {
      const { status, out, notes } = await run(["--session=s-1"]);
      assert.equal(status, 0);
      const lines = out.trimEnd().split("\n");
      assert.equal(lines.length, 2);
      assert.match(lines[1]!, /Bash\s+info\s+s-1\s.*Bash done: npm test/);
      assert.match(notes, /^1 event$/);
    });
    await t.step("--json gives the records themselves", async () => {
      const { status, out } = await run(["--json"]);
      assert.equal(status, 0);
      const answer = JSON.parse(out);
      assert.equal(answer.collection, "events");
      assert.deepEqual(
        answer.results.map((e: { event_id: string }) => e.event_id).sort(),
        events.map((e) => e.event_id).sort(),
      );
    });
    await t.step("a refused key: exit 1 with the bridge's reason, no key in sight", async () => {
      const wrong = "wrong-key-that-must-not-be-printed";
      const { status, out, notes } = await run([], wrong);
      assert.equal(status, 1);
      assert.equal(out, "");
      assert.match(notes, /Cannot read \/query: .*401|not known/);
      assert.ok(!notes.includes(wrong));
      const ingestOnly = await run([], INGEST);
      assert.equal(ingestOnly.status, 1);
      assert.match(ingestOnly.notes, /read scope/);
    });
    await t.step("the bridge's 400 is shown as it says it", async () => {
      const { status, notes } = await run(["--type=nope"]);
      assert.equal(status, 1);
      assert.match(notes, /event_type must be one of/);
    });
  } finally {
    app.live.close();
    await server.shutdown();
  }
});
