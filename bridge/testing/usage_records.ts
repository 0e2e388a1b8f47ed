/**
 * Synthetic usage for tests and `bench/usage_bench.ts`: a fleet's worth of records written
 * straight into the `usage` collection (as the bridge's write path would), so that `GET /usage`
 * has many to count without ingesting as many events first; and usage events to ingest.
 *
 * @module
 */
import type { ChromaClient } from "chromadb";
import { sha256Hex } from "../../shared/ids.ts";
import { createRedactor } from "../../shared/redact.ts";
import type { Event } from "../../shared/schema.ts";
import { type UsageContext, usageEvent } from "../../hooks/pipeline/usage/usage_event_builder.ts";
import { addUsageRecords } from "../chroma/usage_records.ts";
import type { ChromaCall } from "../chroma/connection.ts";
import { messageKey, USAGE_COLLECTION, type UsageRecord } from "../usage/records.ts";

const MODELS = ["claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5", "unknown-model"];
const DAY_MS = 86_400_000;

/** Options of {@linkcode syntheticUsageRecords}. */
export interface SyntheticUsageOptions {
  /** How many records. */
  count: number;
  /** Projects they spread over, `p0`, `p1`, ...; default 10. */
  projects?: number;
  /** Time of the first response, Unix ms; default 2026-11-01. */
  startMs?: number;
  /** `stored_ms` of every record; default now. */
  storedMs?: number;
  /** Distinguishes one call's messages from another's; default "m". */
  prefix?: string;
}

/**
 * `count` records over `projects` projects, 20 sessions each, 4 models (one the price table
 * lacks) and two weeks; one response in five read twice (a partial count, then the final one),
 * as older Claude Code builds wrote, and one in fifty a Claude Code report.
 */
export async function syntheticUsageRecords(
  options: SyntheticUsageOptions,
): Promise<UsageRecord[]> {
  const projects = options.projects ?? 10;
  const start = options.startMs ?? Date.parse("2026-11-01T00:00:00.000Z");
  const stored = options.storedMs ?? Date.now();
  const prefix = options.prefix ?? "m";
  const records: UsageRecord[] = [];
  for (let i = 0; records.length < options.count; i++) {
    const project = `p${i % projects}`;
    const session = `${project}-s${(i >> 4) % 20}`;
    const messageId = `${prefix}${i}`;
    const key = messageKey(project, messageId);
    const model = MODELS[i % MODELS.length]!;
    const final = {
      input_tokens: 100 + (i % 900),
      output_tokens: 20 + (i % 400),
      cache_creation_input_tokens: i % 7 === 0 ? 2_000 : 0,
      cache_read_input_tokens: (i % 13) * 500,
    };
    const readings = i % 5 === 0 ? [{ ...final, output_tokens: 1 }, final] : [final];
    for (const [n, counts] of readings.entries()) {
      if (records.length >= options.count) break;
      const record: UsageRecord = {
        id: await sha256Hex(JSON.stringify([key, model, ...Object.values(counts)])),
        message_key: key,
        message_id: messageId,
        model,
        project_id: project,
        worker_id: `vm-${i % 3}`,
        run_id: `${project}-run-${(i >> 8) % 4}`,
        session_id: session,
        ts_ms: start + (i * 40_321) % (14 * DAY_MS) + n,
        stored_ms: stored + n,
        event_id: `${prefix}-event-${i}-${n}`,
        ...counts,
      };
      if (i % 11 === 0) record.agent_id = `agent-${i % 4}`;
      if (i % 50 === 7) {
        record.source = "claude_code";
        record.reported_cost_usd = (i % 100) / 1_000;
      }
      records.push(record);
    }
  }
  return records;
}

/** Writes `records` into the `usage` collection of `client`'s Chroma, as a bridge's write does. */
export async function storeUsageRecords(
  client: ChromaClient,
  records: readonly UsageRecord[],
): Promise<void> {
  const collection = await client.getOrCreateCollection({
    name: USAGE_COLLECTION,
    embeddingFunction: null,
  });
  const call: ChromaCall = (_what, run) => run();
  await addUsageRecords(collection, { records, call });
}

/**
 * `count` `usage` events of `project` as a VM's usage collector sends them (`prefix` keeps one
 * call's messages apart from another's), one API response each, a minute apart.
 */
export async function syntheticUsageEvents(
  count: number,
  options: { project: string; prefix: string; session?: string },
): Promise<Event[]> {
  const redactor = await createRedactor({ mode: "standard" });
  const start = Date.parse("2026-11-20T10:00:00.000Z");
  const context: UsageContext = {
    session_id: options.session ?? `${options.project}-live`,
    run_id: `${options.project}-run`,
    project_id: options.project,
    worker_id: "vm-live",
  };
  return await Promise.all(
    Array.from({ length: count }, (_, i) =>
      usageEvent(
        {
          message_id: `${options.prefix}-${i}`,
          model: "claude-sonnet-4-5",
          ts_ms: start + i * 60_000,
          input_tokens: 10 + i,
          output_tokens: 5,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 100,
        },
        context,
        { redactor, transcript: "main" },
      )),
  );
}
