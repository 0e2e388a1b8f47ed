/**
 * A `GET /live` stream read in the background, for tests: every message it carries, and a way
 * to wait (bounded) until they hold what a test expects.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createSseParser, type SseMessage } from "../dashboard/static/sse.js";

/** An open `GET /live` stream and every message it has carried so far. */
export interface LiveFollower {
  readonly messages: SseMessage[];
  /** Event ids of the envelopes received, in order. */
  ids(): string[];
  /** Resolves once `done()` holds (checked on every message); fails after the timeout. */
  until(done: () => boolean, what: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens `GET /live` at `base` (with `search`, e.g. `?session_id=...`) with `key`, and resolves
 * once its `ready` message arrived. `timeoutMs` bounds every {@linkcode LiveFollower.until}
 * (default 30 s: generous on a loaded machine).
 */
export async function followLive(
  base: string,
  key: string,
  options: { search?: string; timeoutMs?: number } = {},
): Promise<LiveFollower> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const response = await fetch(`${base}/live${options.search ?? ""}`, {
    headers: { authorization: `Bearer ${key}` },
  });
  assert.equal(response.status, 200, await (response.ok ? "" : response.text()));
  const messages: SseMessage[] = [];
  let wake = Promise.withResolvers<void>();
  const parser = createSseParser((message) => {
    messages.push(message);
    wake.resolve();
    wake = Promise.withResolvers<void>();
  });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const reading = (async () => {
    try {
      for (let r = await reader.read(); !r.done; r = await reader.read()) parser.push(r.value);
    } catch { /* cancelled */ }
    wake.resolve();
  })();
  const until = async (done: () => boolean, what: string) => {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out waiting for ${what}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([wake.promise, new Promise((r) => timer = setTimeout(r, left))]);
      clearTimeout(timer);
    }
  };
  const follower: LiveFollower = {
    messages,
    ids: () => messages.filter((m) => m.event === "envelope").map((m) => m.id!),
    until,
    async close() {
      await reader.cancel().catch(() => {});
      await reading;
    },
  };
  await until(() => messages.some((m) => m.event === "ready"), "the ready message");
  return follower;
}
