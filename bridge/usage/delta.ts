/**
 * How much a batch of usage records raises each API response's counts over what was stored
 * before: the agent_state usage deltas. A response adds its maximum once, however often it is
 * read, so a reading adds only what it raises the maximum by; Claude Code's own reports
 * (`source: "claude_code"`) are stored but add nothing. Pure: no store involved.
 *
 * @module
 */
import {
  raiseTokens,
  TOKEN_FIELDS,
  type TokenCounts,
  zeroTokens,
} from "../../shared/usage/tokens.ts";
import { type StateUsage, zeroUsage } from "../agent_state.ts";
import type { UsageRecord } from "./records.ts";

/** What {@linkcode usageDeltas} finds. */
export interface UsageDeltas {
  /** The batch's records not stored yet (each once), to be added. */
  added: UsageRecord[];
  /** By event id of a fresh usage event: how much it raised its response (only when > 0). */
  raised: Map<string, StateUsage>;
}

/**
 * The deltas of `batch` (the usage records of a write's events, in order) over `stored` (every
 * stored reading of the same responses); only events in `freshIds` (stored for the first time)
 * get a delta, so a redelivery never counts twice.
 */
export function usageDeltas(
  batch: readonly UsageRecord[],
  options: { stored: readonly UsageRecord[]; freshIds: ReadonlySet<string> },
): UsageDeltas {
  const known = new Set(options.stored.map((r) => r.id));
  const maxima = new Map<string, TokenCounts>();
  for (const record of options.stored) {
    maxima.set(
      record.message_key,
      raiseTokens(maxima.get(record.message_key) ?? zeroTokens(), record),
    );
  }
  const added: UsageRecord[] = [];
  const raised = new Map<string, StateUsage>();
  for (const record of batch) {
    if (record.source === "claude_code") {
      // Claude Code's own report of a request: stored for /usage, never counted into the
      // agent_state totals (the transcript's reading of the same response is counted there).
      if (!known.has(record.id)) {
        known.add(record.id);
        added.push(record);
      }
      continue;
    }
    const before = maxima.get(record.message_key);
    const after = raiseTokens({ ...(before ?? zeroTokens()) }, record);
    maxima.set(record.message_key, after);
    if (!known.has(record.id)) {
      known.add(record.id);
      added.push(record);
    }
    if (!options.freshIds.has(record.event_id)) continue;
    const delta = zeroUsage();
    delta.messages = before === undefined ? 1 : 0;
    for (const field of TOKEN_FIELDS) delta[field] = after[field] - (before?.[field] ?? 0);
    if (delta.messages > 0 || TOKEN_FIELDS.some((field) => delta[field] > 0)) {
      raised.set(record.event_id, delta);
    }
  }
  return { added, raised };
}
