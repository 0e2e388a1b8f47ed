import assert from "node:assert/strict";
import {
  copyRuntimeFiles,
  importedSpecifiers,
  isRuntimeFile,
  listRuntimeFiles,
  writeIfChanged,
} from "./sources.ts";

const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test("isRuntimeFile() keeps code and data, not tests or test helpers", () => {
  assert.equal(isRuntimeFile("hooks/stop.ts"), true);
  assert.equal(isRuntimeFile("hooks/pipeline/relay/pump.ts"), true);
  assert.equal(isRuntimeFile("bridge/usage/prices.json"), true);
  assert.equal(isRuntimeFile("hooks/pipeline/spool_test.ts"), false);
  assert.equal(isRuntimeFile("hooks/testing/relay.ts"), false);
  assert.equal(isRuntimeFile("hooks/testing/run_hook.ts"), false);
  assert.equal(isRuntimeFile("hooks/README.md"), false);
});

Deno.test("listRuntimeFiles() lists this checkout's hooks and shared code, sorted", async () => {
  const files = await listRuntimeFiles(REPO);
  assert.ok(files.includes("hooks/stop.ts"));
  assert.ok(files.includes("hooks/relay.ts"));
  assert.ok(files.includes("hooks/pipeline/hook_runner.ts"));
  assert.ok(files.includes("hooks/pipeline/relay/relay.ts"));
  assert.ok(files.includes("hooks/pipeline/usage/collector.ts"));
  assert.ok(files.includes("shared/redact.ts"));
  assert.ok(files.every(isRuntimeFile));
  assert.deepEqual(files, [...files].sort());
  // Only what a VM runs: no bridge or install code, no tests.
  assert.ok(!files.some((file) => file.startsWith("bridge/") || file.startsWith("scripts/")));
});

Deno.test("listRuntimeFiles() follows static, type-only and literal dynamic imports", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/hooks/lib`, { recursive: true });
    await Deno.mkdir(`${dir}/shared`, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/hooks/entry.ts`,
      'import { a } from "./lib/a.ts";\nconst b = await import("./lib/b.ts");\n',
    );
    await Deno.writeTextFile(`${dir}/hooks/entry_test.ts`, 'import "./lib/unused.ts";\n');
    await Deno.writeTextFile(
      `${dir}/hooks/lib/a.ts`,
      'import type { T } from "../../shared/t.ts";\n',
    );
    await Deno.writeTextFile(
      `${dir}/hooks/lib/b.ts`,
      'import data from "./d.json" with { type: "json" };\n',
    );
    await Deno.writeTextFile(`${dir}/hooks/lib/d.json`, "{}");
    await Deno.writeTextFile(`${dir}/hooks/lib/unused.ts`, "");
    await Deno.writeTextFile(`${dir}/shared/t.ts`, 'import { z } from "zod";\n');
    await Deno.writeTextFile(`${dir}/shared/other.ts`, "");
    assert.deepEqual(await listRuntimeFiles(dir), [
      "hooks/entry.ts",
      "hooks/lib/a.ts",
      "hooks/lib/b.ts",
      "hooks/lib/d.json",
      "shared/t.ts",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("copyRuntimeFiles() writes changed files only, mode 0644", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files = ["hooks/stop.ts", "hooks/pipeline/relay/checkpoint.ts"];
    assert.deepEqual(await copyRuntimeFiles(REPO, dir, files), files);
    assert.equal(
      (await Deno.stat(`${dir}/hooks/pipeline/relay/checkpoint.ts`)).mode! & 0o777,
      0o644,
    );
    assert.deepEqual(await copyRuntimeFiles(REPO, dir, files), []);
    await Deno.writeTextFile(`${dir}/hooks/stop.ts`, "changed");
    assert.deepEqual(await copyRuntimeFiles(REPO, dir, files), ["hooks/stop.ts"]);
    assert.equal(
      await Deno.readTextFile(`${dir}/hooks/stop.ts`),
      await Deno.readTextFile(`${REPO}/hooks/stop.ts`),
    );
    await Deno.chmod(`${dir}/hooks/stop.ts`, 0o600);
    assert.equal(
      await writeIfChanged(
        `${dir}/hooks/stop.ts`,
        await Deno.readFile(`${REPO}/hooks/stop.ts`),
        0o644,
      ),
      false,
    );
    assert.equal((await Deno.stat(`${dir}/hooks/stop.ts`)).mode! & 0o777, 0o644);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("importedSpecifiers() takes a worker's module named by new URL(..., import.meta.url)", () => {
  const source = [
    `const worker = new URL("./relay/record_worker.ts", import.meta.url);`,
    `const root = new URL("../..", import.meta.url);`,
    `import { x } from "./x.ts";`,
  ].join("\n");
  assert.deepEqual(importedSpecifiers(source), ["./relay/record_worker.ts", "./x.ts"]);
});
