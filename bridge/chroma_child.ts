/**
 * The embedded Chroma server's process, started by `embedded_chroma.ts`; not meant to be run by
 * hand. The npm bindings' `cli()` runs the Rust server and blocks its JS thread for good, so it
 * runs in a Worker while the main thread watches stdin: when stdin reaches end of file (the
 * parent exited, even by SIGKILL, and the kernel closed the pipe) or on SIGTERM/SIGINT, this
 * process exits and takes the server with it. No orphan is left behind.
 *
 * Run (by `embedded_chroma.ts`, with stdin a pipe; the server is native code, which Deno's
 * permissions do not confine, so the flags only cover loading the addon):
 *
 * ```sh
 * deno run --no-config --allow-ffi \
 *   --allow-read=bridge/chroma_child.ts,bridge/node_modules,node_modules \
 *   bridge/chroma_child.ts <data dir> <port>
 * ```
 *
 * @module
 */
import { createRequire } from "node:module";

/** What the worker tells the main thread when `cli()` returns or throws. */
type WorkerMessage = { kind: "exited"; error?: string };

interface ChromaBindings {
  cli(argv: string[]): void;
}

/** Runs Chroma in this thread; only ever called inside the Worker. */
function runServer(path: string, port: string): void {
  const require = createRequire(import.meta.url);
  const bindings = require("chromadb-js-bindings-linux-x64-gnu") as ChromaBindings;
  bindings.cli(["chroma", "run", "--path", path, "--port", port, "--host", "127.0.0.1"]);
}

async function main(): Promise<void> {
  const [path, port] = Deno.args;
  if (path === undefined || !/^\d{1,5}$/.test(port ?? "")) {
    // deno-lint-ignore no-console -- stderr is how this process reports to its parent
    console.error("Cannot start Chroma: usage is chroma_child.ts <data dir> <port>");
    Deno.exit(2);
  }
  const worker = new Worker(import.meta.url, { type: "module", name: "chroma" });
  worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
    // The server never returns while healthy: a return means it failed (port taken, bad dir).
    // deno-lint-ignore no-console -- stderr is how this process reports to its parent
    console.error(`Chroma server stopped${event.data.error ? `: ${event.data.error}` : ""}`);
    Deno.exit(1);
  };
  worker.onerror = (event) => {
    // deno-lint-ignore no-console -- stderr is how this process reports to its parent
    console.error(`Chroma server failed: ${event.message}`);
    Deno.exit(1);
  };
  worker.postMessage({ path, port });
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => Deno.exit(0));
  }
  // End of file on stdin means the parent is gone: nothing else may keep the server alive.
  const buffer = new Uint8Array(256);
  while ((await Deno.stdin.read(buffer)) !== null) {
    // The parent writes nothing; anything it does is ignored.
  }
  Deno.exit(0);
}

/** The Worker's global scope, typed by hand: the default lib describes the main thread only. */
interface WorkerScope {
  onmessage: ((event: MessageEvent<{ path: string; port: string }>) => void) | null;
  postMessage(message: WorkerMessage): void;
}

if ("WorkerGlobalScope" in globalThis) {
  const scope = globalThis as unknown as WorkerScope;
  scope.onmessage = (event) => {
    let message: WorkerMessage = { kind: "exited" };
    try {
      runServer(event.data.path, event.data.port);
    } catch (error) {
      // Not errorMessage() of _util.ts: this process may read only this file (see above).
      message = { kind: "exited", error: error instanceof Error ? error.message : String(error) };
    }
    scope.postMessage(message);
  };
} else if (import.meta.main) {
  await main();
}
