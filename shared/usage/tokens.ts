/**
 * The token counts of one API response, as Claude Code's transcript records them in
 * `message.usage`, and the rule that makes counting exact: a response (`message.id`) counts
 * once, each field at its maximum over every line and every reading that carried it.
 *
 * Free of dependencies: hooks, the collector, the bridge and the CLI all import it.
 *
 * @module
 */

/** The four token fields that are billed, as the Messages API names them. */
export const TOKEN_FIELDS = [
  "input_tokens",
  "output_tokens",
  "cache_creation_input_tokens",
  "cache_read_input_tokens",
] as const;
/** One of {@linkcode TOKEN_FIELDS}. */
export type TokenField = typeof TOKEN_FIELDS[number];
/** Token counts by field. */
export type TokenCounts = Record<TokenField, number>;

/** The model Claude Code writes on messages it made up itself (an API error shown as a reply). */
export const SYNTHETIC_MODEL = "<synthetic>";

/** All four fields at zero. */
export function zeroTokens(): TokenCounts {
  return {
    input_tokens: 0,
    output_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  };
}

/** A count as the transcript wrote it, if it is one: a whole number, at least 0. */
export function tokenCount(value: unknown): number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

/** Raises each field of `into` to `other`'s where that is higher (the max-per-field rule). */
export function raiseTokens(into: TokenCounts, other: Readonly<TokenCounts>): TokenCounts {
  for (const field of TOKEN_FIELDS) {
    if (other[field] > into[field]) into[field] = other[field];
  }
  return into;
}

/** Adds each field of `other` to `into`. */
export function addTokens(into: TokenCounts, other: Readonly<TokenCounts>): TokenCounts {
  for (const field of TOKEN_FIELDS) into[field] += other[field];
  return into;
}

/** The sum of the four fields. */
export function totalTokens(counts: Readonly<TokenCounts>): number {
  return TOKEN_FIELDS.reduce((sum, field) => sum + counts[field], 0);
}
