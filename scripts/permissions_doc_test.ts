// Tests of the generated permission-flags section: every flag and task has its reason, and the
// section shows the flags the code really uses.
import assert from "node:assert/strict";
import { HOOK_RUN_FLAGS, HOOK_SCRIPTS, hookPermissionFlags } from "./install/hook_permissions.ts";
import {
  CHROMA_CHILD_FLAG_REASONS,
  chromaChildFlags,
  COLLECTOR_FLAG_REASONS,
  collectorFlags,
  HOOK_FLAG_REASONS,
  hookFlags,
  notGranted,
  permissionFlagsSection,
  RELAY_FLAG_REASONS,
  relayFlags,
  TASK_REASONS,
  taskInvocations,
  tasks,
} from "./permissions_doc.ts";

Deno.test("permission reasons cover every flag and task the code has, and nothing else", async (t) => {
  const cases: [string, string[], Readonly<Record<string, string>>][] = [
    ["hooks", hookFlags().map((row) => row.flag), HOOK_FLAG_REASONS],
    ["relay", relayFlags(), RELAY_FLAG_REASONS],
    ["usage collector", collectorFlags(), COLLECTOR_FLAG_REASONS],
    ["embedded Chroma", chromaChildFlags(), CHROMA_CHILD_FLAG_REASONS],
    ["deno.json tasks", tasks().map((task) => task.name), TASK_REASONS],
  ];
  for (const [name, keys, reasons] of cases) {
    await t.step(name, () => {
      const missing = keys.filter((key) => !Object.hasOwn(reasons, key));
      assert.deepEqual(missing, [], `add a reason to scripts/permissions_doc.ts for ${missing}`);
      const stale = Object.keys(reasons).filter((key) => !keys.includes(key));
      assert.deepEqual(stale, [], `reasons for flags or tasks that no longer exist: ${stale}`);
    });
  }
});

Deno.test("hookFlags() gives each hook exactly the flags of hook_permissions.ts", () => {
  for (const script of HOOK_SCRIPTS) {
    const mine = hookFlags().filter((row) => row.scripts.includes(script.file)).map((r) => r.flag);
    const theirs = [...HOOK_RUN_FLAGS, ...hookPermissionFlags(script.file)];
    assert.deepEqual(mine.sort(), theirs.sort(), script.file);
  }
});

Deno.test("relayFlags() are the launcher's flags with the documented placeholders", () => {
  assert.deepEqual(relayFlags(), [
    "--no-config",
    "--no-remote",
    "--cached-only",
    "--allow-env=ZO_*,CLAUDE_RUN_ID,CLAUDE_PROJECT_DIR,HOME",
    "--allow-sys=hostname,uid",
    "--allow-read=<log-dir>,<install>/hooks,<install>/shared",
    "--allow-write=<log-dir>",
    "--allow-net=<endpoint-host>,127.0.0.1:<port>",
    "--allow-run=<deno>",
  ]);
});

Deno.test("chromaChildFlags() are repository-relative", () => {
  const flags = chromaChildFlags();
  assert.ok(flags.includes("--allow-ffi"));
  assert.ok(flags.every((flag) => !flag.includes("//") && !/=\//.test(flag)), flags.join(" "));
});

Deno.test("taskInvocations() finds each deno command, its flags and scripts", () => {
  assert.deepEqual(
    taskInvocations(
      "deno fmt --check && deno run --no-prompt --allow-net --v8-flags=--x -A a/b.ts --flag=1",
    ),
    [
      { subcommand: "fmt", flags: [], scripts: [] },
      { subcommand: "run", flags: ["--no-prompt", "--allow-net"], scripts: ["a/b.ts"] },
    ],
  );
  assert.deepEqual(taskInvocations("echo hi; deno test --allow-read=. x_test.ts"), [
    { subcommand: "test", flags: ["--allow-read=."], scripts: ["x_test.ts"] },
  ]);
});

Deno.test("notGranted() lists what no flag grants", () => {
  assert.deepEqual(
    notGranted(["--allow-read=/x", "--allow-write", "--allow-env", "--allow-sys=hostname,uid"]),
    ["--allow-net", "--allow-run", "--allow-ffi", "--allow-import"],
  );
  assert.deepEqual(notGranted(["--allow-reader"]).includes("--allow-read"), true);
});

Deno.test("permissionFlagsSection() shows the hook command line and every task", () => {
  const section = permissionFlagsSection();
  assert.ok(
    section.includes(
      "deno run --no-config --no-npm --no-remote '--allow-env=ZO_*,CLAUDE_RUN_ID," +
        "CLAUDE_PROJECT_DIR,HOME' --allow-sys=hostname,uid --allow-read=<log-dir> " +
        "--allow-write=<log-dir> --allow-run=<deno> hooks/<script>.ts",
    ),
  );
  for (const { name } of tasks()) assert.ok(section.includes(`\`deno task ${name}\``), name);
  assert.ok(!section.includes("| — |"), "a flag without its reason");
});
