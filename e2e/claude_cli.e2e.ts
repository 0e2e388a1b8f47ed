/**
 * The hook path against the real Claude Code CLI (the version of `.ci/claude-code-version`,
 * installed by `.ci/run`): `deno task bootstrap` installs the hooks, the CLI runs scripted
 * sessions offline against the fake Messages API of `claude_cli/fake_messages_api.ts`, and a
 * real bridge on a real Chroma must hold every event the CLI fired, once, and the session's
 * usage as the fake billed it. Both wirings: command hooks (`hooks.command.json`, the relay
 * started on demand) and http hooks to a relay service (`hooks.http.json`).
 *
 * What fired is counted by a recorder registered beside ours on every wired event: an http hook
 * to a server of the test (the CLI posts it from its own process, out of reach of its kill of
 * hooks at exit), and for SessionStart and Setup, which never run http hooks, a shell recorder
 * that writes each payload to a file of its own.
 *
 * The session: Bash, Read, Write, a failing Read, an Agent subagent with its own Bash, a final
 * answer; then `--resume` turns with `/compact`, a fake 400 (StopFailure) and `/model haiku`
 * (PreModelSwitch, PostModelSwitch).
 *
 * Needs `--allow-run=deno,env` (the CLI and the wrappers run under `env -i`),
 * `--allow-net=127.0.0.1`, `--allow-read=.,/tmp`, `--allow-write=/tmp`, `--allow-env=PATH` (to
 * put a `claude` first on bootstrap's PATH).
 */
import assert from "node:assert/strict";
import { startTestBridge, type TestBridge } from "../bridge/testing/bridge.ts";
import { relayAlive } from "../hooks/pipeline/relay_launcher.ts";
import { LAYOUT } from "../hooks/pipeline/spool.ts";
import { type HooksSettings, WIRED_EVENTS } from "../scripts/install/hooks_block.ts";
import { TOKEN_FIELDS, type TokenCounts, zeroTokens } from "../shared/usage/tokens.ts";
import { claudeBinary, claudeCodeVersion } from "./claude_cli/claude_code.ts";
import {
  type FakeMessagesApi,
  type Served,
  startFakeMessagesApi,
} from "./claude_cli/fake_messages_api.ts";
import { FAIL_PROMPT, MAIN_PROMPT, sessionScript } from "./claude_cli/session_script.ts";
import { fired, settingsWithRecorder, startRecorder } from "./claude_cli/recorder.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const TASKS = JSON.parse(Deno.readTextFileSync(`${REPO}/deno.json`)).tasks;
/**
 * Answers the telemetry must count: the main agent's and the subagent's. A 400 is not billed;
 * the `/compact` summary is, but Claude Code 2.1.328 writes no transcript line for it, and the
 * usage collector reads transcripts (see hooks/README.md).
 */
