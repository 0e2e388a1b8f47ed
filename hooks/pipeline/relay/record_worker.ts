/**
 * A worker of the relay's http-hook endpoint: builds and spools the envelopes of large bodies off
 * the relay's event loop, so that one payload slow to redact never delays the other hooks' posts
 * or the shipping. Started by `record_pool.ts` with the relay's permissions; it builds its own
 * hook pipeline from the settings it is sent.
 *
 * @module
 */
import { createHookPipeline, type HookHint, type HookPipeline } from "../hook_pipeline.ts";
import type { VmConfig } from "../vm_config.ts";

/** A {@linkcode VmConfig} as a worker can be sent it: a URL does not survive structured cloning. */
export type SentConfig = Omit<VmConfig, "endpoint"> & { endpoint: string | undefined };

/** What the pool sends a worker. */
export type ToWorker =
  | { type: "init"; config: SentConfig; host: string }
  | { type: "record"; id: number; bytes: Uint8Array; hint: HookHint; budgetMs: number };

/** What a worker sends back: a record is done (its line spooled or its failure logged), or a log line. */
export type FromWorker =
  | { type: "ready" }
  | { type: "done"; id: number }
  | { type: "log"; line: string };

/** The part of a worker's global scope used here (the default lib types `self` as a window). */
interface WorkerScope {
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
}

const scope = globalThis as unknown as WorkerScope;
let pipeline: Promise<HookPipeline> | undefined;

scope.onmessage = async (event) => {
  const message = event.data;
  if (message.type === "init") {
    const { endpoint, ...rest } = message.config;
    const config: VmConfig = {
      ...rest,
      endpoint: endpoint === undefined ? undefined : new URL(endpoint),
    };
    pipeline = createHookPipeline(config, {
      host: message.host,
      onError: (line) => scope.postMessage({ type: "log", line }),
    });
    await pipeline;
    scope.postMessage({ type: "ready" });
    return;
  }
  try {
    const built = await pipeline!;
    // The deadline on this worker's clock: performance.now() counts from each worker's start.
    await built.record(message.bytes, message.hint, {
      deadline: performance.now() + message.budgetMs,
    });
  } catch (error) {
    scope.postMessage({ type: "log", line: `Cannot record an http hook event: ${String(error)}` });
  }
  scope.postMessage({ type: "done", id: message.id });
};
