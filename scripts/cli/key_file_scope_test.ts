/**
 * `deno task query`, `deno task tail` and `deno task usage` may read only `~/.config/zo/` (for
 * `--key-file`, and usage's `--prices`): run
 * as `deno task` runs them, against a real bridge, a key file there works and one elsewhere is
 * refused with a line that says where key files go.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startTestBridge } from "../../bridge/testing/bridge.ts";
import { makeEvent } from "../../bridge/testing/fakes.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const TASKS = JSON.parse(await Deno.readTextFile(`${REPO}deno.json`)).tasks;

/** This deno's cache, so `deno task` under a fresh HOME downloads nothing. */
async function denoDir(): Promise<string> {
  const output = await new Deno.Command("deno", { args: ["info", "--json"], stdout: "piped" })
    .output();
  return JSON.parse(new TextDecoder().decode(output.stdout)).denoDir;
}

Deno.test("deno task query reads a --key-file under ~/.config/zo/ and nothing elsewhere", async (t) => {
  await using bridge = await startTestBridge();
  const event = await makeEvent({ msg: "read back through the task" });
  const stored = await fetch(bridge.ingestUrl, {
    method: "POST",
    headers: { authorization: `Bearer ${bridge.ingestKey}` },
    body: JSON.stringify([event]),
  });
  assert.equal(stored.status, 200, await stored.text());
  const home = await Deno.makeTempDir({ prefix: "zo-home-" });
  const elsewhere = await Deno.makeTempDir({ prefix: "zo-keys-" });
  try {
    await Deno.mkdir(`${home}/.config/zo`, { recursive: true });
    await Deno.writeTextFile(`${home}/.config/zo/read.key`, `${bridge.readKey}\n`);
    await Deno.writeTextFile(`${elsewhere}/read.key`, `${bridge.readKey}\n`);
    const env = { HOME: home, DENO_DIR: await denoDir(), NO_COLOR: "1" };
    const query = async (keyFile: string) => {
      const output = await new Deno.Command("deno", {
        args: ["task", `--config=${REPO}deno.json`, "query", `--url=${bridge.url}`, "--json"]
          .concat(`--key-file=${keyFile}`),
        env,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
      return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
    };

    await t.step("a key file under ~/.config/zo/ is read", async () => {
      const { code, stdout, stderr } = await query(`${home}/.config/zo/read.key`);
      assert.equal(code, 0, stderr);
      const answer = JSON.parse(stdout);
      assert.deepEqual(answer.results.map((e: { event_id: string }) => e.event_id), [
        event.event_id,
      ]);
      assert.ok(!stdout.includes(bridge.readKey) && !stderr.includes(bridge.readKey));
    });

    await t.step("a key file elsewhere is refused, saying where key files go", async () => {
      const { code, stdout, stderr } = await query(`${elsewhere}/read.key`);
      assert.equal(code, 2, stderr);
      assert.equal(stdout, "");
      assert.match(
        stderr,
        /Cannot read --key-file \S+: this task may read key files under ~\/\.config\/zo\/ only/,
      );
    });
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(elsewhere, { recursive: true });
  }
});

Deno.test("deno task tail and deno task usage have query's narrow --allow-read", () => {
  const readFlags = (task: string) =>
    (TASKS[task].command as string).split(" ").filter((word) => word.startsWith("--allow-read"));
  assert.deepEqual(readFlags("query"), ["--allow-read=$HOME/.config/zo"]);
  assert.deepEqual(readFlags("tail"), readFlags("query"));
  assert.deepEqual(readFlags("usage"), readFlags("query"));
});

Deno.test("deno task usage reads a key file and a prices table under ~/.config/zo/ only", async (t) => {
  await using bridge = await startTestBridge();
  const home = await Deno.makeTempDir({ prefix: "zo-home-" });
  const elsewhere = await Deno.makeTempDir({ prefix: "zo-prices-" });
  try {
    await Deno.mkdir(`${home}/.config/zo`, { recursive: true });
    await Deno.writeTextFile(`${home}/.config/zo/read.key`, `${bridge.readKey}\n`);
    await Deno.writeTextFile(`${elsewhere}/read.key`, `${bridge.readKey}\n`);
    // The bridge's own table, copied: a valid prices file.
    const prices = await Deno.readTextFile(`${REPO}bridge/usage/prices.json`);
    await Deno.writeTextFile(`${home}/.config/zo/prices.json`, prices);
    await Deno.writeTextFile(`${elsewhere}/prices.json`, prices);
    const env = { HOME: home, DENO_DIR: await denoDir(), NO_COLOR: "1" };
    const usage = async (...flags: string[]) => {
      const output = await new Deno.Command("deno", {
        args: ["task", `--config=${REPO}deno.json`, "usage", `--url=${bridge.url}`, "--json"]
          .concat(flags),
        env,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
      return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
    };
    const keyHere = `--key-file=${home}/.config/zo/read.key`;

    await t.step("a key file and a prices table under ~/.config/zo/ are read", async () => {
      const { code, stdout, stderr } = await usage(
        keyHere,
        `--prices=${home}/.config/zo/prices.json`,
      );
      assert.equal(code, 0, stderr);
      assert.equal(typeof JSON.parse(stdout), "object");
    });
    await t.step("a key file elsewhere is refused, saying where key files go", async () => {
      const { code, stdout, stderr } = await usage(`--key-file=${elsewhere}/read.key`);
      assert.equal(code, 2, stderr);
      assert.equal(stdout, "");
      assert.match(stderr, /this task may read key files under ~\/\.config\/zo\/ only/);
    });
    await t.step("a prices table elsewhere is refused, saying where it goes", async () => {
      const { code, stdout, stderr } = await usage(keyHere, `--prices=${elsewhere}/prices.json`);
      assert.equal(code, 2, stderr);
      assert.equal(stdout, "");
      assert.match(
        stderr,
        /Cannot read the prices file \S+: this task may read files under ~\/\.config\/zo\/ only/,
      );
    });
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(elsewhere, { recursive: true });
  }
});
