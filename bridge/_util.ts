/**
 * Small helpers the bridge writes once: error text, an abortable sleep, the check of a whole-number
 * option, and the forms in which `text=` matches a stored JSON document.
 *
 * @module
 */

/** The message of a thrown value, whatever was thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
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

/**
 * `value`, when it is a whole number of at least `min`; else a `RangeError` naming the option
 * (factories check their options once, at creation).
 */
export function wholeNumberOption(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`Cannot use ${name}=${value}: it must be a whole number, at least ${min}`);
  }
  return value;
}

/**
 * The substrings a serialised event must contain one of to match `text=`: the text as given (so
 * JSON fragments like `"tool_name":"Bash"` work) and, when they differ, the text as it appears
 * inside a JSON string (where a quote is written `\"`). The store and the live filter both use it.
 */
export function textForms(text: string): string[] {
  const escaped = JSON.stringify(text).slice(1, -1);
  return escaped === text ? [text] : [text, escaped];
}
