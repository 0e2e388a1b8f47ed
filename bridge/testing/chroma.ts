/**
 * A real, throwaway Chroma server for integration tests: the project's own embedded Chroma
 * (`bridge/embedded_chroma.ts`) on a fresh temp directory and a free loopback port.
 *
 * Tests using it need `--allow-run=deno --allow-net=127.0.0.1 --allow-write --allow-read`
 * (write and read for the temp directory; `--allow-env` is not needed).
 *
 * ```ts
 * await using chroma = await startTestChroma();
 * const store = new ChromaStore({ url: chroma.url });
 * ```
 *
 * @module
 */
import { ChromaClient } from "chromadb";
import { type EmbeddedChroma, startEmbeddedChroma } from "../embedded_chroma.ts";

/** A running test Chroma; `stop()` (or `await using`) ends it and deletes its data. */
export interface TestChroma {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** A chromadb client on it (default tenant and database). */
  readonly client: ChromaClient;
  /** Its data directory. */
  readonly path: string;
  /** The server process, to kill it (`server.kill()`) and wait for its restart (`server.ready()`). */
  readonly server: EmbeddedChroma;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@linkcode startTestChroma}. */
export interface TestChromaOptions {
  /** Restart the server when it dies (default true), as the bridge does. */
  restart?: boolean;
  /** Delay before a restart (default 50 ms); a long one keeps Chroma down for a while. */
  restartDelayMs?: number;
}

/** Starts a real Chroma on a temp directory and a free port; resolves once it answers. */
export async function startTestChroma(options: TestChromaOptions = {}): Promise<TestChroma> {
  const path = await Deno.makeTempDir({ prefix: "zo-chroma-test-" });
  let server: EmbeddedChroma;
  try {
    server = await startEmbeddedChroma({
      path,
      restart: options.restart ?? true,
      initialBackoffMs: options.restartDelayMs ?? 50,
      maxBackoffMs: Math.max(500, options.restartDelayMs ?? 0),
    });
  } catch (error) {
    await Deno.remove(path, { recursive: true }).catch(() => {});
    throw error;
  }
  const url = new URL(server.url);
  const client = new ChromaClient({
    host: url.hostname,
    port: Number(url.port),
    ssl: false,
    tenant: "default_tenant",
    database: "default_database",
  });
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      await server.stop();
      await Deno.remove(path, { recursive: true }).catch(() => {});
    })();
  return { url: server.url, client, path, server, stop, [Symbol.asyncDispose]: stop };
}
