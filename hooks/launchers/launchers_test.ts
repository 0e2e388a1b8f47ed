// The Windows launchers cannot be run here (no Windows in CI), so this reads them: the flags they
// pass must be exactly those of scripts/install/hook_permissions.ts and of the relay launcher, so the
// launchers cannot drift from the scripts they run.
import assert from "node:assert/strict";
import {
  HOOK_RUN_FLAGS,
  HOOK_SCRIPTS,
  hookPermissionFlags,
} from "../../scripts/install/hook_permissions.ts";
import { DEFAULT_RELAY_PORT } from "../pipeline/vm_config.ts";
import { relayFlags } from "../../scripts/permissions_doc.ts";

const CMD = new URL("./zo_hook.cmd", import.meta.url);
const PS1 = new URL("./zo_hook.ps1", import.meta.url);

/** Words of a command line: double-quoted strings unquoted, others split on white space. */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/** The string literals and variables of a PowerShell array or expression, in order. */
function psItems(text: string): string[] {
  return [...text.matchAll(/'([^']*)'|"([^"]*)"|(\$\w+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

function line(lines: readonly string[], pattern: RegExp, what: string): string {
  const found = lines.find((l) => pattern.test(l));
  assert.ok(found !== undefined, `the launcher has no ${what}`);
  return found;
}

/** What each placeholder of the launchers stands for, in `hook_permissions.ts` terms. */
function placeholders(text: string, map: Record<string, string>): string {
  let out = text;
  for (const [from, to] of Object.entries(map)) out = out.replaceAll(from, to);
  return out;
}

const READS_ANY_FILE = HOOK_SCRIPTS.filter((s) => s.readsAnyFile).map((s) => s.file);

Deno.test("zo_hook.cmd passes every hook exactly the flags of hook_permissions.ts", async () => {
  const lines = (await Deno.readTextFile(CMD)).split("\r\n");
  const run = words(line(lines, /^"%ZO_DENO%" run .*\\hooks\\%ZO_SCRIPT%\.ts"/, "hook run line"));
  const defaultRead = line(lines, /^set "ZO_READ=/, "default read flag")
    .match(/^set "ZO_READ=(.*)"$/)![1]!;
  const override = line(lines, /^for %%S in \(.*\) do .*set "ZO_READ=/, "reads-any-file list")
    .match(/^for %%S in \((.*)\) do .*set "ZO_READ=(.*)"$/)!;
  const anyFile = override[1]!.split(/\s+/).map((name) => `${name}.ts`);
  assert.deepEqual(anyFile.sort(), [...READS_ANY_FILE].sort());
  for (const script of HOOK_SCRIPTS) {
    const read = anyFile.includes(script.file) ? override[2]! : defaultRead;
    const flags = run.map((w) => w.replace("%ZO_READ%", read))
      .filter((w) => w.startsWith("--") && !w.startsWith("--env-file="));
    assert.deepEqual(
      flags,
      [
        ...HOOK_RUN_FLAGS,
        ...hookPermissionFlags(script.file, { logDir: "%ZO_LOG_DIR%", denoPath: "%ZO_DENO%" }),
      ],
      script.file,
    );
  }
});

Deno.test("zo_hook.cmd runs the relay with exactly the relay launcher's flags", async () => {
  const lines = (await Deno.readTextFile(CMD)).split("\r\n");
  const run = words(line(lines, /^"%ZO_DENO%" run .*\\hooks\\relay\.ts"/, "relay run line"));
  const local = line(lines, /^set "ZO_NET=127/, "loopback net").match(/^set "ZO_NET=(.*)"$/)![1]!;
  const withHost = line(lines, /^set "ZO_NET=%ZO_HOST%/, "endpoint net")
    .match(/^set "ZO_NET=(.*)"$/)![1]!.replace("%ZO_NET%", local);
  const flags = run.filter((w) => w.startsWith("--") && !w.startsWith("--env-file="))
    .map((w) =>
      placeholders(w.replace("%ZO_NET%", withHost), {
        "%ZO_LOG_DIR%": "<log-dir>",
        "%ZO_HOST%": "<endpoint-host>",
        "%ZO_RELAY_PORT%": "<port>",
        "%ZO_DENO%": "<deno>",
        "%ZO_INSTALL%\\hooks": "<install>/hooks",
        "%ZO_INSTALL%\\shared": "<install>/shared",
      })
    );
  assert.deepEqual(flags, relayFlags());
  assert.ok(
    lines.includes(`if not defined ZO_RELAY_PORT set "ZO_RELAY_PORT=${DEFAULT_RELAY_PORT}"`),
  );
});

Deno.test("zo_hook.ps1 passes every hook and the relay exactly their flags", async () => {
  const lines = (await Deno.readTextFile(PS1)).split("\n").map((l) => l.trim());
  const common = psItems(line(lines, /^\$common = @\(/, "common flags").slice("$common = ".length));
  const hookRun = psItems(line(lines, /^\$hookRun = @\(/, "hook run flags").slice(11));
  const relayRun = psItems(line(lines, /^\$relayRun = @\(/, "relay run flags").slice(12));
  assert.equal(
    line(lines, /^\$code = /, "code dirs"),
    `$code = "$(Join-Path $install 'hooks'),$(Join-Path $install 'shared')"`,
  );
  const relay = psItems(line(lines, /^\$flags = @\("--allow-read/, "relay flags").slice(9));
  const hook = psItems(line(lines, /^\$flags = @\(\$read/, "hook flags").slice(9));
  const anyFile = psItems(line(lines, /^\$readsAnyFile = @\(/, "reads-any-file list").slice(16))
    .map((name) => `${name}.ts`);
  const [anyRead, ownRead] = psItems(
    line(lines, /^\$read = if /, "read flag").split("{")
      .slice(1).join("{"),
  );
  const net = psItems(
    line(lines, /^\$net = "127/, "loopback net").slice("$net = ".length)
      .replace(/\$\(.*\)/, "<port>"),
  )[0]!;
  assert.deepEqual(anyFile.sort(), [...READS_ANY_FILE].sort());
  const subst = (flag: string) =>
    placeholders(flag, { "$logDir": "<log-dir>", "$deno": "<deno>", "$net": net });
  for (const script of HOOK_SCRIPTS) {
    const read = anyFile.includes(script.file) ? anyRead! : ownRead!;
    const flags = [...hookRun, ...common, ...hook.map((item) => item === "$read" ? read : item)]
      .map(subst);
    assert.deepEqual(flags, [...HOOK_RUN_FLAGS, ...hookPermissionFlags(script.file)], script.file);
  }
  const endpointNet = line(lines, /^if \(\$endpoint\) \{ \$net = /, "endpoint net");
  assert.match(endpointNet, /\$net = "\$\(\(\[Uri\]\$endpoint\)\.Authority\),\$net"/);
  const relayNet = `<endpoint-host>,${net}`;
  assert.deepEqual(
    [...relayRun, ...common, ...relay].map((flag) =>
      placeholders(flag, {
        "$logDir": "<log-dir>",
        "$net": relayNet,
        "$deno": "<deno>",
        "$code": "<install>/hooks,<install>/shared",
      })
    ),
    relayFlags(),
  );
  assert.ok(lines.some((l) => l.includes(`Get-Setting 'ZO_RELAY_PORT' '${DEFAULT_RELAY_PORT}'`)));
});

Deno.test("the launchers never write to stdout and always exit 0", async (t) => {
  await t.step("zo_hook.cmd", async () => {
    const text = await Deno.readTextFile(CMD);
    assert.ok(!/[^\r]\n/.test(text), "CRLF line ends (cmd.exe misreads labels in LF files)");
    const lines = text.split("\r\n");
    assert.equal(lines[0], "@echo off");
    for (const l of lines.filter((l) => /^"%ZO_DENO%" run /.test(l))) {
      assert.ok(l.endsWith(" >nul"), l);
    }
    for (const l of lines.filter((l) => /\becho\b/.test(l) && l !== "@echo off")) {
      assert.ok(l.startsWith(">&2 echo ") || l.startsWith("rem "), l);
    }
    const exits = lines.filter((l) => /\bexit\b/.test(l) && !l.startsWith("rem "));
    assert.ok(exits.length > 0 && exits.every((l) => /exit \/b 0$/.test(l)), exits.join("; "));
  });
  await t.step("zo_hook.ps1", async () => {
    const lines = (await Deno.readTextFile(PS1)).trimEnd().split("\n");
    assert.equal(lines.at(-1), "exit 0");
    const run = lines.filter((l) => /& \$deno run/.test(l));
    assert.equal(run.length, 1);
    assert.ok(run[0]!.trimEnd().endsWith("| Out-Null"), run[0]);
    assert.ok(!lines.some((l) => /Write-(Host|Output)|\becho\b/.test(l)));
    assert.ok(lines.some((l) => l.includes("[Console]::Error.WriteLine(")));
  });
  await t.step("both are plain ASCII", async () => {
    for (const url of [CMD, PS1]) {
      const bytes = await Deno.readFile(url);
      assert.ok(bytes.every((b) => b < 0x80), url.pathname);
    }
  });
});
