/**
 * A real Chroma server run by the bridge itself when no `CHROMA_URL` is set: a child `deno`
 * process (`chroma_child.ts`) serving the data directory on a loopback port. The parent waits
 * until the server answers, restarts it with backoff when it dies, and stops it on exit. The
 * child exits by itself when its stdin pipe closes, so even a SIGKILLed bridge leaves no orphan.
 *
 * Needs `--allow-run=deno` (spawns deno by name, as found on PATH) and `--allow-net=127.0.0.1`.
 *
 * @module
 */
import { fileURLToPath as fromFileUrl } from "node:url";
import { sleep } from "./_util.ts";

/** Options of {@linkcode startEmbeddedChroma}. */
export interface EmbeddedChromaOptions {
  /** Data directory (created by Chroma if absent), e.g. `./data/chroma`. */
  path: string;
  /** Loopback port; default a free one. The same port is kept across restarts. */
  port?: number;
  /** How long to wait for the first heartbeat; default 30 s. */
  startTimeoutMs?: number;
  /** Restart the server when it dies; default true. */
  restart?: boolean;
  /** First restart delay; doubles per failed start up to `maxBackoffMs`. Default 200 ms. */
  initialBackoffMs?: number;
  /** Longest restart delay; default 5 s. */
  maxBackoffMs?: number;
  /** Receives each line the server writes to stderr, and restart notices; default: dropped. */
  onLog?: (line: string) => void;
}

