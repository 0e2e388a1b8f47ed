/**
 * Two installs on one VM (two users, or two `HOME`s of one user), each with its own relay port:
 * `deno task bootstrap` gives each its own `ZO_RELAY_PORT` (passing over a taken one), each
 * install's http hooks reach its own relay and land in its own log dir under its own project,
 * `deno task doctor` says whose relay holds the port, and an install pointed at the other's port
 * is refused there (421), never recorded under the other's project.
 *
 * Needs `--allow-run=deno,env`, `--allow-net=127.0.0.1`, `--allow-read=.,/tmp`,
 * `--allow-write=/tmp`.
 */
import assert from "node:assert/strict";
import { relayAlive } from "../hooks/pipeline/relay_launcher.ts";
import { listSegments, segmentPath } from "../hooks/pipeline/spool.ts";
import { readJsonl } from "../hooks/testing/relay.ts";
import type { CheckResult } from "./install/doctor_result.ts";
import { parseEnvFile } from "./install/env_file.ts";
import { derivedRelayPort, RELAY_PORT_RANGE } from "./install/relay_port.ts";
import { runTask, waitFor } from "./testing/tasks.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const PAYLOAD = JSON.parse(
  Deno.readTextFileSync(`${REPO}/testdata/claude-code/payloads/post_tool_use.json`),
);

interface Install {
  name: string;
  dir: string;
  logDir: string;
  home: string;
  project: string;
  relay?: Deno.ChildProcess;
}

function installOf(root: string, name: string): Install {
  return {
    name,
    dir: `${root}/${name}/opt`,
    logDir: `${root}/${name}/log`,
    home: `${root}/${name}/home`,
    project: `project-${name}`,
  };
}

function bootstrap(install: Install, extra: string[] = []) {
  return runTask("bootstrap", [
    `--install-dir=${install.dir}`,
    `--log-dir=${install.logDir}`,
    `--project-id=${install.project}`,
    ...extra,
  ], { HOME: install.home, INIT_CWD: install.home });
}

async function relayPort(install: Install): Promise<number> {
  return Number(parseEnvFile(await Deno.readTextFile(`${install.dir}/.env`)).get("ZO_RELAY_PORT"));
}

/** The URL this install's http block gives PostToolUse. */
async function hookUrl(install: Install): Promise<string> {
  const block = JSON.parse(await Deno.readTextFile(`${install.dir}/settings/hooks.http.json`));
  return block.hooks.PostToolUse[0].hooks[0].url;
}

async function startRelay(install: Install): Promise<void> {
  install.relay = new Deno.Command("env", {
    args: ["-i", "PATH=/usr/bin:/bin", `${install.dir}/bin/relay`, "--service"],
    cwd: "/",
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  // Its heartbeat comes before its http endpoint listens: wait for both.
  const port = await relayPort(install);
  await waitFor(`${install.name}'s relay`, async () => {
    if (!relayAlive(install.logDir)) return undefined;
    const up = await fetch(`http://127.0.0.1:${port}/health`)
      .then((r) => r.body?.cancel().then(() => r.ok), () => false);
    return up || undefined;
  });
}

async function stopRelay(install: Install): Promise<void> {
  if (!install.relay) return;
  install.relay.kill("SIGTERM");
  await install.relay.status;
  install.relay = undefined;
}

/** Posts PostToolUse of a fresh session to `url`; the session id and the answer. */
async function post(url: string): Promise<{ sessionId: string; status: number; body: string }> {
  const sessionId = `two-installs-${crypto.randomUUID()}`;
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...PAYLOAD, session_id: sessionId }),
  });
  return { sessionId, status: response.status, body: await response.text() };
}

/** The spooled events of `sessionId` in a log dir. */
async function spooled(logDir: string, sessionId: string): Promise<Record<string, unknown>[]> {
  const events = [];
  for (const name of await listSegments(logDir).catch(() => [])) {
    events.push(...await readJsonl(segmentPath(logDir, name)));
  }
  return events.filter((event) => event.session_id === sessionId);
}

async function doctorPort(install: Install): Promise<CheckResult> {
  const run = await runTask("doctor", [`--install-dir=${install.dir}`, "--json"], {
    HOME: install.home,
    INIT_CWD: install.home,
  });
  const { checks } = JSON.parse(run.stdout) as { checks: CheckResult[] };
  const check = checks.find((c) => c.name === "relay port");
  assert.ok(check, run.stdout);
  return check;
}