const BILLED_LABELS = new Set(["main", "subagent"]);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function output(command: Deno.Command): Promise<Run> {
  const { code, stdout, stderr } = await command.output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/**
 * `deno task bootstrap`'s exact command, with `pathDirs` (where the `claude` to find is) first on
 * this process's PATH, which also finds its `deno`.
 */
function bootstrapRun(args: string[], env: Record<string, string>, pathDirs: string[]) {
  const words = (TASKS.bootstrap.command as string).split(" ");
  return output(
    new Deno.Command("deno", {
      args: [...words.slice(1), ...args],
      cwd: REPO,
      env: { ...env, PATH: [...pathDirs, Deno.env.get("PATH") ?? "/usr/bin:/bin"].join(":") },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }),
  );
}

/** The events a settings block file of `installDir` wires. */
async function blockEvents(installDir: string, wiring: "command" | "http"): Promise<string[]> {
  const block = JSON.parse(await Deno.readTextFile(`${installDir}/settings/hooks.${wiring}.json`));
  return Object.keys(block.hooks);
}

/**
 * `deno task bootstrap` with its exact command, as the README runs it, the real CLI's `claude`
 * first on PATH: bootstrap reads its version and leaves out the events it rejects.
 */
async function bootstrap(
  root: string,
  bridge: TestBridge,
  claude: string,
): Promise<{ installDir: string }> {
  const installDir = `${root}/opt`;
  await Deno.mkdir(installDir, { recursive: true });
  // Lines bootstrap keeps: a free relay port, and an on-demand relay that leaves soon.
  await Deno.writeTextFile(
    `${installDir}/.env`,
    `ZO_RELAY_PORT='${freePort()}'\nZO_RELAY_IDLE_SECONDS='2'\n`,
    { mode: 0o600 },
  );
  const run = await bootstrapRun([
    `--install-dir=${installDir}`,
    `--log-dir=${root}/log`,
    "--project-id=e2e",
    `--endpoint=${bridge.url}`,
    "--settings=none",
  ], {
    HOME: `${root}/home`,
    INIT_CWD: root,
    ZO_API_KEY: bridge.ingestKey,
  }, [claude.replace(/\/[^/]*$/, "")]);
  assert.equal(run.code, 0, run.stderr);
  const version = claudeCodeVersion();
  assert.ok(
    run.stderr.includes(
      `Claude Code ${version} (claude --version): the blocks leave out Interrupt and ` +
        "PreSkillShellCommand, which it rejects in settings",
    ),
    run.stderr,
  );
  for (const wiring of ["command", "http"] as const) {
    assert.deepEqual(await blockEvents(installDir, wiring), [...WIRED_EVENTS], wiring);
  }
  return { installDir };
}

/**
 * For a failure message: what the log dir still holds of `sessionId` (spool lines not yet
 * shipped, dead letters, quarantine), and whether a relay runs, so a failure tells an event lost
 * before the spool from one the relay had not shipped yet.
 */
async function whereTheyAre(logDir: string, sessionId: string): Promise<string> {
  const counts = new Map<string, number>();
  const files: string[] = [];
  const read = async (path: string) => {
    const text = await Deno.readTextFile(path).catch(() => "");
    for (const line of text.split("\n")) {
      if (!line.includes(sessionId)) continue;
      const name = /"hook_event_name":"([A-Za-z]+)"/.exec(line)?.[1] ?? "?";
      const key = `${path.slice(logDir.length + 1)}:${name}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  };
  const names = await Array.fromAsync(Deno.readDir(`${logDir}/spool`)).catch(() => []);
  for (const entry of names) {
    files.push(entry.name);
    await read(`${logDir}/spool/${entry.name}`);
  }
  await read(`${logDir}/${LAYOUT.deadLetterFile}`);
  await read(`${logDir}/${LAYOUT.quarantineFile}`);
  return `log dir: relay ${relayAlive(logDir) ? "alive" : "not running"}, spool files ` +
    `${files.join(" ")}, lines of the session there: ${JSON.stringify(sorted(counts))}`;
}

/** Every stored event of a session, all pages. */
async function storedEvents(bridge: TestBridge, sessionId: string) {
  const events: Record<string, unknown>[] = [];
  let cursor: string | undefined;
  do {
    const params = new URLSearchParams({ session_id: sessionId, limit: "1000" });
    if (cursor) params.set("cursor", cursor);
    const response = await fetch(`${bridge.queryUrl}?${params}`, {
      headers: { authorization: `Bearer ${bridge.readKey}` },
    });
    assert.equal(response.status, 200);
    const page = await response.json();
    events.push(...page.results);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return events;
}

/** Per event name, how many hook events the bridge holds for the session. */
function countByEvent(events: Record<string, unknown>[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const event of events) {
    const name = event.hook_event_name;
    if (typeof name !== "string" || event.event_type === "usage") continue;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

function sorted(counts: Map<string, number>): [string, number][] {
  return [...counts].sort(([a], [b]) => a.localeCompare(b));
}

/** The four counts of every answer the fake billed. */
function billed(answers: readonly Served[]): TokenCounts {
  const total = zeroTokens();
  for (const served of answers) {
    if (served.usage === undefined || !BILLED_LABELS.has(served.label)) continue;
    for (const field of TOKEN_FIELDS) total[field] += served.usage[field];
  }
  return total;
}

async function usageTotals(bridge: TestBridge, sessionId: string): Promise<TokenCounts> {
  const response = await fetch(`${bridge.url}/usage?group_by=session&session_id=${sessionId}`, {
    headers: { authorization: `Bearer ${bridge.readKey}` },
  });
  assert.equal(response.status, 200);
  const { totals } = await response.json();
  return Object.fromEntries(TOKEN_FIELDS.map((field) => [field, totals[field]])) as TokenCounts;
}

/** Runs one scripted session of the real CLI with `settings` in a fresh HOME; its session id. */
async function runSession(
  claude: string,
  root: string,
  settings: { hooks: HooksSettings },
  fake: FakeMessagesApi,
): Promise<{ sessionId: string; runs: Run[] }> {
  const home = `${root}/home`;
  const project = `${root}/project`;
  await Deno.mkdir(`${home}/.claude`, { recursive: true });
  await Deno.mkdir(project, { recursive: true });
  await Deno.writeTextFile(`${home}/.claude/settings.json`, JSON.stringify(settings, null, 2));
  const env = [
    "PATH=/usr/bin:/bin",
    `HOME=${home}`,
    `ANTHROPIC_BASE_URL=${fake.url}`,
    "ANTHROPIC_API_KEY=sk-ant-api03-e2e-fake-key",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
    "IS_SANDBOX=1", // lets root pass --dangerously-skip-permissions
  ];
  const claudeRun = (args: string[]) =>
    output(
      new Deno.Command("env", {
        args: [
          "-i",
          ...env,
          claude,
          ...args,
          "--output-format",
          "json",
          "--dangerously-skip-permissions",
        ],
        cwd: project,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }),
    );
  const runs: Run[] = [];
  const first = await claudeRun(["-p", MAIN_PROMPT]);
  runs.push(first);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  const sessionId = JSON.parse(first.stdout).session_id as string;
  for (const prompt of ["/compact", FAIL_PROMPT, "/model haiku"]) {
    runs.push(await claudeRun(["-p", prompt, "--resume", sessionId]));
  }
  return { sessionId, runs };
}

/** Stops the on-demand relay of `logDir`, if one runs (its pid is in the heartbeat file). */
async function stopRelay(logDir: string): Promise<void> {
  try {
    const pid = Number((await Deno.readTextFile(`${logDir}/${LAYOUT.heartbeatFile}`)).trim());
    if (pid > 0) Deno.kill(pid, "SIGTERM");
  } catch {
    // none runs
  }
  await waitFor("the relay to leave", () => Promise.resolve(relayAlive(logDir) ? undefined : 1));
}

Deno.test("the real Claude Code CLI: every fired event reaches the bridge once, with its usage", async (t) => {
  const claude = await claudeBinary();
  const root = await Deno.makeTempDir({ prefix: "zo-claude-cli-test-" });
  await using bridge = await startTestBridge();
  // The script of the wiring being run (its project dir differs).
  let script = sessionScript(`${root}/command/project`);
  await using fake = await startFakeMessagesApi((request) => script(request));
  const { installDir } = await bootstrap(root, bridge, claude);
  const logDir = `${root}/log`;
  let service: Deno.ChildProcess | undefined;
  try {
    for (const wiring of ["command", "http"] as const) {
      await t.step(`${wiring} hooks`, async () => {
        const dir = `${root}/${wiring}`;
        const recordDir = `${dir}/fired`;
        await Deno.mkdir(recordDir, { recursive: true });
        if (wiring === "http") {
          // http hooks need a relay that is already listening: the relay service.
          await stopRelay(logDir);
          service = new Deno.Command("env", {
            args: ["-i", "PATH=/usr/bin:/bin", `${installDir}/bin/relay`, "--service"],
            stdin: "null",
            stdout: "null",
            stderr: "null",
          }).spawn();
          await waitFor(
            "the relay service",
            () => Promise.resolve(relayAlive(logDir) || undefined),
          );
        }
        const servedBefore = fake.served.length;
        await using recorder = startRecorder();
        const settings = await settingsWithRecorder(installDir, wiring, recorder, recordDir);
        script = sessionScript(`${dir}/project`);
        const { sessionId, runs } = await runSession(claude, dir, settings, fake);
        const seen = await fired(recorder, recordDir);
        assert.deepEqual([...seen.sessions], [sessionId], "one session per wiring");
        const firedCounts = seen.counts;
        // The script as the CLI played it: each part of the session fired.
        for (
          const event of [
            "SessionStart",
            "PreToolUse",
            "PostToolUseFailure",
            "SubagentStart",
            "SubagentStop",
            "PreCompact",
            "PostCompact",
            "StopFailure",
            "PreModelSwitch",
            "PostModelSwitch",
            "SessionEnd",
          ]
        ) {
          assert.ok(firedCounts.has(event), `${event} never fired: ${runs.at(-1)?.stderr}`);
        }
        const expected = sorted(firedCounts);
        let stored: [string, number][] = [];
        await waitFor(`the bridge to hold what fired in ${sessionId}`, async () => {
          stored = sorted(countByEvent(await storedEvents(bridge, sessionId)));
          return JSON.stringify(stored) === JSON.stringify(expected) ? true : undefined;
        }, 120_000).catch(() => {});
        assert.deepEqual(
          stored,
          expected,
          `stored once each, per event name, as fired; ${await whereTheyAre(logDir, sessionId)}`,
        );

        const want = billed(fake.served.slice(servedBefore));
        let got = zeroTokens();
        await waitFor("the session's usage", async () => {
          got = await usageTotals(bridge, sessionId);
          return JSON.stringify(got) === JSON.stringify(want) ? true : undefined;
        }, 60_000).catch(() => {});
        assert.deepEqual(got, want, "usage at /usage as the fake billed it");
      });
    }
  } finally {
    if (service) {
      service.kill("SIGTERM");
      await service.status;
    }
    await stopRelay(logDir).catch(() => {});
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});

Deno.test("bootstrap wires Interrupt and PreSkillShellCommand only for a Claude Code newer than 2.1.328", async () => {
  const root = await Deno.makeTempDir({ prefix: "zo-claude-version-test-" });
  try {
    // A stand-in `claude` that reports a newer version, then none on PATH at all.
    await Deno.mkdir(`${root}/newer`);
    await Deno.writeTextFile(
      `${root}/newer/claude`,
      '#!/bin/sh\n[ "$1" = --version ] && echo "2.2.0 (Claude Code)"\n',
      { mode: 0o755 },
    );
    const cases = [
      {
        dir: `${root}/newer`,
        line: /Claude Code 2\.2\.0 \(claude --version\), newer than/,
        pending: true,
      },
      {
        dir: `${root}/none`,
        line: /no Claude Code found \(claude --version on PATH\)/,
        pending: false,
      },
    ];
    for (const [i, { dir, line, pending }] of cases.entries()) {
      const installDir = `${root}/opt-${i}`;
      const run = await bootstrapRun(
        [`--install-dir=${installDir}`, `--log-dir=${root}/log-${i}`, "--settings=none"],
        { HOME: `${root}/home`, INIT_CWD: root },
        [dir],
      );
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, line);
      for (const wiring of ["command", "http"] as const) {
        const events = await blockEvents(installDir, wiring);
        assert.equal(events.includes("Interrupt"), pending, `${dir} ${wiring}`);
        assert.equal(events.includes("PreSkillShellCommand"), pending, `${dir} ${wiring}`);
        assert.ok(!events.includes("WorktreeCreate"), "never wired");
      }
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
