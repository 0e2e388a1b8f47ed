/**
 * The bridge's Prometheus metrics, in a registry of its own (so tests and several apps in one
 * process never share counters). Label values come from bounded sets only: routes as matched,
 * event types from the contract's enum, rejection reasons from {@linkcode REJECT_REASONS} (a subset of the contract's
 * `REJECTIONS`). Names carry the `zo_` namespace and their unit (`_seconds`, `_events`, `_total`).
 *
 * Process metrics come from prom-client's `collectDefaultMetrics`, except those it cannot read
 * under Deno (it reads `/proc/self/status` in a way that yields nothing there): resident memory
 * is taken from `Deno.memoryUsage()` instead, and the gauges that would always say 0 are left out.
 *
 * @module
 */
import client from "prom-client";
import { type ClaudeCodeMetrics, createClaudeCodeMetrics } from "./claude_code_metrics.ts";
import { EVENT_TYPES, type RejectionReason } from "../shared/contract.ts";
import type { RouteLabel } from "./routes/table.ts";

/** Why events were rejected; the only values of `zo_events_rejected_total{reason}`. */
export const REJECT_REASONS = [
  "invalid", // failed schema validation
  "malformed", // not JSON
  "too_large", // over a size or count limit (413)
  "forbidden_project", // for a project the key may not write
  "queue_full", // 429
  "store_unavailable", // 503
  "store_refused", // refused by Chroma on its own, in `rejected[]`
] as const satisfies readonly RejectionReason[];
/** One of {@linkcode REJECT_REASONS}. */
export type RejectReason = typeof REJECT_REASONS[number];

/** The `route` label of the request metrics: a path of `routes/table.ts`, or "unmatched". */
export type { RouteLabel } from "./routes/table.ts";

/** The bridge's metrics and the registry that renders them. */
export interface BridgeMetrics {
  readonly registry: client.Registry;
  /** Counts one answered request and its duration. */
  observeRequest(route: RouteLabel, status: number, seconds: number): void;
  /** Counts stored events by type (an unknown type counts as "other"). */
  ingested(eventType: string, count?: number): void;
  /** Counts what stored `telemetry` events report (`claude_code_metrics.ts`). */
  claudeCode: ClaudeCodeMetrics;
  duplicates(count: number): void;
  rejected(reason: RejectReason, count: number): void;
  /** Rules the bridge's redaction fired on one ingested event (`zo_ingest_redactions_total`). */
  redactedAtIngest(rules: readonly string[]): void;
  /** One `store.write` call: its duration and size. */
  observeWrite(size: number, seconds: number): void;
  /** Where `zo_ingest_queue_events` reads its value when scraped. */
  setQueueDepthSource(read: () => number): void;
  /** Where `zo_agent_state_pending_records` reads its value when scraped. */
  setStatePendingSource(read: () => number): void;
  /** The text exposition format. */
  render(): Promise<string>;
  /** The exposition format's content type. */
  readonly contentType: string;
}

const KNOWN_TYPES = new Set<string>(EVENT_TYPES);
/** Gauges prom-client reads from `/proc/self/status` or `/proc/self/fd`: 0 under Deno. */
const UNREADABLE_UNDER_DENO = [
  "process_resident_memory_bytes",
  "process_virtual_memory_bytes",
  "process_heap_bytes",
  "process_open_fds",
];

/** Latency buckets, in seconds, shared by the request and the Chroma write histograms. */
const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A fresh set of metrics in its own registry, with the process metrics. */
export function createMetrics(): BridgeMetrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  for (const name of UNREADABLE_UNDER_DENO) registry.removeSingleMetric(name);
  new client.Gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory size in bytes.",
    registers: [registry],
    collect() {
      this.set(Deno.memoryUsage().rss);
    },
  });

  const requests = new client.Counter({
    name: "zo_http_requests_total",
    help: "HTTP requests answered, by matched route and status code.",
    labelNames: ["route", "code"] as const,
    registers: [registry],
  });
  const duration = new client.Histogram({
    name: "zo_http_request_duration_seconds",
    help: "Time from receiving a request to answering it, by matched route.",
    labelNames: ["route"] as const,
    buckets: SECONDS_BUCKETS,
    registers: [registry],
  });
  const ingested = new client.Counter({
    name: "zo_events_ingested_total",
    help: "Events stored, by event type.",
    labelNames: ["event_type"] as const,
    registers: [registry],
  });
  const duplicates = new client.Counter({
    name: "zo_events_duplicate_total",
    help: "Events received again and not stored twice (same event_id or hash).",
    registers: [registry],
  });
  const rejected = new client.Counter({
    name: "zo_events_rejected_total",
    help: "Events not stored, by reason.",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  const redactions = new client.Counter({
    name: "zo_ingest_redactions_total",
    help: "Events received (a retry counts again) in which the bridge's second redaction pass " +
      "found a secret the VM had left, by rule (the built-in rules' ids: a bounded set).",
    labelNames: ["rule"] as const,
    registers: [registry],
  });
  const writeDuration = new client.Histogram({
    name: "zo_chroma_write_duration_seconds",
    help: "Duration of one batched write into Chroma.",
    buckets: SECONDS_BUCKETS,
    registers: [registry],
  });
  const batchSize = new client.Histogram({
    name: "zo_ingest_batch_events",
    help: "Events per batched write into Chroma (group commit).",
    buckets: [1, 2, 5, 10, 25, 50, 100, 200, 300, 400, 500, 1000],
    registers: [registry],
  });
  let readDepth = () => 0;
  new client.Gauge({
    name: "zo_ingest_queue_events",
    help: "Events queued for writing or being written.",
    registers: [registry],
    collect() {
      this.set(readDepth());
    },
  });

  let readStatePending = () => 0;
  new client.Gauge({
    name: "zo_agent_state_pending_records",
    help: "agent_state records with stored events not yet applied (0: the view is settled).",
    registers: [registry],
    collect() {
      this.set(readStatePending());
    },
  });

  return {
    registry,
    observeRequest(route, status, seconds) {
      requests.inc({ route, code: String(status) });
      duration.observe({ route }, seconds);
    },
    ingested(eventType, count = 1) {
      ingested.inc({ event_type: KNOWN_TYPES.has(eventType) ? eventType : "other" }, count);
    },
    duplicates(count) {
      if (count > 0) duplicates.inc(count);
    },
    rejected(reason, count) {
      if (count > 0) rejected.inc({ reason }, count);
    },
    redactedAtIngest(rules) {
      for (const rule of rules) redactions.inc({ rule });
    },
    observeWrite(size, seconds) {
      writeDuration.observe(seconds);
      batchSize.observe(size);
    },
    claudeCode: createClaudeCodeMetrics(registry),
    setQueueDepthSource(read) {
      readDepth = read;
    },
    setStatePendingSource(read) {
      readStatePending = read;
    },
    render() {
      return registry.metrics();
    },
    contentType: registry.contentType,
  };
}
