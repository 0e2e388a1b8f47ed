/**
 * Small helpers the bridge writes once: error text, an abortable sleep, the check of a whole-number
 * option, the forms in which `text=` matches a stored JSON document, and the UTF-8 size of a text.
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

/**
 * The bytes of `text` in UTF-8, as `TextEncoder` would write it (a lone surrogate as U+FFFD),
 * without making the copy: query pages measure every record they hold.
 */
export function utf8Bytes(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) {
      bytes += 1;
      continue;
    }
    const next = text.charCodeAt(i + 1);
    if (unit >= 0xd800 && unit < 0xdc00 && next >= 0xdc00 && next < 0xe000) {
      // A pair: two units, four bytes.
      bytes += 2;
      i++;
      continue;
    }
    bytes += 2;
  }
  return bytes;
}
