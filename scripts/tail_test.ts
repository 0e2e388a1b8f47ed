import assert from "node:assert/strict";
import { type App, createApp } from "../bridge/app.ts";
import { createAuthenticator, parseApiKeys } from "../bridge/auth.ts";
import { FakeStore, makeEvent } from "../bridge/testing/fakes.ts";
import type { Event } from "../shared/schema.ts";
import { parseCliArgs } from "./bridge_cli/cli_args.ts";
import { runTail } from "./tail.ts";

const READ = "read-key-0000000000000000000";
const INGEST = "ingest-key-00000000000000000";

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test("runTail() prints new events live, and fills the gap after the bridge restarts", async (t) => {
  const store = new FakeStore();
  const authenticate = await createAuthenticator(
    parseApiKeys(`read:${READ},ingest:${INGEST}`, "ZO_API_KEYS"),
  );
  const newApp = () =>
    createApp({ store, authenticate, groupCommit: { lingerMs: 1 }, log: () => {} });
  // One server; the app behind it is replaced to play a bridge restart (same store).
  let app: App = newApp();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => app(req),
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  const ingest = async (events: Event[]) => {
    const response = await app(
      new Request(`${url}/ingest`, {
        method: "POST",
        headers: { authorization: `Bearer ${INGEST}` },
        body: JSON.stringify(events),
      }),
    );
    assert.equal(response.status, 200);
    await response.body?.cancel();
  };
  const before = await makeEvent({ session_id: "s-1", msg: "stored before tail started" });
  await ingest([before]);

  const lines: string[] = [];
  const notes: string[] = [];
  const stop = new AbortController();
  const options = parseCliArgs("tail", ["--session=s-1", "--since=1h", "--json"], {
    env: (name) => ({ ZO_BRIDGE_URL: url, ZO_API_KEY: READ } as Record<string, string>)[name],
    nowMs: Date.now(),
  });
  assert.notEqual(options, "help");
  const running = runTail(options as never, {
    out: (text) => lines.push(...text.split("\n").filter(Boolean)),
    note: (text) => notes.push(text),
    columns: 160,
  }, stop.signal);
  const ids = () => lines.map((line) => JSON.parse(line).event_id);
  try {
    await t.step("--since prints what was stored before, then follows", async () => {
      await until(() => ids().includes(before.event_id), "the backfilled event");
      assert.match(notes[0]!, /^Following http:\/\/127\.0\.0\.1:\d+\/live\?session_id=s-1/);
      const live = await makeEvent({ session_id: "s-1", msg: "live" });
      const elsewhere = await makeEvent({ session_id: "s-2", msg: "another session" });
      await ingest([live, elsewhere]);
      await until(() => ids().includes(live.event_id), "the live event");
      assert.ok(!ids().includes(elsewhere.event_id));
    });
    await t.step("a restart: it reconnects and prints what it missed, once each", async () => {
      const old = app;
      app = newApp();
      old.live.close(); // the old bridge's stream ends
      const missed = await makeEvent({ session_id: "s-1", msg: "stored while disconnected" });
      await ingest([missed]);
      await until(() => ids().includes(missed.event_id), "the missed event");
      await until(() => notes.some((n) => /Reconnected/.test(n)), "the reconnect note");
      const after = await makeEvent({ session_id: "s-1", msg: "after the restart" });
      await ingest([after]);
      await until(() => ids().includes(after.event_id), "the event after the restart");
      assert.equal(new Set(ids()).size, ids().length, "no event printed twice");
    });
  } finally {
    stop.abort();
    assert.equal(await running, 0);
    app.live.close();
    await server.shutdown();
  }
});

Deno.test("runTail() stops with exit 1 when the bridge refuses the key", async () => {
  const app = createApp({
    store: new FakeStore(),
    authenticate: await createAuthenticator(parseApiKeys(`read:${READ}`, "ZO_API_KEYS")),
    log: () => {},
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app);
  try {
    const notes: string[] = [];
    const options = parseCliArgs("tail", [`--url=http://127.0.0.1:${server.addr.port}`], {
      env: (name) => name === "ZO_API_KEY" ? "secret-wrong-key-0000000" : undefined,
      nowMs: Date.now(),
    });
    const status = await runTail(options as never, {
      out: () => {},
      note: (text) => notes.push(text),
      columns: 100,
    }, new AbortController().signal);
    assert.equal(status, 1);
    assert.match(notes.join("\n"), /Cannot read \/live: .*ZO_READ_KEY/);
    assert.ok(!notes.join("\n").includes("secret-wrong-key"));
  } finally {
    app.live.close();
    await server.shutdown();
  }
});
