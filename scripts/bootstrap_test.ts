/**
 * End to end: `deno task bootstrap` (its exact command from deno.json) into a temp dir with a
 * temp HOME, then the wrappers run from `/` under `env -i PATH=/usr/bin:/bin` and deliver to a
 * real bridge, the settings merge and uninstall, `deno task doctor`, and one broken install per
 * doctor check. One install is shared by every step.
 *
 * Needs `--allow-run=deno,env` (`env -i` runs the wrappers as Claude Code would, with nothing
 * of this process's environment), `--allow-net=127.0.0.1`, `--allow-read=.,/tmp`,
 * `--allow-write=/tmp`.
 */
import assert from "node:assert/strict";
import { startTestBridge } from "../bridge/testing/bridge.ts";
import { relayAlive } from "../hooks/pipeline/relay_launcher.ts";
import { LAYOUT, segmentName } from "../hooks/pipeline/spool.ts";
import { bootstrap, type BootstrapContext } from "./bootstrap.ts";
import { runDoctor } from "./install/doctor_checks.ts";
import type { CheckResult } from "./install/doctor_result.ts";
import { parseEnvFile } from "./install/env_file.ts";
import { WIRED_EVENTS } from "./install/hooks_block.ts";
import { BACKUP_SUFFIX } from "./install/settings_merge.ts";
import { wrapperNames } from "./install/wrappers.ts";
import { freePort, runTask, runWrapper, waitFor } from "./testing/tasks.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const TASKS = JSON.parse(await Deno.readTextFile(`${REPO}/deno.json`)).tasks;

