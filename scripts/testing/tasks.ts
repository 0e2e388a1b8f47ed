/**
 * Test helpers for the install scripts: run a `deno.json` task with its exact command, run an
 * installed wrapper as Claude Code would (`env -i PATH=/usr/bin:/bin`, from `/`), and wait for
 * a condition with a generous bound. Needs `--allow-run=deno,env` and `--allow-read=.`.
 *
 * @module
 */
import assert from "node:assert/strict";

const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const TASKS = JSON.parse(Deno.readTextFileSync(`${REPO}/deno.json`)).tasks;

/** What a finished process left. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `command` (stdout and stderr piped) with `stdin` written to it, if given. */
export async function output(command: Deno.Command, stdin?: string): Promise<Run> {
  const child = command.spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    try {
      await writer.write(new TextEncoder().encode(stdin));
      await writer.close();
    } catch (error) {
      // A wrapper may exit before reading its stdin (no deno to hand it to): that is the case
      // under test, not a failure; the caller checks what the wrapper did.
      if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
    }
  }
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** Runs a task of deno.json as `deno task` would: from the repo, with INIT_CWD the caller's dir. */
export function runTask(name: string, args: string[], env: Record<string, string>): Promise<Run> {
  const words = (TASKS[name].command as string).split(" ");
  assert.equal(words[0], "deno");
  return output(
    new Deno.Command("deno", {
      args: [...words.slice(1), ...args],
      cwd: REPO,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }),
  );
}

/** Runs a wrapper from `/` with `env -i PATH=/usr/bin:/bin`, as Claude Code's hooks would. */
export function runWrapper(path: string, stdin: string, args: string[] = []): Promise<Run> {
  return output(
    new Deno.Command("env", {
      args: ["-i", "PATH=/usr/bin:/bin", path, ...args],
      cwd: "/",
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }),
    stdin,
  );
}

/** Polls `probe` every 100 ms until it gives a value; throws after `ms`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/** A loopback port free at the time of the call. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}
