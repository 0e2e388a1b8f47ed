import assert from "node:assert/strict";
import { LAYOUT } from "../../hooks/pipeline/spool.ts";
import { checkEndpoint, checkKeyProject } from "./doctor_bridge.ts";
import { checkDeno, checkEnvFile } from "./doctor_install.ts";
import { BACKLOG_STALE_MS, checkBacklog, checkRelay, checkRelayKey } from "./doctor_relay.ts";
import { keyFingerprint, writeRelayStatus } from "../../hooks/pipeline/relay/relay_status.ts";
import { installLayout } from "./layout.ts";

const NOW = Date.UTC(2026, 10, 24, 12, 0);

Deno.test("checkBacklog() fails only when unshipped events are old", () => {
  const layout = installLayout("/opt/claude-hooks");
  const backlog = { events: 3, bytes: 2048, oldestMs: NOW - 60_000 };
  assert.equal(checkBacklog(backlog, true, layout, NOW).status, "ok");
  const stale = checkBacklog(
    { ...backlog, oldestMs: NOW - BACKLOG_STALE_MS - 1 },
    true,
    layout,
    NOW,
  );
  assert.equal(stale.status, "fail");
  assert.match(stale.detail, /^3 events \(2\.0 KB\) waiting, the oldest since/);
  assert.ok(stale.fix);
  assert.equal(checkBacklog({ ...backlog, oldestMs: 0 }, false, layout, NOW).status, "ok");
  assert.equal(checkBacklog({ events: 0, bytes: 0 }, true, layout, NOW).detail, "nothing waits");
});

Deno.test("checkRelay() fails without a relay only when one is needed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const layout = installLayout("/opt/claude-hooks");
    const none = { http: false, backlog: 0, endpoint: true };
    assert.equal((await checkRelay(layout, dir, none, Date.now())).status, "ok");
    assert.equal(
      (await checkRelay(layout, dir, { ...none, http: true }, Date.now())).status,
      "fail",
    );
    const waiting = await checkRelay(layout, dir, { ...none, backlog: 2 }, Date.now());
    assert.equal(waiting.status, "fail");
    assert.match(waiting.detail, /with 2 events waiting/);
    await Deno.mkdir(`${dir}/relay`);
    await Deno.writeTextFile(`${dir}/${LAYOUT.heartbeatFile}`, "4242\n");
    const alive = await checkRelay(layout, dir, { ...none, http: true }, Date.now());
    assert.deepEqual(alive, { name: "relay", status: "ok", detail: "running (pid 4242)" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkDeno() and checkEnvFile() report a missing binary and a readable .env", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const layout = installLayout(dir);
    const manifest = {
      version: 1 as const,
      denoPath: `${dir}/gone/deno`,
      logDir: `${dir}/log`,
      files: [],
      dirs: [],
      settings: [],
    };
    const missing = await checkDeno(layout, manifest, { installDir: dir });
    assert.equal(missing.status, "fail");
    assert.match(missing.detail, /no deno at .*\/gone\/deno/);
    const running = await checkDeno(layout, { ...manifest, denoPath: Deno.execPath() }, {
      installDir: dir,
    });
    assert.equal(running.status, "ok");
    assert.match(
      running.detail,
      new RegExp(`^deno ${Deno.version.deno.replaceAll(".", "\\.")} at`),
    );

    assert.equal((await checkEnvFile(layout, { installDir: dir })).result.status, "fail");
    await Deno.writeTextFile(layout.envFile, `ZO_LOG_DIR='${dir}/log'\nZO_API_KEY='secret-1'\n`, {
      mode: 0o644,
    });
    await Deno.chmod(layout.envFile, 0o644);
    const open = (await checkEnvFile(layout, { installDir: dir })).result;
    assert.equal(open.status, "fail");
    assert.equal(open.fix, `chmod 600 ${layout.envFile}`);
    await Deno.chmod(layout.envFile, 0o600);
    const good = (await checkEnvFile(layout, { installDir: dir })).result;
    assert.equal(good.status, "ok");
    assert.ok(!JSON.stringify(good).includes("secret-1"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkEndpoint() skips with no endpoint and fails on a closed port", async () => {
  assert.equal((await checkEndpoint(new Map())).status, "skip");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const closed = await checkEndpoint(
    new Map([["ZO_EVENT_ENDPOINT", `http://127.0.0.1:${port}/ingest`]]),
  );
  assert.equal(closed.status, "fail");
  assert.match(closed.detail, new RegExp(`no answer from http://127\\.0\\.0\\.1:${port}/health`));
});

Deno.test("checkKeyProject() skips without a working key and warns on a bridge without /whoami", async () => {
  const fixes = { envFile: "/opt/claude-hooks/.env", rerun: "re-run bootstrap" };
  assert.equal((await checkKeyProject(new Map(), true, fixes)).status, "skip");
  // A bridge from before GET /whoami answers it 404, as any unknown route.
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => Response.json({ error: "Cannot find /whoami", reason: "not_found" }, { status: 404 }),
  );
  try {
    const env = new Map([["ZO_EVENT_ENDPOINT", `http://127.0.0.1:${server.addr.port}/ingest`]]);
    assert.equal((await checkKeyProject(env, false, fixes)).status, "skip");
    const old = await checkKeyProject(env, true, fixes);
    assert.equal(old.status, "warn");
    assert.match(old.detail, /has no GET \/whoami/);
  } finally {
    await server.shutdown();
  }
});

Deno.test("checkRelayKey() compares the running relay's key fingerprint with the .env's key", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const layout = installLayout("/opt/claude-hooks");
    const env = new Map([["ZO_EVENT_ENDPOINT", "http://bridge/ingest"], ["ZO_INGEST_KEY", "k1"]]);
    assert.equal((await checkRelayKey(layout, dir, env, Date.now())).status, "skip", "no relay");
    await Deno.mkdir(`${dir}/relay`);
    await Deno.writeTextFile(`${dir}/${LAYOUT.heartbeatFile}`, "4242\n");
    const unsaid = await checkRelayKey(layout, dir, env, Date.now());
    assert.equal(unsaid.status, "warn", "a relay from before relay/status.json");
    const status = (key: string | null, variable = "ZO_INGEST_KEY") =>
      (key === null ? Promise.resolve(null) : keyFingerprint(key)).then((print) =>
        writeRelayStatus(dir, {
          pid: 4242,
          started_at: new Date().toISOString(),
          key_variable: variable,
          key_fingerprint: print,
        })
      );
    await status("k1");
    assert.equal((await checkRelayKey(layout, dir, env, Date.now())).status, "ok");
    await status("k1", "ZO_API_KEY");
    assert.equal((await checkRelayKey(layout, dir, env, Date.now())).status, "warn");
    await status("k2");
    const other = await checkRelayKey(layout, dir, env, Date.now());
    assert.equal(other.status, "fail");
    assert.match(other.fix!, /^unset ZO_INGEST_KEY .*kill 4242 /);
    await status(null);
    assert.match((await checkRelayKey(layout, dir, env, Date.now())).detail, /sends no key/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
