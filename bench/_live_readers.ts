/**
 * Helper of `dashboard_bench.ts`, run as its own process so that its readers never share an
 * event loop with the load generator: opens N `GET /live` streams on a bridge and reads each to
 * the end, counting the events it brings without decoding them (the bridge's cost is what is
 * measured, not a parser's), at the lowest CPU priority (nice 19): they stand in for browsers on
 * other machines, so they only take CPU the bridge and Chroma leave idle. The key comes from
 * `ZO_API_KEY`.
 *
 * Protocol: prints `ready` once every stream is open; each line on stdin is answered with the
 * per-stream event counts as a JSON array; stdin closing ends it.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-env=ZO_API_KEY --allow-sys=setPriority bench/_live_readers.ts <bridge-url> <streams> [<live-query>]
 * ```
 *
 * @module
 */

import { setPriority } from "node:os";

/** `\nevent: envelope\n`: one per event message. */
const MARK = new TextEncoder().encode("\nevent: envelope\n");
const READY = new TextEncoder().encode("event: ready");

/**
 * Occurrences of `MARK` in `bytes`, carrying the last bytes over (a marker may straddle two
 * chunks). Native `indexOf` finds each line break: no text is decoded.
 */
function countMarks(bytes: Uint8Array): number {
  let count = 0;
  let at = bytes.indexOf(10);
  while (at >= 0 && at + MARK.length <= bytes.length) {
    let match = true;
    for (let i = 1; i < MARK.length; i++) {
      if (bytes[at + i] !== MARK[i]) {
        match = false;
        break;
      }
    }
    if (match) count++;
    at = bytes.indexOf(10, at + 1);
  }
  return count;
}

function includes(bytes: Uint8Array, pattern: Uint8Array): boolean {
  for (let at = bytes.indexOf(pattern[0]!); at >= 0; at = bytes.indexOf(pattern[0]!, at + 1)) {
    if (pattern.every((byte, i) => bytes[at + i] === byte)) return true;
  }
  return false;
}

async function follow(
  url: string,
  key: string,
  counts: number[],
  index: number,
  opened: () => void,
) {
  const response = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
  if (!response.ok || response.body === null) {
    throw new Error(`Cannot follow ${url}: ${response.status}`);
  }
  let carry = new Uint8Array(0);
  let ready = false;
  for await (const chunk of response.body) {
    const bytes = new Uint8Array(carry.length + chunk.length);
    bytes.set(carry);
    bytes.set(chunk, carry.length);
    if (!ready && includes(bytes, READY)) {
      ready = true;
      opened();
    }
    counts[index]! += countMarks(bytes);
    // The end may hold the start of a marker: keep it for the next chunk (never a whole one).
    carry = bytes.slice(Math.max(0, bytes.length - (MARK.length - 1)));
  }
}

async function main(): Promise<void> {
  const [base, count, query = ""] = Deno.args;
  const key = Deno.env.get("ZO_API_KEY") ?? "";
  const streams = Number(count);
  if (!base || !(streams > 0)) {
    throw new Error("Usage: _live_readers.ts <bridge-url> <streams> [<live-query>]");
  }
  const url = `${base}/live${query ? `?${query}` : ""}`;
  setPriority(19);
  const counts = new Array<number>(streams).fill(0);
  let open = 0;
  const encoder = new TextEncoder();
  const say = (line: string) => Deno.stdout.writeSync(encoder.encode(`${line}\n`));
  for (let i = 0; i < streams; i++) {
    follow(url, key, counts, i, () => {
      if (++open === streams) say("ready");
    }).catch((error) => say(`error ${(error as Error).message}`));
  }
  for await (const _ of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    say(JSON.stringify(counts));
  }
  // stdin closed: the bench is done with us (the streams end with the process).
  Deno.exit(0);
}

if (import.meta.main) {
  await main();
}