Deno.test("two installs on one VM: each its own relay port, its own events; doctor names who holds a port", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "zo-two-installs-" });
  const a = installOf(root, "a");
  const b = installOf(root, "b");
  let squatter: Deno.Listener | undefined;
  try {
    await t.step(
      "bootstrap gives each install its own port, passing over a taken one",
      async () => {
        const first = await bootstrap(a);
        assert.equal(first.code, 0, first.stderr);
        // Another program sits on b's derived port: bootstrap takes the next one.
        squatter = Deno.listen({ hostname: "127.0.0.1", port: derivedRelayPort(b.dir) });
        const second = await bootstrap(b);
        assert.equal(second.code, 0, second.stderr);
        assert.match(
          second.stderr,
          new RegExp(`relay port ${derivedRelayPort(b.dir)} is held by another program`),
        );
        const [portA, portB] = [await relayPort(a), await relayPort(b)];
        assert.notEqual(portA, portB);
        for (const port of [portA, portB]) {
          assert.ok(port >= RELAY_PORT_RANGE.first && port < RELAY_PORT_RANGE.first + 10_000);
        }
        assert.equal(portB, derivedRelayPort(b.dir) + 1);
        assert.equal(
          await hookUrl(a),
          `http://127.0.0.1:${portA}/hook/PostToolUse?install=${a.dir}`,
        );
        assert.equal(
          await hookUrl(b),
          `http://127.0.0.1:${portB}/hook/PostToolUse?install=${b.dir}`,
        );
        assert.match(
          await Deno.readTextFile(`${b.dir}/bin/relay`),
          new RegExp(`127\\.0\\.0\\.1:${portB} `),
        );
      },
    );

    await t.step(
      "each install's http hooks land in its own log dir, under its own project",
      async () => {
        await startRelay(a);
        await startRelay(b);
        for (const [install, other] of [[a, b], [b, a]] as const) {
          const sent = await post(await hookUrl(install));
          assert.equal(sent.status, 200, sent.body);
          const [event] = await waitFor(
            `the event in ${install.name}'s spool`,
            async () => {
              const events = await spooled(install.logDir, sent.sessionId);
              return events.length > 0 ? events : undefined;
            },
          );
          assert.equal(event!.project_id, install.project);
          assert.deepEqual(await spooled(other.logDir, sent.sessionId), []);
        }
      },
    );

    await t.step("doctor: each port is held by its own install's relay", async () => {
      for (const install of [a, b]) {
        const check = await doctorPort(install);
        assert.equal(check.status, "ok", check.detail);
        assert.match(check.detail, /held by this install's relay/);
      }
    });

    await t.step(
      "an install given the other's port: bootstrap warns, doctor fails, the relay refuses",
      async () => {
        await stopRelay(b);
        const portA = await relayPort(a);
        const run = await bootstrap(b, [
          `--relay-port=${portA}`,
          "--settings=user",
          "--hook-type=http",
        ]);
        assert.equal(run.code, 0, run.stderr);
        assert.match(
          run.stderr,
          new RegExp(`warning: relay port ${portA} .* held by the relay of ${a.dir}`),
        );
        const check = await doctorPort(b);
        assert.equal(check.status, "fail", check.detail);
        assert.match(
          check.detail,
          new RegExp(`held by the relay of ${a.dir} \\(log dir ${a.logDir}`),
        );
        assert.match(check.fix ?? "", /--relay-port ""/);
        const sent = await post(await hookUrl(b));
        assert.equal(sent.status, 421);
        assert.match(sent.body, new RegExp(`belongs to ${a.dir}, not ${b.dir}`));
        // Bounded: the refused event must not show up in a's spool, where a's relay writes.
        await new Promise((resolve) => setTimeout(resolve, 500));
        assert.deepEqual(await spooled(a.logDir, sent.sessionId), []);
        assert.deepEqual(await spooled(b.logDir, sent.sessionId), []);
      },
    );

    await t.step(
      'another program on the port: doctor names it; --relay-port "" picks b\'s own again',
      async () => {
        squatter?.close();
        squatter = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const taken = (squatter.addr as Deno.NetAddr).port;
        const moved = await bootstrap(b, [`--relay-port=${taken}`]);
        assert.equal(moved.code, 0, moved.stderr);
        const check = await doctorPort(b);
        assert.equal(check.status, "fail", check.detail);
        assert.match(check.detail, /held by another program/);
        const back = await bootstrap(b, ["--relay-port=", "--settings=user", "--hook-type=http"]);
        assert.equal(back.code, 0, back.stderr);
        assert.equal(await relayPort(b), derivedRelayPort(b.dir));
        const settings = JSON.parse(await Deno.readTextFile(`${b.home}/.claude/settings.json`));
        assert.match(
          settings.hooks.PostToolUse.at(-1).hooks[0].url,
          new RegExp(`:${derivedRelayPort(b.dir)}/`),
        );
        await startRelay(b);
        const ok = await doctorPort(b);
        assert.equal(ok.status, "ok", ok.detail);
      },
    );
  } finally {
    squatter?.close();
    await stopRelay(a);
    await stopRelay(b);
    await Deno.remove(root, { recursive: true });
  }
});
