/**
 * Hook speed as Claude Code sees it: the wall time of the INSTALLED hook command (PostToolUse's
 * `command` in `settings/hooks.command.json`, `trap '' TERM; exec <install>/bin/post_tool_use`,
 * written by `deno task bootstrap`), run as Claude Code runs a command hook (`/bin/sh -c
 * <command>`, the real 2.1.328 PostToolUse payload on stdin), against
 * `deno run` of an empty script with the hook's flags and stdin (the floor), interleaved run by
 * run, medians, in three settings: (a) no bridge configured, (b) the bridge up (the real bridge
 * on a real Chroma, from `bridge/testing/bridge.ts`; the relay the hooks start ships to it while
 * we measure), (c) a bridge that accepts connections and never answers. The wrapper hands off to
 * a detached `deno run`; each sample waits for that one's spool line before the next, so the
 * background work never overlaps a measurement, and every handed-off event is counted.
 *
 * Also the CPU per event (user + sys: the wrapper's `sh` and `setsid`, plus the `deno run` hook,
 * each measured by `times` of a shell that runs them in the foreground) and the peak memory (max
 * RSS, `/usr/bin/time -f %M`) of the hook's `deno run` and of the floor.
 *
 *     deno run --allow-read --allow-write --allow-net=127.0.0.1 --allow-run --allow-env bench/hook_bench.ts [--runs=40]
 *
 * Target: the wrapper's median at most 0.3x the floor in each setting; hook peak memory at most
 * 50 MB.
 *
 * @module
 */
import { startTestBridge } from "../bridge/testing/bridge.ts";
import { hookCommand } from "../scripts/install/hook_permissions.ts";
import { LAYOUT, listSegments, segmentPath } from "../hooks/pipeline/spool.ts";
import { median, timedRun } from "./_stats.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const PAYLOAD = `${REPO}/testdata/claude-code/real-2.1.328/PostToolUse.json`;
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

/** Seconds of CPU (user + sys) of the children of `sh -c "<loop>; times"`, per iteration. */
async function cpuMsPer(command: string, env: Record<string, string>, n: number) {
  const loop = `i=0; while [ $i -lt ${n} ]; do ${command} < ${PAYLOAD}; i=$((i+1)); done; times`;
  const output = await new Deno.Command("/bin/sh", {
    args: ["-c", loop],
    clearEnv: true,
    env,
    stdout: "piped",
    stderr: "null",
  }).output();
  // `times`: the shell's own user/sys, then its children's, as "0m0.012s 0m0.004s".
  const line = new TextDecoder().decode(output.stdout).trim().split("\n").at(-1) ?? "";
  const seconds = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => +m[1]! * 60 + +m[2]!);
  return ((seconds[0] ?? NaN) + (seconds[1] ?? NaN)) * 1000 / n;
}

async function spoolLines(logDir: string): Promise<number> {
  let n = 0;
  for (const name of await listSegments(logDir)) {
    const text = await Deno.readTextFile(segmentPath(logDir, name));
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) n++;
  }
  return n;
}

/** Waits (bounded) until the spool holds `count` lines; returns what it holds. */
async function waitForLines(logDir: string, count: number): Promise<number> {
  const deadline = Date.now() + 5_000;
  let n = await spoolLines(logDir);
  while (n < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    n = await spoolLines(logDir);
  }
  return n;
}

interface Result {
  setting: string;
  floorMs: number;
  wrapperMs: number;
  ratio: number;
  handedOff: number;
  spooled: number;
  cpuWrapperMs: number;
  cpuHookMs: number;
  hookPeakMb: number;
  floorPeakMb: number;
  failures: number;
}

interface Install {
  dir: string;
  logDir: string;
  /** PostToolUse's `command` in `settings/hooks.command.json`. */
  command: string;
}

