/**
 * `scripts/bootstrap_vm.sh` under `env -i` with a stand-in deno: it finds the deno it is given
 * and runs bootstrap's task with the arguments passed on.
 */
import assert from "node:assert/strict";
import { output } from "./testing/tasks.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test("bootstrap_vm.sh runs bootstrap with the deno it finds, its arguments passed on", async () => {
  const root = await Deno.makeTempDir({ prefix: "zo-bootstrap-vm-test-" });
  try {
    // A stand-in deno of the pinned version that records how it was run.
    await Deno.mkdir(`${root}/deno/bin`, { recursive: true });
    const fake = `${root}/deno/bin/deno`;
    await Deno.writeTextFile(
      fake,
      '#!/bin/sh\nif [ "$1" = --version ]; then echo "deno 2.9.6 (stable)"; exit 0; fi\n' +
        `printf '%s\\n' "$PATH" "$@" > ${root}/ran\n`,
    );
    await Deno.chmod(fake, 0o755);
    const run = await output(
      new Deno.Command("env", {
        args: [
          "-i",
          "PATH=/usr/bin:/bin",
          `HOME=${root}`,
          `DENO_PREFIX=${root}/deno`,
          "bash",
          `${REPO}/scripts/bootstrap_vm.sh`,
          "--project-id",
          "acme corp",
          "--dry-run",
        ],
        cwd: root,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }),
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`using ${fake}`));
    const [path, ...args] = (await Deno.readTextFile(`${root}/ran`)).trimEnd().split("\n");
    assert.ok(path!.startsWith(`${root}/deno/bin:`));
    assert.deepEqual(args, [
      "task",
      "--quiet",
      "--node-modules-dir=manual",
      "--config",
      `${REPO}/deno.json`,
      "bootstrap",
      "--project-id",
      "acme corp",
      "--dry-run",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
