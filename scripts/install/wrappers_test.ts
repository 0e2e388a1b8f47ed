import assert from "node:assert/strict";
import { HOOK_SCRIPTS, hookPermissionFlags } from "./hook_permissions.ts";
import { loadVmConfig } from "../../hooks/pipeline/vm_config.ts";
import { installLayout } from "./layout.ts";
import {
  allWrappers,
  hookWrapper,
  relayWrapper,
  shellQuote,
  wrapperDenoPath,
  wrapperName,
  wrapperNames,
} from "./wrappers.ts";

const VALUES = {
  layout: installLayout("/opt/claude-hooks"),
  denoPath: "/usr/local/lib/deno/bin/deno",
  config: loadVmConfig((name) =>
    ({
      ZO_LOG_DIR: "/var/lib/zo",
      ZO_EVENT_ENDPOINT: "https://telemetry.example.com:8443/ingest",
      ZO_RELAY_PORT: "9100",
    })[name]
  ),
};

/**
 * The words of the `deno run` command a wrapper starts (its `exec` line, or the `setsid -f`
 * line of a hook), shell quotes and the launcher removed.
 */
function execWords(text: string): string[] {
  const line = text.split("\n").map((l) => l.trim()).find((l) =>
    l.startsWith("exec ") || l.startsWith("setsid -f ")
  )!;
  const words = line.replace(/^(exec|setsid -f) /, "").replace(/ >\/dev\/null 2>&1$/, "");
  return words.split(" ").map((word) => word.replace(/^'(.*)'$/, "$1"));
}

Deno.test("wrapperName() and wrapperNames() name one wrapper per entry script, plus the relay", () => {
  assert.equal(wrapperName("report_event.ts"), "zo_report_event");
  assert.equal(wrapperName("post_tool_use.ts"), "post_tool_use");
  const names = wrapperNames();
  for (
    const name of [
      "zo_report_event",
      "session_start",
      "mcp_telemetry",
      "worker_spawn",
      "artifact_produced",
      "error_event",
      "relay",
      "stop",
      "post_tool_use_failure",
    ]
  ) assert.ok(names.includes(name), name);
  assert.equal(names.length, HOOK_SCRIPTS.length + 1);
  assert.equal(new Set(names).size, names.length);
});

Deno.test("hookWrapper() runs the installed script with exactly its flags and the .env", () => {
  const text = hookWrapper("stop.ts", VALUES);
  assert.ok(text.startsWith("#!/bin/sh\n"));
  assert.deepEqual(execWords(text), [
    '"$deno"',
    "run",
    "--env-file=/opt/claude-hooks/.env",
    "--no-config",
    "--no-npm",
    "--no-remote",
    ...hookPermissionFlags("stop.ts", { logDir: "/var/lib/zo", denoPath: VALUES.denoPath }),
    "/opt/claude-hooks/hooks/stop.ts",
    '"$@"',
  ]);
  assert.match(
    text,
    /^export DENO_DIR=\/opt\/claude-hooks\/deno_dir DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1 ZO_LOG_DIR=\/var\/lib\/zo$/m,
  );
  assert.match(text, /^if \[ ! -x "\$deno" \]; then\n.*>&2\n {2}exit 0\nfi$/m);
  assert.equal(wrapperDenoPath(text), VALUES.denoPath);
  // It hands off: no exec, exit 0 right after starting the hook in a session of its own.
  assert.doesNotMatch(text, /^exec /m);
  assert.match(
    text,
    /^ {2}setsid -f "\$deno" .* >\/dev\/null 2>&1\nelse\n.* <&0 >\/dev\/null 2>&1 &\nfi\nexit 0\n$/m,
  );
  assert.ok(execWords(hookWrapper("artifact_produced.ts", VALUES)).includes("--allow-read"));
});

Deno.test("relayWrapper() runs hooks/relay.ts with the endpoint host and the relay port", () => {
  const words = execWords(relayWrapper(VALUES));
  assert.ok(words.includes("--allow-net=telemetry.example.com:8443,127.0.0.1:9100"));
  // The log dir, and the relay's own code: its workers load their modules with its permissions.
  assert.ok(
    words.includes("--allow-read=/var/lib/zo,/opt/claude-hooks/hooks,/opt/claude-hooks/shared"),
    words.join(" "),
  );
  // The relay starts usage collectors: deno itself, by the wrapper's absolute path, and no more.
  assert.deepEqual(words.filter((w) => w.startsWith("--allow-run")), [
    `--allow-run=${VALUES.denoPath}`,
  ]);
  assert.equal(words.at(-2), "/opt/claude-hooks/hooks/relay.ts");
});

Deno.test("allWrappers() fills in every placeholder", () => {
  const wrappers = allWrappers(VALUES);
  assert.deepEqual([...wrappers.keys()], wrapperNames());
  for (const [name, text] of wrappers) {
    assert.doesNotMatch(text, /<[a-z-]+>/, `${name} keeps a placeholder`);
    assert.ok(execWords(text).includes(`--allow-write=/var/lib/zo`), name);
  }
});

Deno.test("shellQuote() quotes only what the shell would change", () => {
  assert.equal(shellQuote("/opt/x/bin"), "/opt/x/bin");
  assert.equal(shellQuote("--allow-env=ZO_*,HOME"), "'--allow-env=ZO_*,HOME'");
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.equal(wrapperDenoPath(`deno=${shellQuote("/a b/it's/deno")}\n`), "/a b/it's/deno");
});
