/**
 * Prices a `GET /usage` answer on the client with another price table (`--prices` or
 * `ZO_PRICES_FILE` given to `deno task usage`): the answer is asked for grouped by the wanted
 * dimensions AND by model, each (group, model) is priced from its token sums, and the groups are
 * merged back. Exact for every model priced linearly; a model whose table entry has a
 * `long_prompt` tier cannot be priced from sums (which responses crossed the threshold is known
 * only per response, on the bridge), so its cost is left out and it is flagged, as an unknown
 * model is. For those, set `ZO_PRICES_FILE` on the bridge instead.
 *
 * @module
 */
import {
  summarize,
  type UsageGroup,
  type UsageReport,
  type UsageSummary,
} from "../../bridge/usage/report.ts";
import type { UsageDimension } from "../../bridge/usage/params.ts";
import { addCosts, type FieldCosts, responseCost, zeroCosts } from "../../bridge/usage/cost.ts";
import { priceOf, type Prices, priceTableInfo } from "../../bridge/usage/prices.ts";
import { addTokens, zeroTokens } from "../../shared/usage/tokens.ts";

class Merge {
  tokens = zeroTokens();
  messages = 0;
  priced = 0;
  costs: FieldCosts = zeroCosts();
  unknown = new Set<string>();
  models = new Set<string>();
  first: string | null = null;
  last: string | null = null;

  add(group: UsageGroup, prices: Prices): void {
    const model = group.key.model ?? "";
    addTokens(this.tokens, group);
    this.messages += group.messages;
    this.models.add(model);
    if (group.first_ts !== null && (this.first === null || group.first_ts < this.first)) {
      this.first = group.first_ts;
    }
    if (group.last_ts !== null && (this.last === null || group.last_ts > this.last)) {
      this.last = group.last_ts;
    }
    const price = priceOf(prices, model);
    if (price === undefined || price.long_prompt !== undefined) {
      this.unknown.add(model);
      return;
    }
    addCosts(this.costs, responseCost(group, price));
    this.priced += group.messages;
  }

  summary(): UsageSummary {
    return summarize(this, this.first, this.last);
  }
}

/**
 * `byModel` (an answer grouped by `dimensions` plus `model`) regrouped by `dimensions` and priced
 * with `prices`. Throws `RangeError` when `byModel` was cut short (`truncated`).
 */
export function repriceReport(
  byModel: UsageReport,
  { dimensions, prices, limit }: {
    dimensions: readonly UsageDimension[];
    prices: Prices;
    limit: number;
  },
): UsageReport {
  if (byModel.truncated) {
    throw new RangeError(
      "Cannot price on the client: the answer has too many groups; narrow it (--since, --project)",
    );
  }
  const totals = new Merge();
  const groups = new Map<string, { key: Record<string, string | null>; merge: Merge }>();
  for (const group of byModel.groups) {
    totals.add(group, prices);
    const key = Object.fromEntries(dimensions.map((d) => [d, group.key[d] ?? null]));
    const id = JSON.stringify(dimensions.map((d) => key[d]));
    let entry = groups.get(id);
    if (entry === undefined) groups.set(id, entry = { key, merge: new Merge() });
    entry.merge.add(group, prices);
  }
  // The answer came sorted by the dimensions first, so insertion order is the sorted order.
  const all = [...groups.values()];
  const summary = totals.summary();
  return {
    ...byModel,
    group_by: [...dimensions],
    prices: priceTableInfo(prices),
    totals: summary,
    groups: all.slice(0, limit).map(({ key, merge }) => ({ key, ...merge.summary() })),
    truncated: all.length > limit,
    unknown_models: summary.unknown_models,
  };
}
