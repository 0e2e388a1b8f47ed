// Tests of the hook shim generator: the committed shims are exactly the generated ones, none
// missing, none extra. Run from the repository root (it reads hooks/).
import assert from "node:assert/strict";
import { hookShim, hookShims } from "./hook_shims.ts";
import { CLAUDE_CODE_EVENTS } from "./install/hook_permissions.ts";

/** The entry scripts in hooks/ that record one named Claude Code event: the shims. */
function committedShims(): string[] {
  return [...Deno.readDirSync("hooks")]
    .filter((entry) => entry.isFile && entry.name.endsWith(".ts"))
    .map((entry) => `hooks/${entry.name}`)
    .filter((path) => /runHook\(\{ script: "[^"]+", event: "/.test(Deno.readTextFileSync(path)))
    .sort();
}

Deno.test("hookShims() gives one shim per Claude Code event, each the committed file", () => {
  const shims = hookShims();
  assert.equal(shims.size, CLAUDE_CODE_EVENTS.length);
  for (const [path, source] of shims) {
    const committed = Deno.readTextFileSync(path);
    assert.ok(committed === source, `${path} differs from its shim: run \`deno task schema:gen\``);
  }
});

Deno.test("hooks/ holds no shim the event table does not generate", () => {
  assert.deepEqual(committedShims(), [...hookShims().keys()].sort());
});

Deno.test("hookShim() names its event and script and carries the event's flags", () => {
  const source = hookShim("PostToolUseFailure");
  assert.ok(
    source.includes('runHook({ script: "post_tool_use_failure.ts", event: "PostToolUseFailure" })'),
  );
  assert.ok(source.includes(" hooks/post_tool_use_failure.ts\n"));
  assert.ok(source.includes("'--allow-env=ZO_*,CLAUDE_RUN_ID,CLAUDE_PROJECT_DIR,HOME'"));
  assert.ok(source.includes("--allow-read=<log-dir> --allow-write=<log-dir> --allow-run=<deno>"));
});