/** Every file under `dir` (but deno_dir, which deno itself writes to) with its bytes. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  async function walk(relative: string) {
    for await (const entry of Deno.readDir(`${dir}/${relative}`)) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (path === "deno_dir") continue;
      if (entry.isDirectory) await walk(path);
      else {
        const info = await Deno.stat(`${dir}/${path}`);
        files.set(
          path,
          `${(info.mode! & 0o777).toString(8)} ${await Deno.readTextFile(`${dir}/${path}`)}`,
        );
      }
    }
  }
  await walk("");
  return files;
}

function check(results: CheckResult[], name: string): CheckResult {
  const result = results.find((r) => r.name === name);
  assert.ok(result, `no check named ${name}`);
  return result;
}

const USER_SETTINGS = JSON.stringify(
  {
    model: "sonnet",
    hooks: {
      PostToolUse: [{
        matcher: "Bash",
        hooks: [{ type: "command", command: "/usr/local/bin/my-lint" }],
      }],
      Stop: [{ hooks: [{ type: "command", command: "echo done", timeout: 5 }] }],
    },
  },
  null,
  4,
);

Deno.test("bootstrap installs hooks that deliver from a bare environment, and uninstalls cleanly", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "zo-bootstrap-test-" });
  const home = `${root}/home`;
  const installDir = `${root}/opt`;
  const logDir = `${root}/log`;
  const settingsPath = `${home}/.claude/settings.json`;
  await Deno.mkdir(`${home}/.claude`, { recursive: true });
  await Deno.writeTextFile(settingsPath, USER_SETTINGS);
  const bridge = await startTestBridge();
  const key = bridge.ingestKey;
  const taskEnv = { HOME: home, INIT_CWD: root, ZO_API_KEY: "", ZO_INGEST_KEY: "" };
  let relay: Deno.ChildProcess | undefined;
  const query = async (params: string) => {
    const response = await fetch(`${bridge.queryUrl}?${params}`, {
      headers: { authorization: `Bearer ${bridge.readKey}` },
    });
    assert.equal(response.status, 200);
    return (await response.json()).results as Record<string, unknown>[];
  };
  try {
    await t.step("installs the files with their modes, and never prints the key", async () => {
      const run = await runTask("bootstrap", [
        "--install-dir=opt", // relative: taken from INIT_CWD, the caller's directory
        `--log-dir=${logDir}`,
        "--project-id=acme",
        `--endpoint=${bridge.url}`,
        "--settings=user",
        "--print-settings",
      ], { ...taskEnv, ZO_INGEST_KEY: key });
      assert.equal(run.code, 0, run.stderr);
      assert.ok(!run.stdout.includes(key) && !run.stderr.includes(key));
      // Only the block asked for on stdout; where both are, and where the key came from, on stderr.
      assert.ok(
        run.stdout.includes(`"command": "trap '' TERM; exec ${installDir}/bin/post_tool_use"`),
        run.stdout,
      );
      assert.doesNotMatch(run.stdout, /"type": "http"/);
      assert.match(run.stderr, /settings\/hooks\.http\.json/);
      assert.match(run.stderr, /key from ZO_INGEST_KEY in the environment/);

      assert.equal((await Deno.stat(`${installDir}/.env`)).mode! & 0o777, 0o600);
      for (const name of wrapperNames()) {
        assert.equal((await Deno.stat(`${installDir}/bin/${name}`)).mode! & 0o777, 0o755, name);
      }
      const env = parseEnvFile(await Deno.readTextFile(`${installDir}/.env`));
      assert.equal(env.get("ZO_EVENT_ENDPOINT"), `${bridge.url}/ingest`);
      assert.equal(env.get("ZO_INGEST_KEY"), key);
      assert.equal(env.get("ZO_PROJECT_ID"), "acme");
      assert.equal(env.get("ZO_LOG_DIR"), logDir);
      assert.match(env.get("ZO_REDACTION_SALT")!, /^[0-9a-f]{64}$/);
      await Deno.stat(`${installDir}/hooks/stop.ts`);
      await Deno.stat(`${installDir}/hooks/pipeline/relay/relay.ts`);
      await Deno.stat(`${installDir}/deno_dir/gen/file${installDir}/hooks/stop.ts.js`);
      await Deno.stat(`${installDir}/systemd/zo-relay.service`);
      const files = Object.keys(Object.fromEntries(await snapshot(installDir)));
      assert.ok(
        !files.some((f) => f.endsWith("_test.ts") || f.includes("testing")),
        "tests copied",
      );
    });

    await t.step(
      "merges into the user's settings, keeping their hooks, with a backup",
      async () => {
        assert.equal(await Deno.readTextFile(`${settingsPath}${BACKUP_SUFFIX}`), USER_SETTINGS);
        const settings = JSON.parse(await Deno.readTextFile(settingsPath));
        assert.equal(settings.model, "sonnet");
        assert.equal(settings.hooks.PostToolUse[0].hooks[0].command, "/usr/local/bin/my-lint");
        assert.equal(
          settings.hooks.PostToolUse[1].hooks[0].command,
          `trap '' TERM; exec ${installDir}/bin/post_tool_use`,
        );
        assert.equal(settings.hooks.Stop[0].hooks[0].command, "echo done");
        for (const event of WIRED_EVENTS) assert.ok(settings.hooks[event], event);
      },
    );

    const relayPort = freePort();
    await t.step(
      "a re-run keeps the key, salt and added lines; a third one changes nothing",
      async () => {
        const envFile = `${installDir}/.env`;
        const salt = parseEnvFile(await Deno.readTextFile(envFile)).get("ZO_REDACTION_SALT");
        await Deno.writeTextFile(
          envFile,
          `ZO_RELAY_PORT='${relayPort}'\nZO_RELAY_IDLE_SECONDS='1'\n`,
          { append: true },
        );
        const second = await runTask("bootstrap", [
          "--install-dir",
          installDir,
          "--settings",
          "user",
        ], taskEnv);
        assert.equal(second.code, 0, second.stderr);
        const env = parseEnvFile(await Deno.readTextFile(envFile));
        assert.equal(env.get("ZO_INGEST_KEY"), key);
        assert.equal(env.get("ZO_REDACTION_SALT"), salt);
        assert.equal(env.get("ZO_RELAY_PORT"), String(relayPort));
        assert.match(
          await Deno.readTextFile(`${installDir}/bin/relay`),
          new RegExp(`127\\.0\\.0\\.1:${relayPort} `),
        );

        const before = await snapshot(installDir);
        const settingsBefore = await Deno.readTextFile(settingsPath);
        const third = await runTask("bootstrap", [
          "--install-dir",
          installDir,
          "--settings",
          "user",
        ], taskEnv);
        assert.equal(third.code, 0, third.stderr);
        assert.match(third.stderr, /Done: nothing changed\./);
        assert.deepEqual(await snapshot(installDir), before);
        assert.equal(await Deno.readTextFile(settingsPath), settingsBefore);
        assert.equal(await Deno.readTextFile(`${settingsPath}${BACKUP_SUFFIX}`), USER_SETTINGS);
      },
    );

    await t.step(
      "a wrapper records from / under env -i; the relay it starts ships the event",
      async () => {
        const sessionId = `wrapper-${crypto.randomUUID()}`;
        const payload = JSON.stringify({
          session_id: sessionId,
          transcript_path: "/tmp/t.jsonl",
          cwd: "/",
          hook_event_name: "SessionStart",
          source: "startup",
        });
        const run = await runWrapper(`${installDir}/bin/session_start`, payload);
        assert.deepEqual(run, { code: 0, stdout: "", stderr: "" });
        const [event] = await waitFor("the event at the bridge", async () => {
          const results = await query(`session_id=${sessionId}`);
          return results.length > 0 ? results : undefined;
        });
        assert.equal(event!.event_type, "session_start");
        assert.equal(event!.project_id, "acme");
        // The on-demand relay leaves after ZO_RELAY_IDLE_SECONDS=1, ageing its heartbeat.
        await waitFor(
          "the on-demand relay to leave",
          () => Promise.resolve(relayAlive(logDir) ? undefined : true),
          20_000,
        );
      },
    );

    await t.step("the relay wrapper runs as a service and takes http hooks", async () => {
      relay = new Deno.Command("env", {
        args: ["-i", "PATH=/usr/bin:/bin", `${installDir}/bin/relay`, "--service"],
        cwd: "/",
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      await waitFor("the relay's http endpoint", async () => {
        try {
          const health = await fetch(`http://127.0.0.1:${relayPort}/health`);
          return (await health.text()) === "ok\n" ? true : undefined;
        } catch {
          return undefined;
        }
      });
      assert.ok(relayAlive(logDir));
      const http = JSON.parse(await Deno.readTextFile(`${installDir}/settings/hooks.http.json`));
      const url = http.hooks.UserPromptSubmit[0].hooks[0].url as string;
      assert.ok(url.startsWith(`http://127.0.0.1:${relayPort}/hook/UserPromptSubmit?`));
      const sessionId = `http-${crypto.randomUUID()}`;
      const response = await fetch(url, {
        method: "POST",
        body: JSON.stringify({
          session_id: sessionId,
          cwd: "/",
          hook_event_name: "UserPromptSubmit",
          prompt: "list the files",
        }),
      });
      assert.equal(response.status, 200);
      assert.equal(await response.text(), "");
      const [event] = await waitFor("the http hook's event", async () => {
        const results = await query(`session_id=${sessionId}`);
        return results.length > 0 ? results : undefined;
      });
      assert.equal(event!.hook_event_name, "UserPromptSubmit");
    });

    await t.step("a wrapper whose deno is gone exits 0 with one line on stderr", async () => {
      const text = await Deno.readTextFile(`${installDir}/bin/stop`);
      const broken = `${root}/stop_without_deno`;
      await Deno.writeTextFile(broken, text.replace(/^deno=.*$/m, `deno=${root}/no/deno`), {
        mode: 0o755,
      });
      await Deno.chmod(broken, 0o755);
      const run = await runWrapper(broken, "{}");
      assert.equal(run.code, 0);
      assert.equal(run.stdout, "");
      assert.equal(run.stderr.trim().split("\n").length, 1);
      assert.match(run.stderr, /no deno at .*\/no\/deno/);
    });

    await t.step("deno task doctor passes on the working install", async () => {
      const run = await runTask("doctor", [`--install-dir=${installDir}`], taskEnv);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.ok(!run.stdout.includes(key));
      assert.match(run.stdout, /^ok +relay +running/m);
      assert.match(run.stdout, /^ok +api key +the bridge accepts the key/m);
      assert.match(run.stdout, /All checks passed\./);
    });

    await t.step("doctor catches a broken install: one failing case per check", async () => {
      const doctor = (settingsPaths?: string[]) =>
        runDoctor({ installDir, ...(settingsPaths ? { settingsPaths } : {}) });
      const envFile = `${installDir}/.env`;
      const envText = await Deno.readTextFile(envFile);
      const restoreEnv = async () => {
        await Deno.writeTextFile(envFile, envText);
        await Deno.chmod(envFile, 0o600);
      };
      assert.ok((await doctor()).every((r) => r.status !== "fail"));

      const wrapper = `${installDir}/bin/zo_report_event`;
      const wrapperText = await Deno.readTextFile(wrapper);
      await Deno.writeTextFile(
        wrapper,
        wrapperText.replace(/^deno=.*$/m, `deno=${root}/gone/deno`),
      );
      const deno = check(await doctor(), "deno");
      assert.equal(deno.status, "fail");
      assert.match(deno.fix!, /install deno/);
      await Deno.writeTextFile(wrapper, wrapperText);

      const stop = `${installDir}/bin/stop`;
      await Deno.chmod(stop, 0o644);
      const install = check(await doctor(), "install");
      assert.equal(install.status, "fail");
      assert.match(install.detail, /bin\/stop is not executable/);
      assert.match(install.fix!, /deno task bootstrap/);
      await Deno.chmod(stop, 0o755);

      await Deno.chmod(envFile, 0o644);
      const env = check(await doctor(), "env");
      assert.deepEqual([env.status, env.fix], ["fail", `chmod 600 ${envFile}`]);
      await restoreEnv();

      const closed = freePort();
      await Deno.writeTextFile(
        envFile,
        envText.replace(
          /^ZO_EVENT_ENDPOINT=.*$/m,
          `ZO_EVENT_ENDPOINT='http://127.0.0.1:${closed}/ingest'`,
        ),
      );
      const endpoint = check(await doctor(), "endpoint");
      assert.equal(endpoint.status, "fail");
      assert.match(endpoint.fix!, /curl -sS/);
      await restoreEnv();

      await Deno.writeTextFile(envFile, envText.replace(key, `${key}-wrong`));
      const results = await doctor();
      const apiKey = check(results, "api key");
      assert.deepEqual([apiKey.status, apiKey.detail], [
        "fail",
        "the bridge does not know the key (401)",
      ]);
      assert.ok(!JSON.stringify(results).includes(key));
      await restoreEnv();

      const partial = JSON.parse(await Deno.readTextFile(settingsPath));
      delete partial.hooks.Stop[1];
      partial.hooks.Stop = partial.hooks.Stop.filter(Boolean);
      await Deno.writeTextFile(`${root}/partial.json`, JSON.stringify(partial));
      const settings = check(await doctor([`${root}/partial.json`]), "settings");
      assert.equal(settings.status, "fail");
      assert.match(settings.detail, /does not wire Stop/);

      relay!.kill("SIGTERM");
      await relay!.status;
      await relay!.stderr.cancel();
      relay = undefined;
      await waitFor(
        "the relay to stop",
        () => Promise.resolve(relayAlive(logDir) ? undefined : true),
      );
      const http = check(await doctor([`${installDir}/settings/hooks.http.json`]), "relay");
      assert.equal(http.status, "fail");
      assert.match(http.detail, /the http hooks need one/);

      // Two events recorded while no relay runs, looked at an hour later.
      const waiting = `${logDir}/${LAYOUT.spoolDir}/${segmentName(Date.now() + 120_000)}`;
      await Deno.writeTextFile(waiting, '{"a":1}\n{"a":2}\n');
      const later = await runDoctor({ installDir, nowMs: Date.now() + 3_600_000 });
      assert.equal(check(later, "backlog").status, "fail");
      assert.match(check(later, "backlog").detail, /^2 events .* waiting, the oldest since/);
      assert.equal(check(later, "relay").status, "fail");
      await Deno.remove(waiting);
      assert.ok((await doctor()).every((r) => r.status !== "fail"));
    });

    await t.step("--api-key on the command line warns, and no output holds it", async () => {
      const lines: string[] = [];
      let out = "";
      const context: BootstrapContext = {
        cwd: root,
        home,
        envApiKey: undefined,
        denoPath: Deno.execPath(),
        repoDir: REPO,
        out: (text) => out += text,
        err: (line) => lines.push(line),
      };
      const code = await bootstrap(
        ["--install-dir", installDir, "--api-key", "cli-key-0123456789", "--dry-run"],
        context,
      );
      assert.equal(code, 0);
      assert.match(lines[0]!, /^Warning: --key leaves the key in your shell history/);
      assert.ok(!(out + lines.join("\n")).includes("cli-key-0123456789"));
      assert.ok(!(out + lines.join("\n")).includes(key));
      assert.equal(
        parseEnvFile(await Deno.readTextFile(`${installDir}/.env`)).get("ZO_INGEST_KEY"),
        key,
      );
      assert.equal(await bootstrap(["--frobnicate"], context), 2);
      assert.match(lines.at(-1)!, /Cannot use --frobnicate: unknown flag[\s\S]*--help/);
    });

    await t.step(
      "--uninstall restores the settings byte for byte and removes the install",
      async () => {
        const run = await runTask(
          "bootstrap",
          ["--install-dir", installDir, "--uninstall"],
          taskEnv,
        );
        assert.equal(run.code, 0, run.stderr);
        assert.equal(await Deno.readTextFile(settingsPath), USER_SETTINGS);
        await assert.rejects(Deno.stat(`${settingsPath}${BACKUP_SUFFIX}`), Deno.errors.NotFound);
        await assert.rejects(Deno.stat(installDir), Deno.errors.NotFound);
        await Deno.stat(`${logDir}/spool`);
        const again = await runTask(
          "bootstrap",
          ["--install-dir", installDir, "--uninstall"],
          taskEnv,
        );
        assert.equal(again.code, 1);
      },
    );
  } finally {
    if (relay) {
      relay.kill("SIGTERM");
      await relay.status;
      await relay.stderr.cancel();
    }
    await bridge.stop();
    await Deno.remove(root, { recursive: true });
  }
});
Deno.test("the module docs of bootstrap and doctor give their tasks' exact commands", async () => {
  for (const name of ["bootstrap", "doctor"]) {
    const text = await Deno.readTextFile(`${REPO}/scripts/${name}.ts`);
    const doc = text.slice(0, text.indexOf("@module")).replace(/\n \*/g, " ").replace(/\s+/g, " ");
    assert.ok(doc.includes(`\`${TASKS[name].command}\``), `scripts/${name}.ts`);
  }
});
