import assert from "node:assert/strict";
import { childArgs, freePort, heartbeat, startEmbeddedChroma } from "./embedded_chroma.ts";

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * True while process `pid` exists and is not a zombie. Deno grants /proc only with
 * --allow-all, so a `deno eval` (the one program these tests may run) reads it.
 */
async function alive(pid: number): Promise<boolean> {
  const { stdout } = await new Deno.Command("deno", {
    args: [
      "eval",
      `try {
         const stat = Deno.readTextFileSync("/proc/${pid}/stat");
         console.log(stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3));
       } catch { console.log("gone"); }`,
    ],
    stdin: "null",
    stderr: "null",
  }).output();
  const state = new TextDecoder().decode(stdout).trim();
  return state !== "gone" && state !== "Z" && state !== "X";
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await delay(50);
  }
  return false;
}

Deno.test("childArgs() runs the child with FFI and narrow reads only", () => {
  const args = childArgs("/data/chroma", 8123);
  assert.deepEqual(args.slice(0, 4), ["run", "--no-config", "--no-prompt", "--allow-ffi"]);
  assert.match(args[4]!, /^--allow-read=.*chroma_child\.ts,.*node_modules/);
  assert.ok(args.every((a) => !/^--allow-(all|net|write|env|run|sys)/.test(a)));
  assert.deepEqual(args.slice(-2), ["/data/chroma", "8123"]);
});

Deno.test("startEmbeddedChroma() serves on loopback, restarts after a crash, stops", async (t) => {
  const path = await Deno.makeTempDir({ prefix: "zo-embedded-" });
  const lines: string[] = [];
  const chroma = await startEmbeddedChroma({
    path,
    initialBackoffMs: 50,
    onLog: (line) => lines.push(line),
  });
  try {
    await t.step("answers the heartbeat on 127.0.0.1 and keeps data in the directory", async () => {
      assert.match(chroma.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(await heartbeat(chroma.url));
      assert.ok((await Deno.stat(`${path}/chroma.sqlite3`)).isFile);
    });

    await t.step("a killed server is restarted on the same port", async () => {
      const before = chroma.pid!;
      chroma.kill();
      assert.ok(await waitFor(async () => !(await alive(before)), 5_000), "not killed");
      await chroma.ready(20_000);
      assert.equal(chroma.restarts, 1);
      assert.notEqual(chroma.pid, before);
      assert.ok(lines.some((line) => /Embedded Chroma exited .* restarting/.test(line)));
    });

    await t.step("stop() ends the child and no restart follows", async () => {
      const pid = chroma.pid!;
      await chroma.stop();
      assert.equal(await alive(pid), false);
      assert.equal(chroma.pid, undefined);
      assert.equal(await heartbeat(chroma.url, 300), false);
      await delay(200);
      assert.equal(await heartbeat(chroma.url, 300), false);
    });
  } finally {
    await chroma.stop();
    await Deno.remove(path, { recursive: true });
  }
});

Deno.test("startEmbeddedChroma() fails clearly when its port is taken", async () => {
  const path = await Deno.makeTempDir({ prefix: "zo-embedded-" });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: freePort() });
  try {
    await assert.rejects(
      startEmbeddedChroma({ path, port: (listener.addr as Deno.NetAddr).port, restart: false }),
      /Cannot start embedded Chroma on http:\/\/127\.0\.0\.1:\d+: the server exited .*not available/,
    );
  } finally {
    listener.close();
    await Deno.remove(path, { recursive: true });
  }
});

Deno.test("startEmbeddedChroma() leaves no orphan when its parent is SIGKILLed", async () => {
  const path = await Deno.makeTempDir({ prefix: "zo-embedded-" });
  const module = new URL("./embedded_chroma.ts", import.meta.url).href;
  // The parent is a separate deno process (a bridge, say) that starts Chroma and reports it.
  const parent = new Deno.Command("deno", {
    args: [
      "eval",
      `import { startEmbeddedChroma } from ${JSON.stringify(module)};
       const chroma = await startEmbeddedChroma({ path: ${JSON.stringify(path)} });
       console.log(JSON.stringify({ pid: chroma.pid, url: chroma.url }));
       setInterval(() => {}, 1000);`,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    const reader = parent.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const { pid, url } = JSON.parse(text) as { pid: number; url: string };
    assert.ok(await alive(pid));
    assert.ok(await heartbeat(url));

    parent.kill("SIGKILL");
    await parent.status;
    await reader.cancel();

    assert.ok(await waitFor(async () => !(await alive(pid)), 10_000), `Chroma ${pid} outlived it`);
    assert.equal(await heartbeat(url, 300), false);
  } finally {
    try {
      parent.kill("SIGKILL");
    } catch { /* already gone */ }
    await parent.status;
    await Deno.remove(path, { recursive: true });
  }
});
