/**
 * Well-formed Unicode in events: the bridge refuses a string holding a lone surrogate (Chroma
 * cannot store one, and JSON carries one as an escape like `"\ud800"`), and the VM repairs such
 * strings to U+FFFD before they are spooled or shipped, so no VM ever produces a poison line.
 * Zod-free: hooks and the relay import it.
 *
 * @module
 */

/**
 * Where `value` holds a string (a key or a value, at any depth) that is not well-formed Unicode,
 * as a path; undefined when every string is well formed. Iterative, so no nesting depth can
 * overflow the stack.
 */
export function illFormedStringPath(value: unknown): (string | number)[] | undefined {
  const stack: [unknown, (string | number)[]][] = [[value, []]];
  while (stack.length > 0) {
    const [current, path] = stack.pop()!;
    if (typeof current === "string") {
      if (!current.isWellFormed()) return path;
      continue;
    }
    if (current === null || typeof current !== "object") continue;
    if (Array.isArray(current)) {
      current.forEach((item, index) => stack.push([item, [...path, index]]));
      continue;
    }
    for (const [key, item] of Object.entries(current)) {
      if (!key.isWellFormed()) return [...path, key];
      stack.push([item, [...path, key]]);
    }
  }
  return undefined;
}

/**
 * `value` with every lone surrogate in its strings and keys replaced by U+FFFD
 * (`String.prototype.toWellFormed`). Returns `value` itself when nothing needs repair, so the
 * common case costs one scan and no copy.
 */
export function repairStrings<T>(value: T): T {
  return illFormedStringPath(value) === undefined ? value : repaired(value) as T;
}

function repaired(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return value.toWellFormed();
  if (value === null || typeof value !== "object") return value;
  // Envelopes nest at most 128 levels (the bridge refuses deeper), far from the stack's limit.
  if (Array.isArray(value)) return value.map((item) => repaired(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key.toWellFormed()] = repaired(item, depth + 1);
  }
  return out;
}
