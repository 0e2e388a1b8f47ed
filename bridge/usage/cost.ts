/**
 * The cost of one API response from its token counts and its model's price: each field at its
 * rate, all at the long-prompt rates when the prompt (input, cache write and cache read tokens)
 * is above the model's threshold. Costs are computed per response, then summed, so a long-prompt
 * surcharge applies exactly to the responses that paid it.
 *
 * @module
 */
import type { ModelPrice } from "./prices.ts";
import type { TokenCounts } from "../../shared/usage/tokens.ts";

/** Cost in USD by token field. */
export interface FieldCosts {
  input: number;
  output: number;
  cache_creation: number;
  cache_read: number;
}

/** All four costs at 0. */
export function zeroCosts(): FieldCosts {
  return { input: 0, output: 0, cache_creation: 0, cache_read: 0 };
}

/** The cost of one response with counts `tokens` at `price`. */
export function responseCost(tokens: Readonly<TokenCounts>, price: ModelPrice): FieldCosts {
  const prompt = tokens.input_tokens + tokens.cache_creation_input_tokens +
    tokens.cache_read_input_tokens;
  const rates = price.long_prompt !== undefined && prompt > price.long_prompt.above_tokens
    ? price.long_prompt
    : price;
  return {
    input: tokens.input_tokens * rates.input / 1e6,
    output: tokens.output_tokens * rates.output / 1e6,
    cache_creation: tokens.cache_creation_input_tokens * rates.cache_write / 1e6,
    cache_read: tokens.cache_read_input_tokens * rates.cache_read / 1e6,
  };
}

/** Adds `other` to `into`, field by field. */
export function addCosts(into: FieldCosts, other: Readonly<FieldCosts>): FieldCosts {
  into.input += other.input;
  into.output += other.output;
  into.cache_creation += other.cache_creation;
  into.cache_read += other.cache_read;
  return into;
}

/** Rounds a USD amount to a millionth of a dollar, as answers show it. */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}
