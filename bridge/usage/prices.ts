/**
 * The price table: USD per million tokens for each model (input, output, cache write, cache
 * read), versioned, committed as `prices.json` next to this module and replaceable by a file of
 * the same shape (`ZO_PRICES_FILE`, on the bridge and for `deno task usage`). A model is priced
 * when its id is a key of `models` or one of a key's `aliases`, exactly: a model the table does
 * not name is unknown, and its cost is never guessed from a similar name.
 *
 * @module
 */
import { z } from "zod";
import builtin from "./prices.json" with { type: "json" };

const rate = z.number().finite().nonnegative();

const Rates = {
  input: rate.describe("Input tokens, USD per million."),
  output: rate.describe("Output tokens, USD per million."),
  cache_write: rate.describe("Cache creation (5-minute write) tokens, USD per million."),
  cache_read: rate.describe("Cache read (hit) tokens, USD per million."),
};

/** The rates of one model, and optionally of its long prompts. */
export const ModelPrice = z.strictObject({
  ...Rates,
  aliases: z.array(z.string().min(1).max(256)).optional(),
  long_prompt: z.strictObject({
    above_tokens: z.int().positive(),
    ...Rates,
  }).optional(),
  note: z.string().optional(),
});
/** The rates of one model. */
export type ModelPrice = z.infer<typeof ModelPrice>;

/** A price table file. */
export const PriceTable = z.strictObject({
  version: z.string().min(1).max(64),
  effective: z.iso.date(),
  currency: z.literal("USD"),
  unit: z.literal("per million tokens"),
  source: z.string().optional(),
  notes: z.array(z.string()).optional(),
  models: z.record(z.string().min(1).max(256), ModelPrice),
});
/** A price table file. */
export type PriceTable = z.infer<typeof PriceTable>;

/** A checked table, with the lookup from every id and alias to its model. */
export interface Prices {
  table: PriceTable;
  /** `builtin`: `bridge/usage/prices.json`; `file`: a file named by `ZO_PRICES_FILE`. */
  source: "builtin" | "file";
  /** The model (key of `models`) of each id and alias. */
  index: ReadonlyMap<string, string>;
}

/**
 * A checked {@linkcode Prices} from a parsed table: throws `TypeError` naming what is wrong
 * (the shape, or an alias used twice). `origin` names the file in the message.
 */
export function pricesFrom(
  value: unknown,
  { source, origin }: { source: Prices["source"]; origin: string },
): Prices {
  const parsed = PriceTable.safeParse(value);
  if (!parsed.success) {
    throw new TypeError(`Cannot use price table ${origin}: ${z.prettifyError(parsed.error)}`);
  }
  const table = parsed.data;
  const index = new Map<string, string>();
  for (const [model, price] of Object.entries(table.models)) {
    for (const id of [model, ...(price.aliases ?? [])]) {
      const other = index.get(id);
      if (other !== undefined) {
        throw new TypeError(
          `Cannot use price table ${origin}: "${id}" names both ${other} and ${model}`,
        );
      }
      index.set(id, model);
    }
  }
  return { table, source, index };
}

/** The committed table, `bridge/usage/prices.json`. */
export function builtinPrices(): Prices {
  return pricesFrom(builtin, { source: "builtin", origin: "bridge/usage/prices.json" });
}

/** A table from the text of a file (`ZO_PRICES_FILE`); throws `TypeError` saying what is wrong. */
export function parsePrices(text: string, origin: string): Prices {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TypeError(`Cannot use price table ${origin}: not JSON (${(error as Error).message})`);
  }
  return pricesFrom(value, { source: "file", origin });
}

/** The price of `model`, matched exactly by id or alias; undefined when the table lacks it. */
export function priceOf(prices: Prices, model: string): ModelPrice | undefined {
  const key = prices.index.get(model);
  return key === undefined ? undefined : prices.table.models[key];
}

/** What an answer says about the table it priced with. */
export function priceTableInfo(prices: Prices): {
  version: string;
  effective: string;
  source: Prices["source"];
  currency: "USD";
  unit: "per million tokens";
} {
  return {
    version: prices.table.version,
    effective: prices.table.effective,
    source: prices.source,
    currency: prices.table.currency,
    unit: prices.table.unit,
  };
}