/** A running embedded Chroma server. */
export interface EmbeddedChroma {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  /** Process id of the current child, if one is running. */
  readonly pid: number | undefined;
  /** How many times the server was restarted after dying. */
  readonly restarts: number;
  /**
   * Sends the current child a signal: SIGKILL by default, as a crash would (tests of restarts
   * use it; SIGSTOP and SIGCONT make a hung server).
   */
  kill(signal?: Deno.Signal): void;
  /** Resolves once the server answers its heartbeat (after a restart, say). */
  ready(timeoutMs?: number): Promise<void>;
  /** Stops the server and waits for the child to exit; no restart follows. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const CHILD_SCRIPT = fromFileUrl(new URL("./chroma_child.ts", import.meta.url));
// createRequire() walks node_modules directories upward from the child script.
const READ_PATHS = [
  CHILD_SCRIPT,
  fromFileUrl(new URL("./node_modules", import.meta.url)),
  fromFileUrl(new URL("../node_modules", import.meta.url)),
];

/**
 * The child's deno arguments. The server itself is native code, which Deno's permissions do not
 * confine; the flags only cover loading the addon: FFI, and reading the script and node_modules.
 */
export function childArgs(path: string, port: number): string[] {
  return [
    "run",
    "--no-config",
    "--no-prompt",
    "--allow-ffi",
    `--allow-read=${READ_PATHS.join(",")}`,
    CHILD_SCRIPT,
    path,
    String(port),
  ];
}

/** A free loopback TCP port, as the OS hands one out. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** True when `GET <url>/api/v2/heartbeat` answers 200 within `timeoutMs`. */
export async function heartbeat(url: string, timeoutMs = 1_000): Promise<boolean> {
  try {
    const response = await fetch(`${url}/api/v2/heartbeat`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/** Keeps the last lines of a stream for error messages and hands each to `onLog`. */
async function drainLines(
  stream: ReadableStream<Uint8Array>,
  tail: string[],
  onLog: (line: string) => void,
): Promise<void> {
  let pending = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (pending + text).split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      if (line.trim() === "") continue;
      tail.push(line);
      if (tail.length > 20) tail.shift();
      onLog(line);
    }
  }
  if (pending.trim() !== "") {
    tail.push(pending);
    onLog(pending);
  }
}

interface RunningChild {
  process: Deno.ChildProcess;
  stdin: WritableStreamDefaultWriter<Uint8Array>;
  exited: Promise<Deno.CommandStatus>;
  drained: Promise<void>;
  tail: string[];
}

/**
 * Starts Chroma as a child process on a loopback port and resolves once it answers; throws an
 * `Error` saying why when it does not start within `startTimeoutMs`.
 */
export async function startEmbeddedChroma(options: EmbeddedChromaOptions): Promise<EmbeddedChroma> {
  const port = options.port ?? freePort();
  const url = `http://127.0.0.1:${port}`;
  const onLog = options.onLog ?? (() => {});
  const initialBackoff = options.initialBackoffMs ?? 200;
  const maxBackoff = options.maxBackoffMs ?? 5_000;
  const stopping = new AbortController();
  let current: RunningChild | undefined;
  let restarts = 0;
  let supervisor: Promise<void> = Promise.resolve();

  function spawn(): RunningChild {
    const process = new Deno.Command("deno", {
      args: childArgs(options.path, port),
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const tail: string[] = [];
    return {
      process,
      stdin: process.stdin.getWriter(),
      exited: process.status,
      drained: drainLines(process.stderr, tail, onLog).catch(() => {}),
      tail,
    };
  }

  async function reap(child: RunningChild): Promise<Deno.CommandStatus> {
    const status = await child.exited;
    await child.drained;
    await child.stdin.close().catch(() => {});
    return status;
  }

  /** Waits for the heartbeat, or for the child to die first (then says why). */
  async function waitReady(child: RunningChild, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    child.exited.then(() => exited = true);
    while (Date.now() < deadline && !stopping.signal.aborted) {
      if (await heartbeat(url, 500)) return;
      if (exited) {
        await child.drained;
        throw new Error(
          `Cannot start embedded Chroma on ${url}: the server exited (${
            child.tail.slice(-3).join(" | ") || "no output"
          })`,
        );
      }
      await sleep(50);
    }
    if (stopping.signal.aborted) throw new Error("Cannot start embedded Chroma: it was stopped");
    throw new Error(
      `Cannot start embedded Chroma on ${url}: no heartbeat within ${timeoutMs} ms (${
        child.tail.slice(-3).join(" | ") || "no output"
      })`,
    );
  }

  async function supervise(): Promise<void> {
    let backoff = initialBackoff;
    while (!stopping.signal.aborted && current !== undefined) {
      const child: RunningChild = current;
      const startedAt = Date.now();
      const status = await reap(child);
      if (stopping.signal.aborted || options.restart === false) {
        if (current === child) current = undefined;
        return;
      }
      // A server that ran a while died of something else than a failed start: start over fast.
      if (Date.now() - startedAt > 10_000) backoff = initialBackoff;
      onLog(`Embedded Chroma exited (code ${status.code}); restarting in ${backoff} ms`);
      await sleep(backoff, stopping.signal);
      backoff = Math.min(backoff * 2, maxBackoff);
      if (stopping.signal.aborted) {
        current = undefined;
        return;
      }
      restarts++;
      current = spawn();
    }
  }

  current = spawn();
  try {
    await waitReady(current, options.startTimeoutMs ?? 30_000);
  } catch (error) {
    const child = current;
    current = undefined;
    try {
      child.process.kill("SIGKILL");
    } catch { /* already gone */ }
    await reap(child);
    throw error;
  }
  supervisor = supervise();

  const handle: EmbeddedChroma = {
    url,
    port,
    get pid() {
      return current?.process.pid;
    },
    get restarts() {
      return restarts;
    },
    kill(signal: Deno.Signal = "SIGKILL") {
      try {
        current?.process.kill(signal);
      } catch { /* already gone */ }
    },
    async ready(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (stopping.signal.aborted) {
          throw new Error("Cannot reach embedded Chroma: it was stopped");
        }
        if (await heartbeat(url, 500)) return;
        await sleep(50);
      }
      throw new Error(
        `Cannot reach embedded Chroma on ${url}: no heartbeat within ${timeoutMs} ms`,
      );
    },
    async stop() {
      if (stopping.signal.aborted) return await supervisor;
      stopping.abort();
      const child = current;
      if (child !== undefined) {
        // Closing stdin is the child's cue to exit; SIGTERM covers a child that misses it.
        await child.stdin.close().catch(() => {});
        try {
          child.process.kill("SIGTERM");
        } catch { /* already gone */ }
        const timer = setTimeout(() => {
          try {
            child.process.kill("SIGKILL");
          } catch { /* already gone */ }
        }, 5_000);
        await reap(child);
        clearTimeout(timer);
      }
      await supervisor;
      current = undefined;
    },
    [Symbol.asyncDispose]() {
      return this.stop();
    },
  };
  return handle;
}
