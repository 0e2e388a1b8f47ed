/**
 * Small helpers the VM side writes once: error text, identifier and whole-number checks, an
 * abortable sleep, and a forgiving environment read. Zod-free and cheap to load: every hook
 * imports it. (The redactor a VM process builds from its configuration is `redactorFor` in
 * `hook_context.ts`.)
 *
 * @module
 */
import { LIMITS } from "../../shared/contract.ts";

/** The message of a thrown value, whatever was thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `value` if it can be an identifier (`session_id`, `agent_id`, ...): non-empty, within the limit. */
export function identifier(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 && value.length <= LIMITS.idChars
    ? value
    : undefined;
}

/** True for a whole number, at least 0 (an offset, a count), as stored in JSON. */
export function isWholeNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Resolves after `ms`, or early (without throwing) when `signal` aborts, so a stopping relay
 * does not sit out a long backoff.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** An environment variable, or `undefined` when it is unset, empty, or not permitted. */
export function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}
