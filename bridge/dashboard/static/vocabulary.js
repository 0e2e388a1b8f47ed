// @ts-check
/**
 * The contract's value sets, for the dashboard's selects and badges. The browser cannot import
 * the TypeScript sources, so they are repeated here; `vocabulary_test.ts` fails when they drift
 * from `shared/contract.ts` and `bridge/agent_state.ts`.
 *
 * @module
 */

/** Every `event_type` of the contract. */
export const EVENT_TYPES = Object.freeze([
  "session_start",
  "session_end",
  "worker_spawn",
  "worker_heartbeat",
  "progress",
  "artifact",
  "error",
  "tool_invocation",
  "decision",
  "done",
  "prompt",
  "message",
  "notification",
  "permission",
  "subagent",
  "task",
  "compaction",
  "config",
  "workspace",
  "elicitation",
  "usage",
  "telemetry",
  "other",
]);

/** Severities. */
export const LEVELS = Object.freeze(["debug", "info", "warn", "error"]);

/** Statuses of an `agent_state` record. */
export const AGENT_STATUSES = Object.freeze(["active", "idle", "ended", "error"]);

/** Scopes of an `agent_state` record. */
export const STATE_SCOPES = Object.freeze(["project", "worker", "run", "session"]);
