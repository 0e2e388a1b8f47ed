/**
 * What the benchmarks share: reading a `--name=N` flag, printing a line, the median and a
 * percentile of samples, and the wall time of one child process fed a given stdin (the hook
 * benchmarks' unit of measure).
 *
 * @module
 */

/** The number a `--name=N` argument of this run gives, else `fallback`. */
export function option(name: string, fallback: number): number {
  const arg = Deno.args.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? fallback : Number(arg.slice(name.length + 3));
}

/** Prints one line of a benchmark's report. */
export function log(text: string): void {
  // deno-lint-ignore no-console -- printing the figures is the point of a benchmark
  console.log(text);
}

/** The value at fraction `p` (0..1) of `values` sorted (nearest rank, from below). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Wall time (ms) and exit code of one run of `args` (program first) with `stdin` piped in. */
export async function timedRun(
  args: readonly string[],
  env: Record<string, string>,
  stdin: Uint8Array,
): Promise<{ ms: number; code: number }> {
  const started = performance.now();
  const child = new Deno.Command(args[0]!, {
    args: args.slice(1),
    clearEnv: true,
    env,
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(stdin);
  await writer.close();
  const status = await child.status;
  return { ms: performance.now() - started, code: status.code };
}