async function measure(
  setting: string,
  install: Install,
  env: Record<string, string>,
  runs: number,
  empty: string,
): Promise<Result> {
  const { logDir } = install;
  const hook = hookCommand(SCRIPT, {
    logDir,
    denoPath: Deno.execPath(),
    hooksDir: `${install.dir}/hooks`,
  });
  const floor = [...hook.slice(0, -1), empty];
  // As Claude Code runs a command hook: through a shell.
  const wrapper = ["/bin/sh", "-c", install.command];
  const stdin = await Deno.readFile(PAYLOAD);
  const hookEnv = { ...env, DENO_DIR: `${install.dir}/deno_dir` };
  const floorMs: number[] = [];
  const wrapperMs: number[] = [];
  let failures = 0;
  let expected = await spoolLines(logDir);
  for (let i = 0; i < 3; i++) { // warm the module and code caches
    await timedRun(wrapper, env, stdin);
    await waitForLines(logDir, ++expected);
    await timedRun(floor, hookEnv, stdin);
  }
  const start = expected;
  for (let i = 0; i < runs; i++) {
    // Alternate which goes first, so neither always runs right after the other.
    for (const args of i % 2 === 0 ? [floor, wrapper] : [wrapper, floor]) {
      const sample = await timedRun(args, args === floor ? hookEnv : env, stdin);
      if (sample.code !== 0) failures++;
      if (args === wrapper) {
        wrapperMs.push(sample.ms);
        await waitForLines(logDir, ++expected);
      } else floorMs.push(sample.ms);
    }
  }
  const spooled = (await waitForLines(logDir, expected)) - start;
  const direct = hook.map((word) => `'${word}'`).join(" ");
  const cpuHookMs = await cpuMsPer(direct, hookEnv, 10);
  // The wrapper's own CPU: its sh and setsid (the handed-off deno is not its child any more).
  // In a subshell: the command ends in `exec`, which would end the measuring loop.
  const cpuWrapperMs = await cpuMsPer(`(${install.command})`, env, 10);
  await waitForLines(logDir, expected + 20);
  const hookPeaks: number[] = [];
  const floorPeaks: number[] = [];
  for (let i = 0; i < 5; i++) {
    hookPeaks.push(await peakKb(hook, hookEnv, stdin));
    floorPeaks.push(await peakKb(floor, hookEnv, stdin));
  }
  return {
    setting,
    floorMs: median(floorMs),
    wrapperMs: median(wrapperMs),
    ratio: median(wrapperMs) / median(floorMs),
    handedOff: runs,
    spooled,
    cpuWrapperMs,
    cpuHookMs,
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

/** `deno task bootstrap` (its command in deno.json) into `dir`/opt, logging to `dir`/log. */
async function bootstrap(dir: string): Promise<Install> {
  const tasks = JSON.parse(await Deno.readTextFile(`${REPO}/deno.json`)).tasks;
  const words = (tasks.bootstrap.command as string).split(" ");
  const install = { dir: `${dir}/opt`, logDir: `${dir}/log` };
  await Deno.mkdir(install.dir, { recursive: true });
  await Deno.writeTextFile(`${install.dir}/.env`, `ZO_RELAY_PORT='${freePort()}'\n`);
  const output = await new Deno.Command(Deno.execPath(), {
    args: [...words.slice(1), `--install-dir=${install.dir}`, `--log-dir=${install.logDir}`],
    cwd: REPO,
    env: { HOME: dir, INIT_CWD: dir, ZO_API_KEY: "" },
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`Cannot bootstrap: ${new TextDecoder().decode(output.stderr)}`);
  }
  // The command exactly as the settings block gives it to Claude Code.
  const block = JSON.parse(await Deno.readTextFile(`${install.dir}/settings/hooks.command.json`));
  return { ...install, command: block.hooks.PostToolUse[0].hooks[0].command };
}

async function main(): Promise<void> {
  const runsArg = Deno.args.find((arg) => arg.startsWith("--runs="));
  const runs = runsArg ? Number(runsArg.slice("--runs=".length)) : 40;
  const dir = await Deno.makeTempDir({ prefix: "hook_bench_" });
  const empty = `${dir}/empty.ts`;
  await Deno.writeTextFile(empty, "");
  const results: Result[] = [];
  try {
    const install = await bootstrap(dir);
    const baseEnv = { PATH: "/usr/bin:/bin", ZO_REDACTION_SALT: "bench" };
    results.push(await measure("(a) no bridge configured", install, baseEnv, runs, empty));

    {
      await using bridge = await startTestBridge();
      const env = { ...baseEnv, ZO_EVENT_ENDPOINT: bridge.ingestUrl, ZO_API_KEY: bridge.ingestKey };
      try {
        results.push(await measure("(b) bridge up", install, env, runs, empty));
      } finally {
        await stopRelay(install.logDir);
      }
    }

    const silent = silentServer();
    try {
      const env = { ...baseEnv, ZO_EVENT_ENDPOINT: silent.url };
      results.push(await measure("(c) bridge never answers", install, env, runs, empty));
    } finally {
      await stopRelay(install.logDir);
      silent.close();
    }
  } finally {
    await new Promise((resolve) => setTimeout(resolve, 500)); // the last hand-offs and relay
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }

  const rows = results.map((r) =>
    `${r.setting.padEnd(26)} floor ${r.floorMs.toFixed(1).padStart(5)} ms  wrapper ${
      r.wrapperMs.toFixed(1).padStart(5)
    } ms  ratio ${r.ratio.toFixed(2)}x ${
      r.ratio <= 0.3 ? "(ok)" : "(over 0.3x)"
    }  spooled ${r.spooled}/${r.handedOff}  cpu/event ${
      (r.cpuWrapperMs + r.cpuHookMs).toFixed(1)
    } ms (wrapper ${r.cpuWrapperMs.toFixed(1)} + hook ${r.cpuHookMs.toFixed(1)})  peak ${
      r.hookPeakMb.toFixed(1)
    } MB (floor ${r.floorPeakMb.toFixed(1)} MB)${
      r.failures ? `  ${r.failures} non-zero exits` : ""
    }`
  );
  // deno-lint-ignore no-console -- a benchmark reports on stdout
  console.log(
    `hook_bench: the settings command (trap '' TERM; exec bin/post_tool_use) via /bin/sh -c, ${runs} interleaved runs per setting, medians; deno ${Deno.version.deno}\n` +
      rows.join("\n"),
  );
}

if (import.meta.main) {
  await main();
}
