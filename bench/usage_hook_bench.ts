/**
 * What usage collection costs the hooks that trigger it: the wall time of `hooks/stop.ts` against
 * `deno run` of an empty script with the same flags and stdin (the floor), interleaved run by
 * run, medians, in four cases:
 *
 * - `no job`: a Stop payload without `transcript_path` (the hook as it was before usage);
 * - `job, relay runs`: `ZO_EVENT_ENDPOINT` set and a live relay (a fresh heartbeat): the hook
 *   only writes its job; the relay starts the collector;
 * - `job, no relay, starts collector`: no endpoint and no collector running: the hook spawns one;
 * - `job, no relay, collector running`: the next hooks find it waiting for jobs.
 *
 *     deno run --allow-read --allow-write --allow-run --allow-env bench/usage_hook_bench.ts [--runs=20]
 *
 * Target (issue #3): at most 1.3x the floor; the job itself should add about nothing.
 *
 * @module
 */
import { hookCommand } from "../scripts/install/hook_permissions.ts";
import { LAYOUT } from "../hooks/pipeline/spool.ts";
import { median, timedRun } from "./_stats.ts";

const HOOKS_DIR = new URL("../hooks", import.meta.url).pathname;
const FIXTURES = new URL("../testdata/claude-code/", import.meta.url).pathname;

/** Wall time (ms) of one hook run. */
async function wallMs(args: string[], env: Record<string, string>, stdin: Uint8Array) {
  return (await timedRun(args, env, stdin)).ms;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const runsArg = Deno.args.find((arg) => arg.startsWith("--runs="));
  const runs = runsArg ? Number(runsArg.slice("--runs=".length)) : 20;
  const root = await Deno.makeTempDir({ prefix: "zo-usage-bench-" });
  try {
    const dir = `${root}/claude/projects/-home-dev-app`;
    await Deno.mkdir(dir, { recursive: true });
    const transcript = `${dir}/session.jsonl`;
    await Deno.copyFile(`${FIXTURES}transcript.jsonl`, transcript);
    const payload = JSON.parse(await Deno.readTextFile(`${FIXTURES}payloads/stop.json`));
    const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
    const withJob = encode({ ...payload, transcript_path: transcript });
    const withoutJob = encode({ ...payload, transcript_path: undefined });
    await Deno.writeTextFile(`${root}/empty.ts`, "");

    const logDirs = {
      relay: `${root}/relay-log`,
      spawn: `${root}/spawn-log`,
      running: `${root}/running-log`,
    };
    for (const logDir of Object.values(logDirs)) {
      await Deno.mkdir(`${logDir}/relay`, { recursive: true });
    }
    const command = (logDir: string) =>
      hookCommand("stop.ts", { logDir, denoPath: Deno.execPath(), hooksDir: HOOKS_DIR });
    const floor = [...command(logDirs.relay).slice(0, -1), `${root}/empty.ts`];
    const relayEnv = { ZO_LOG_DIR: logDirs.relay, ZO_EVENT_ENDPOINT: "http://127.0.0.1:9/ingest" };
    // A live relay for the shipping case: its heartbeat, fresh before every run (none is started).
    const beat = () => Deno.writeTextFile(`${logDirs.relay}/${LAYOUT.heartbeatFile}`, "0\n");
    const cases: [string, () => Promise<number>][] = [
      ["floor", async () => (await beat(), await wallMs(floor, relayEnv, withoutJob))],
      [
        "no job",
        async () => (await beat(), await wallMs(command(logDirs.relay), relayEnv, withoutJob)),
      ],
      [
        "job, relay runs",
        async () => (await beat(), await wallMs(command(logDirs.relay), relayEnv, withJob)),
      ],
      [
        "job, no relay, starts collector",
        () =>
          wallMs(
            command(logDirs.spawn),
            { ZO_LOG_DIR: logDirs.spawn, ZO_RELAY_IDLE_SECONDS: "0" },
            withJob,
          ),
      ],
      [
        "job, no relay, collector running",
        () =>
          wallMs(command(logDirs.running), {
            ZO_LOG_DIR: logDirs.running,
            ZO_RELAY_IDLE_SECONDS: "600",
          }, withJob),
      ],
    ];
    for (const [, run] of cases) await run(); // warm the caches; starts the waiting collector
    const samples = new Map<string, number[]>(cases.map(([name]) => [name, []]));
    for (let i = 0; i < runs; i++) {
      // The collector the "starts collector" case spawned leaves after a second.
      await sleep(1_500);
      const order = i % 2 === 0 ? cases : [...cases].reverse();
      for (const [name, run] of order) samples.get(name)!.push(await run());
    }
    const floorMs = median(samples.get("floor")!);
    // deno-lint-ignore no-console -- the report is the point
    console.log(
      `usage_hook_bench: stop.ts, ${runs} interleaved runs per case, medians; deno ${Deno.version.deno}`,
    );
    for (const [name, values] of samples) {
      const ms = median(values);
      // deno-lint-ignore no-console -- the report is the point
      console.log(
        `${name.padEnd(34)} ${ms.toFixed(1).padStart(6)} ms  ${(ms / floorMs).toFixed(2)}x`,
      );
    }
  } finally {
    // The waiting collector leaves once its log dir is gone.
    await Deno.remove(root, { recursive: true });
  }
}

if (import.meta.main) {
  await main();
}
