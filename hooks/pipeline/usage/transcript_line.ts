/**
 * One line of a Claude Code transcript (JSONL under `~/.claude/projects/`) as far as usage goes:
 * an assistant line carries `message.id`, `message.model` and `message.usage`; nothing else of
 * the line (text, tool input, tool output) is kept. Several lines of one API response share its
 * `message.id` and are folded into one {@linkcode MessageUsage} with the max-per-field rule.
 *
 * @module
 */
import {
  raiseTokens,
  SYNTHETIC_MODEL,
  TOKEN_FIELDS,
  tokenCount,
  type TokenCounts,
} from "../../../shared/usage/tokens.ts";
import { identifier } from "../_util.ts";

/** The usage of one API response as read from a transcript (one or more lines). */
export interface MessageUsage extends TokenCounts {
  /** `message.id`: the API response. */
  message_id: string;
  /** `message.model`: the API model id. */
  model: string;
  /** The earliest `timestamp` of its lines, in Unix ms; undefined when none had one. */
  ts_ms?: number;
  /** `requestId` of the line, when given. */
  request_id?: string;
  /** `sessionId` of the line: the session that produced it (a resumed one may hold older ones). */
  session_id?: string;
  /** `agentId` of the line: the subagent that produced it, when it says. */
  agent_id?: string;
}

// Every assistant line names its type at top level; lines without it (prompts, tool results,
// summaries: most of the bytes) are never parsed.
const ASSISTANT = /"type"\s*:\s*"assistant"/;

/**
 * The usage a transcript line reports, or undefined for any line that reports none: not an
 * assistant message, no `message.id` or `message.model`, no `message.usage`, the
 * `<synthetic>` model (not billed), or not JSON at all.
 */
export function usageOfLine(line: string): MessageUsage | undefined {
  if (!line.includes('"usage"') || !ASSISTANT.test(line)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== "object") return undefined;
  const record = parsed as Record<string, unknown>;
  if (record.type !== "assistant") return undefined;
  const message = record.message as Record<string, unknown> | null | undefined;
  if (message === null || typeof message !== "object") return undefined;
  const id = identifier(message.id);
  const model = identifier(message.model);
  const usage = message.usage as Record<string, unknown> | null | undefined;
  if (!id || !model || model === SYNTHETIC_MODEL || usage === null || typeof usage !== "object") {
    return undefined;
  }
  const result: MessageUsage = { message_id: id, model } as MessageUsage;
  for (const field of TOKEN_FIELDS) result[field] = tokenCount(usage[field]);
  const ts = typeof record.timestamp === "string" ? Date.parse(record.timestamp) : NaN;
  if (Number.isFinite(ts) && ts >= 0) result.ts_ms = ts;
  const requestId = identifier(record.requestId);
  if (requestId) result.request_id = requestId;
  const sessionId = identifier(record.sessionId);
  if (sessionId) result.session_id = sessionId;
  const agentId = identifier(record.agentId);
  if (agentId) result.agent_id = agentId;
  return result;
}

/**
 * Folds one line's usage into `messages` (by message id): each token field takes the maximum,
 * the time the earliest; the other fields stay as the first line gave them.
 */
export function foldUsage(messages: Map<string, MessageUsage>, item: MessageUsage): void {
  const known = messages.get(item.message_id);
  if (known === undefined) {
    messages.set(item.message_id, { ...item });
    return;
  }
  raiseTokens(known, item);
  if (item.ts_ms !== undefined && (known.ts_ms === undefined || item.ts_ms < known.ts_ms)) {
    known.ts_ms = item.ts_ms;
  }
  known.request_id ??= item.request_id;
  known.session_id ??= item.session_id;
  known.agent_id ??= item.agent_id;
}
