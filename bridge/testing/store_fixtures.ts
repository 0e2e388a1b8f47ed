/**
 * Test data for the store's tests: every hand-written fixture payload as a sealed envelope over
 * two projects, and small helpers to query a real store and read every page.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type EventContext, eventFromHookPayload } from "../../hooks/pipeline/envelope.ts";
import { createRedactor, type Redactor } from "../../shared/redact.ts";
import { type Event, parseEvent } from "../../shared/schema.ts";
import { parseQueryParams } from "../query_params.ts";
import type { QueryParams, QueryResult } from "../store.ts";
import type { TestStore } from "./store.ts";

export const PAYLOADS = new URL("../../testdata/claude-code/payloads/", import.meta.url);
export const BASE = Date.parse("2026-11-24T10:00:00.000Z");

export async function payloads(): Promise<[string, Record<string, unknown>][]> {
  const out: [string, Record<string, unknown>][] = [];
  for await (const entry of Deno.readDir(PAYLOADS)) {
    out.push([entry.name, JSON.parse(await Deno.readTextFile(new URL(entry.name, PAYLOADS)))]);
  }
  return out.sort(([a], [b]) => a.localeCompare(b));
}

export function redactor(): Promise<Redactor> {
  return createRedactor({ mode: "strict", hostNames: ["dev-vm-7"], salt: "test-salt" });
}

/** Every fixture payload as a sealed envelope, one second apart, over two projects. */
export async function fixtureEvents(): Promise<Event[]> {
  const r = await redactor();
  const all = await payloads();
  const events: Event[] = [];
  for (const [i, [, payload]] of all.entries()) {
    const context: EventContext = {
      run_id: i % 3 === 0 ? "run-a" : "run-b",
      project_id: i % 2 === 0 ? "acme-app" : "beta-svc",
      worker_id: i % 4 === 0 ? "vm-1" : "vm-2",
      agent_role: "worker",
    };
    events.push(
      await eventFromHookPayload(payload, context, { redactor: r, now: BASE + i * 1000 }),
    );
  }
  for (const event of events) assert.ok(parseEvent(event).ok);
  return events;
}

export function query(search: string, extra: Partial<QueryParams> = {}): QueryParams {
  const parsed = parseQueryParams(new URLSearchParams(search));
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.error);
  return { ...parsed.params, ...extra };
}

/** Every page of a query, following next_cursor. */
export async function allPages(store: TestStore, params: QueryParams): Promise<unknown[][]> {
  const pages: unknown[][] = [];
  let cursor: string | undefined;
  do {
    const page: QueryResult = await store.query({ ...params, ...(cursor ? { cursor } : {}) });
    pages.push(page.results);
    cursor = page.next_cursor ?? undefined;
    assert.ok(pages.length < 1_000, "paging does not end");
  } while (cursor !== undefined);
  return pages;
}

export function byTs(a: Event, b: Event): number {
  return Date.parse(a.ts) - Date.parse(b.ts) || (a.event_id < b.event_id ? -1 : 1);
}

export function ids(results: unknown[]): string[] {
  return results.map((r) => (r as Event).event_id);
}
