/**
 * The README's quickstart, pasted whole into `sh`, prints the event back from a real bridge: the
 * block "Record one event on a VM ... and read it back", with only what a test must change
 * substituted (this deno binary for `npx -y deno@2.9.6`, the test bridge's URL for
 * `127.0.0.1:8787`, a temp dir for `/tmp/zo-demo`). The relay it starts gets a free http-hook port
 * and a 1 s idle time, and the test waits for it to leave.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startTestBridge } from "../bridge/testing/bridge.ts";
import { freePort } from "./testing/tasks.ts";

const REPO = new URL("../", import.meta.url).pathname;

/** The quickstart's `sh` block that records one event and reads it back. */
export function quickstartBlock(readme: string): string {
  const section = readme.split(/^## /m).find((part) => part.startsWith("Quickstart\n"));
  assert.ok(section, "README.md has a Quickstart section");
  const blocks = [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  const block = blocks.find((text) => text.includes("ZO_LOG_DIR"));
  assert.ok(block, "the Quickstart has the block that records an event");
  return block;
}

/** Pids of the relays running for `logDir`, from `ps`. */
async function relayPids(logDir: string): Promise<number[]> {
  const output = await new Deno.Command("ps", { args: ["-eo", "pid=,args="], stdout: "piped" })
    .output();
  return new TextDecoder().decode(output.stdout).split("\n")
    .filter((line) => line.includes("hooks/relay.ts") && line.includes(`--allow-write=${logDir} `))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

Deno.test("README.md's quickstart, pasted whole, prints the event the bridge stored", async () => {
  await using bridge = await startTestBridge({ open: true }); // as `deno task bridge` on loopback
  const dir = await Deno.makeTempDir({ prefix: "zo-quickstart-" });
  const logDir = `${dir}/zo-demo`;
  const block = quickstartBlock(await Deno.readTextFile(`${REPO}README.md`));
  for (const original of ["npx -y deno@2.9.6", "http://127.0.0.1:8787", "/tmp/zo-demo"]) {
    assert.ok(block.includes(original), `the block no longer has ${original}`);
  }
  const script = block
    .replaceAll("npx -y deno@2.9.6", Deno.execPath())
    .replaceAll("http://127.0.0.1:8787", bridge.url)
    .replaceAll("/tmp/zo-demo", logDir);
  try {
    const output = await new Deno.Command("env", {
      args: ["sh", "-c", script],
      cwd: REPO,
      env: { ZO_RELAY_PORT: String(freePort()), ZO_RELAY_IDLE_SECONDS: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    // The last line is the bridge's answer; the lines before it, the spooled envelope.
    const lines = stdout.trimEnd().split("\n");
    const answer = JSON.parse(lines.at(-1)!);
    assert.deepEqual(answer.results.map((e: { event_type: string }) => e.event_type), [
      "session_start",
    ]);
    const spooled = JSON.parse(lines[0]!);
    assert.equal(answer.results[0].event_id, spooled.event_id);
  } finally {
    // The on-demand relay leaves after 1 s idle; stop it only if it has not.
    for (let i = 0; i < 100 && (await relayPids(logDir)).length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const pid of await relayPids(logDir)) Deno.kill(pid, "SIGTERM");
    await Deno.remove(dir, { recursive: true });
  }
});
