// @ts-check
/**
 * The shapes of the bridge's answers that the views read, apart from the client (`api.js`,
 * which needs the DOM) so that the pure models and their Deno tests can name them too.
 *
 * @module
 */

/**
 * An envelope as `GET /query` and `GET /live` send it: the fields the views read (the schema in
 * `shared/schema.ts` has them all).
 * @typedef {import("./state_fold.js").LiveEvent & import("./timeline_model.js").TimelineEvent}
 *   Envelope
 */

/**
 * One page of `GET /query`: envelopes, or `agent_state` records with `collection=agent_state`.
 * @typedef {{ results: unknown[], next_cursor: string | null }} QueryPage
 */

/**
 * `GET /query`'s pages read to the end (or to a limit): `complete` false when more were left.
 * @typedef {{ results: unknown[], complete: boolean }} QueryResults
 */

/**
 * What Claude Code itself reported for its API requests (`ReportedUsage` in
 * `bridge/usage/report.ts`).
 * @typedef {{ requests: number, total_tokens: number, cost_usd: number }} ReportedUsage
 */

/**
 * Tokens and cost of a set of API responses (`UsageSummary` in `bridge/usage/report.ts`).
 * @typedef {{
 *   messages: number, input_tokens: number, output_tokens: number,
 *   cache_creation_input_tokens: number, cache_read_input_tokens: number, total_tokens: number,
 *   cost_usd: number | null, cost_complete: boolean,
 *   claude_code?: ReportedUsage | null, cost_difference_usd?: number | null
 * }} UsageSummary
 */

/**
 * The answer of `GET /usage` (`UsageReport` in `bridge/usage/report.ts`).
 * @typedef {{
 *   totals: UsageSummary,
 *   groups: (UsageSummary & { key: Record<string, string | null> })[],
 *   truncated: boolean, unknown_models: string[],
 *   prices: { version?: string, source?: string, currency?: string }
 * }} UsageAnswer
 */

export {};
