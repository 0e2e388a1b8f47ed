/**
 * Doctor on the installs the issue found it passing while nothing could arrive, each against a
 * real bridge, the install's real relay and a real replay: a key bound to another project than
 * `--project-id`, a relay started with another key than the `.env`'s (exported in its shell),
 * and dead letters no replay has shipped. Each fails with a fix line, then passes once fixed.
 *
 * Needs `--allow-run=env` (the wrappers run under `env -i`), `--allow-net=127.0.0.1`,
 * `--allow-read=.,/tmp`, `--allow-write=/tmp`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startTestBridge, testKey } from "../bridge/testing/bridge.ts";
import { relayAlive } from "../hooks/pipeline/relay_launcher.ts";
import { readRelayStatus } from "../hooks/pipeline/relay/relay_status.ts";
import { LAYOUT } from "../hooks/pipeline/spool.ts";
import { bootstrap } from "./bootstrap.ts";
import { runDoctor } from "./install/doctor_checks.ts";
import type { CheckResult } from "./install/doctor_result.ts";
import { runReplay } from "./replay/replay.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const PAYLOAD = `${REPO}/testdata/claude-code/payloads/session_start.json`;

function check(results: CheckResult[], name: string): CheckResult {
  const result = results.find((r) => r.name === name);
  assert.ok(result, `no ${name} check in ${results.map((r) => r.name)}`);
  return result;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Cannot go on: waited 60 s for ${what}`);
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function lines(path: string): Promise<number> {
  try {
    return (await Deno.readTextFile(path)).split("\n").filter(Boolean).length;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
}

Deno.test("doctor fails on a key of another project, a relay's other key and dead letters", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "zo-doctor-cases-" });
  const installDir = `${root}/opt`;
  const logDir = `${root}/log`;
  const bound = testKey("ingest-acme");
  const shellKey = testKey("ingest-shell");
  await using bridge = await startTestBridge({ keys: `ingest@acme:${bound},ingest:${shellKey}` });
  await Deno.writeTextFile(`${root}/zo.key`, `${bound}\n`);
  const install = async (projectId: string) => {
    const errors: string[] = [];
    const code = await bootstrap([
      `--install-dir=${installDir}`,
      `--log-dir=${logDir}`,
      `--project-id=${projectId}`,
      `--endpoint=${bridge.url}`,
      `--key-file=${root}/zo.key`,
    ], {
      cwd: root,
      home: root,
      envApiKey: undefined,
      denoPath: Deno.execPath(),
      repoDir: REPO,
      out: () => {},
      err: (line) => errors.push(line),
    });
    assert.equal(code, 0, errors.join("\n"));
  };
  const doctor = async () => {
    const results = await runDoctor({ installDir });
    const text = JSON.stringify(results);
    assert.ok(!text.includes(bound) && !text.includes(shellKey), "doctor never shows a key");
    return results;
  };
  /** The install's relay as a service, under `env -i` plus `env` (the shell it starts from). */
  const startRelay = async (env: string[] = []) => {
    const child = new Deno.Command("env", {
      args: ["-i", "PATH=/usr/bin:/bin", ...env, `${installDir}/bin/relay`, "--service"],
      cwd: "/",
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitFor("the relay's status", async () => {
      const status = await readRelayStatus(logDir);
      return status?.pid === child.pid && relayAlive(logDir) ? true : undefined;
    });
    return child;
  };
  const stopRelay = async (child: Deno.ChildProcess) => {
    child.kill("SIGTERM");
    await child.status;
    await waitFor("the relay to stop", () => Promise.resolve(relayAlive(logDir) ? undefined : 1));
  };
  const relays: Deno.ChildProcess[] = [];
  try {
    // The relay's loopback port, kept by bootstrap, so no other test's relay holds it.
    await Deno.mkdir(installDir);
    await Deno.writeTextFile(`${installDir}/.env`, `ZO_RELAY_PORT='${freePort()}'\n`, {
      mode: 0o600,
    });
    await install("beta");

    await t.step("a key bound to another project fails key project (api key passes)", async () => {
      const results = await doctor();
      assert.equal(check(results, "api key").status, "ok");
      const project = check(results, "key project");
      assert.equal(project.status, "fail");
      assert.match(
        project.detail,
        /bound to project "acme", but this install's ZO_PROJECT_ID is "beta"/,
      );
      assert.match(project.fix!, /--project-id acme/);
    });

    await t.step("the bridge's refusals fail dead letters, with how to replay them", async () => {
      const relay = await startRelay();
      relays.push(relay);
      assert.equal(check(await doctor(), "relay key").status, "ok");
      const hook = new Deno.Command("env", {
        args: ["-i", "PATH=/usr/bin:/bin", `${installDir}/bin/session_start`],
        cwd: "/",
        stdin: "piped",
        stdout: "null",
        stderr: "null",
      }).spawn();
      const writer = hook.stdin.getWriter();
      await writer.write(await Deno.readFile(PAYLOAD));
      await writer.close();
      assert.equal((await hook.status).code, 0);
      const deadFile = `${logDir}/${LAYOUT.deadLetterFile}`;
      await waitFor(
        "the relay to dead-letter the event",
        async () => await lines(deadFile) > 0 ? true : undefined,
      );
      const dead = check(await doctor(), "dead letters");
      assert.equal(dead.status, "fail");
      assert.match(dead.detail, /^1 event refused by the bridge since \d{4}-\d\d-\d\dT\d\d:\d\dZ/);
      assert.ok(dead.fix!.includes(`. ${installDir}/.env; deno task replay ${deadFile})`));
      await stopRelay(relay);
    });

    await t.step("a relay started with another key than the .env's fails relay key", async () => {
      const relay = await startRelay([`ZO_INGEST_KEY=${shellKey}`]);
      relays.push(relay);
      const key = check(await doctor(), "relay key");
      assert.equal(key.status, "fail");
      assert.match(
        key.detail,
        new RegExp(
          `pid ${relay.pid}\\) sends another key than ${installDir}/\\.env, from ZO_INGEST_KEY`,
        ),
      );
      assert.match(key.fix!, new RegExp(`^unset ZO_INGEST_KEY .* kill ${relay.pid} `));
      await stopRelay(relay);
      assert.equal(check(await doctor(), "relay key").status, "skip", "no relay, nothing to check");
    });

    await t.step("fixed: the right project, the dead letters replayed", async () => {
      const replayed = await runReplay({
        path: `${logDir}/${LAYOUT.deadLetterFile}`,
        endpoint: new URL(bridge.ingestUrl),
        apiKey: shellKey, // not bound: it may write the refused events' project
        log: () => {},
      });
      assert.equal(replayed.shipped, 1);
      await install("acme");
      const results = await doctor();
      assert.deepEqual(results.filter((r) => r.status === "fail"), []);
      assert.match(
        check(results, "key project").detail,
        /bound to project "acme", as this install/,
      );
      assert.match(check(results, "dead letters").detail, /^1 refused event, all replayed/);
    });
  } finally {
    for (const relay of relays) {
      try {
        relay.kill("SIGTERM");
      } catch {
        // already gone
      }
      await relay.status;
    }
    await Deno.remove(root, { recursive: true });
  }
});
