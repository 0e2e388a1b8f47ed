/**
 * Fleet totals of Claude Code's own telemetry on `/metrics`: API requests, their cost, tokens and
 * duration, and tool results, counted as the `telemetry` events holding them are stored (a
 * duplicate, refused by event id or hash, is not counted again). Labels are bounded: the model
 * (at most {@linkcode MAX_MODELS} distinct names per process, others as `other`), the token type
 * and the tool result's outcome, never a session, tool or user.
 *
 * Exact per-session numbers are `GET /usage`'s; these are for dashboards and alerts, and count a
 * request again when Claude Code exports it again under new event ids.
 *
 * @module
 */
import client from "prom-client";
import type { Event } from "../shared/schema.ts";

/** Distinct model labels per process; later models count under `other`. */
export const MAX_MODELS = 32;

const TOKEN_TYPES = {
  input_tokens: "input",
  output_tokens: "output",
  cache_read_tokens: "cache_read",
  cache_creation_tokens: "cache_creation",
} as const;

/** Counts what stored telemetry events report. */
export type ClaudeCodeMetrics = (events: readonly Event[]) => void;

function number(value: unknown): number | undefined {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof n === "number" && Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** Registers the metrics in `registry`; returns what counts stored events into them. */
export function createClaudeCodeMetrics(registry: client.Registry): ClaudeCodeMetrics {
  const requests = new client.Counter({
    name: "zo_claude_code_api_requests_total",
    help: "API requests Claude Code reported (claude_code.api_request), by model.",
    labelNames: ["model"] as const,
    registers: [registry],
  });
  const cost = new client.Counter({
    name: "zo_claude_code_cost_usd_total",
    help: "Cost Claude Code reported for its API requests, in USD, by model.",
    labelNames: ["model"] as const,
    registers: [registry],
  });
  const tokens = new client.Counter({
    name: "zo_claude_code_tokens_total",
    help: "Tokens of the API requests Claude Code reported, by model and type.",
    labelNames: ["model", "type"] as const,
    registers: [registry],
  });
  const duration = new client.Histogram({
    name: "zo_claude_code_api_request_duration_seconds",
    help: "Duration of the API requests Claude Code reported, by model.",
    labelNames: ["model"] as const,
    buckets: [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120],
    registers: [registry],
  });
  const tools = new client.Counter({
    name: "zo_claude_code_tool_results_total",
    help: "Tool results Claude Code reported (claude_code.tool_result), by outcome.",
    labelNames: ["success"] as const,
    registers: [registry],
  });
  const models = new Set<string>();
  const modelLabel = (value: unknown): string => {
    if (typeof value !== "string" || !/^[\w.:@\-]{1,64}$/.test(value)) return "other";
    if (models.has(value)) return value;
    if (models.size >= MAX_MODELS) return "other";
    models.add(value);
    return value;
  };

  return (events) => {
    for (const event of events) {
      if (event.event_type !== "telemetry" || event.data === undefined) continue;
      const data = event.data as Record<string, unknown>;
      const a = data.attributes as Record<string, unknown> | undefined;
      if (data.signal !== "log" || a === null || typeof a !== "object") continue;
      if (data.name === "claude_code.api_request") {
        const model = modelLabel(a.model);
        requests.inc({ model });
        const usd = number(a.cost_usd);
        if (usd !== undefined) cost.inc({ model }, usd);
        for (const [field, type] of Object.entries(TOKEN_TYPES)) {
          const count = number(a[field]);
          if (count !== undefined && count > 0) tokens.inc({ model, type }, count);
        }
        const ms = number(a.duration_ms);
        if (ms !== undefined) duration.observe({ model }, ms / 1000);
      } else if (data.name === "claude_code.tool_result") {
        tools.inc({ success: String(a.success) === "true" ? "true" : "false" });
      }
    }
  };
}
