/**
 * `--help` on every command-line task of deno.json, run as `deno task` runs it: exit 0, the usage
 * on stdout with each flag described, and nothing started (the bridge's help starts no bridge).
 *
 * @module
 */
import assert from "node:assert/strict";

const REPO = new URL("../../", import.meta.url).pathname;
const TASKS = JSON.parse(await Deno.readTextFile(`${REPO}deno.json`)).tasks;

for (const task of ["query", "tail", "usage", "replay", "doctor", "bootstrap", "bridge"]) {
  Deno.test(`deno task ${task} --help prints its usage and exits 0`, async () => {
    const [deno, ...args] = (TASKS[task].command as string).split(" ");
    assert.equal(deno, "deno");
    const output = await new Deno.Command("deno", {
      args: [...args, "--help"],
      cwd: REPO,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    assert.match(stdout, new RegExp(`^Usage: deno task ${task}`));
    assert.equal(stderr, "");
    // Each flag line carries a description, not only its name.
    for (const line of stdout.split("\n").filter((l) => /^ {2}--[a-z]/.test(l))) {
      assert.match(line, /^ {2}--\S+( <[^>]+>)? {2,}\S|^ {2}--\S+( <[^>]+>)?$/, line);
    }
  });
}
