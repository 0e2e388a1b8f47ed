/**
 * Hook speed: the wall time of `hooks/post_tool_use.ts` on a real payload against `deno run` of
 * an empty script with the SAME flags and stdin (the floor), interleaved run by run, medians, in
 * three settings: (a) no bridge configured, (b) the bridge up (the real bridge on a real Chroma,
 * from `bridge/testing/bridge.ts`; the relay the hooks start ships to it while we measure),
 * (c) a bridge that accepts connections and never answers. Also the peak memory (max RSS, from
 * `/usr/bin/time -f %M`) of a hook and of the floor.
 *
 *     deno run --allow-read --allow-write --allow-net=127.0.0.1 --allow-run --allow-env bench/hook_bench.ts [--runs=40]
 *
 * Target: hook median at most 1.3x the floor in each setting; peak memory at most 50 MB.
 *
 * @module
 */
import { startTestBridge } from "../bridge/testing/bridge.ts";
import { hookCommand } from "../scripts/install/hook_permissions.ts";
import { LAYOUT } from "../hooks/pipeline/spool.ts";
import { median, timedRun } from "./_stats.ts";

const HOOKS_DIR = new URL("../hooks", import.meta.url).pathname;
const PAYLOAD = new URL("../testdata/claude-code/payloads/post_tool_use.json", import.meta.url);
const SCRIPT = "post_tool_use.ts";

/** Max RSS in KB of one run, from GNU time. */
async function peakKb(args: string[], env: Record<string, string>, stdin: Uint8Array) {
  const child = new Deno.Command("/usr/bin/time", {
    args: ["-f", "%M", ...args],
    clearEnv: true,
    env,
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(stdin);
  await writer.close();
  const output = await child.output();
  const lines = new TextDecoder().decode(output.stderr).trim().split("\n");
  return Number(lines.at(-1));
}

interface Result {
  setting: string;
  floorMs: number;
  hookMs: number;
  ratio: number;
  hookPeakMb: number;
  floorPeakMb: number;
  failures: number;
}

async function measure(
  setting: string,
  env: Record<string, string>,
  runs: number,
  empty: string,
): Promise<Result> {
  const logDir = env.ZO_LOG_DIR!;
  const hook = hookCommand(SCRIPT, { logDir, denoPath: Deno.execPath(), hooksDir: HOOKS_DIR });
  const floor = [...hook.slice(0, -1), empty];
  const stdin = await Deno.readFile(PAYLOAD);
  const floorMs: number[] = [];
  const hookMs: number[] = [];
  let failures = 0;
  for (let i = 0; i < 3; i++) { // warm the module and code caches
    await timedRun(hook, env, stdin);
    await timedRun(floor, env, stdin);
  }
  for (let i = 0; i < runs; i++) {
    // Alternate which goes first, so neither always runs right after the other.
    const order = i % 2 === 0 ? [floor, hook] : [hook, floor];
    for (const args of order) {
      const sample = await timedRun(args, env, stdin);
      if (sample.code !== 0) failures++;
      (args === hook ? hookMs : floorMs).push(sample.ms);
    }
  }
  const hookPeaks: number[] = [];
  const floorPeaks: number[] = [];
  for (let i = 0; i < 5; i++) {
    hookPeaks.push(await peakKb(hook, env, stdin));
    floorPeaks.push(await peakKb(floor, env, stdin));
  }
  return {
    setting,
    floorMs: median(floorMs),
    hookMs: median(hookMs),
    ratio: median(hookMs) / median(floorMs),
    hookPeakMb: Math.max(...hookPeaks) / 1024,
    floorPeakMb: Math.max(...floorPeaks) / 1024,
    failures,
  };
}

/** Stops the relay the hooks started for `logDir` (its pid is in the heartbeat file). */
async function stopRelay(logDir: string): Promise<void> {
  try {
    const pid = Number((await Deno.readTextFile(`${logDir}/${LAYOUT.heartbeatFile}`)).trim());
    if (pid > 0) Deno.kill(pid, "SIGTERM");
  } catch {
    // no relay ran, or it has left already
  }
}

/** A server that accepts connections and never answers. */
function silentServer(): { url: string; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  (async () => {
    try {
      for await (const conn of listener) held.push(conn);
    } catch {
      // closed
    }
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/ingest`,
    close() {
      listener.close();
      held.forEach((conn) => conn.close());
    },
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function main(): Promise<void> {
  const runsArg = Deno.args.find((arg) => arg.startsWith("--runs="));
  const runs = runsArg ? Number(runsArg.slice("--runs=".length)) : 40;
  const dir = await Deno.makeTempDir({ prefix: "hook_bench_" });
  const empty = `${dir}/empty.ts`;
  await Deno.writeTextFile(empty, "");
  const baseEnv = (name: string): Record<string, string> => ({
    ZO_LOG_DIR: `${dir}/${name}`,
    ZO_REDACTION_SALT: "bench",
    ZO_RELAY_PORT: String(freePort()),
  });
  const results: Result[] = [];
  try {
    results.push(await measure("(a) no bridge configured", baseEnv("a"), runs, empty));

    {
      await using bridge = await startTestBridge();
      const env: Record<string, string> = {
        ...baseEnv("b"),
        ZO_EVENT_ENDPOINT: bridge.ingestUrl,
        ZO_API_KEY: bridge.ingestKey,
      };
      try {
        results.push(await measure("(b) bridge up", env, runs, empty));
      } finally {
        await stopRelay(env.ZO_LOG_DIR!);
      }
    }

    const silent = silentServer();
    const env: Record<string, string> = { ...baseEnv("c"), ZO_EVENT_ENDPOINT: silent.url };
    try {
      results.push(await measure("(c) bridge never answers", env, runs, empty));
    } finally {
      await stopRelay(env.ZO_LOG_DIR!);
      silent.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }

  const rows = results.map((r) =>
    `${r.setting.padEnd(28)} floor ${r.floorMs.toFixed(1).padStart(6)} ms  hook ${
      r.hookMs.toFixed(1).padStart(6)
    } ms  ratio ${r.ratio.toFixed(2)}x ${r.ratio <= 1.3 ? "(ok)" : "(over 1.3x)"}  peak ${
      r.hookPeakMb.toFixed(1)
    } MB (floor ${r.floorPeakMb.toFixed(1)} MB)${
      r.failures ? `  ${r.failures} non-zero exits` : ""
    }`
  );
  // deno-lint-ignore no-console -- a benchmark reports on stdout
  console.log(
    `hook_bench: ${SCRIPT}, ${runs} interleaved runs per setting, medians; deno ${Deno.version.deno}\n` +
      rows.join("\n"),
  );
}

if (import.meta.main) {
  await main();
}
