/**
 * The fleet the dashboard's browser test opens: two projects, five workers, sessions in three
 * states (one resumed twice and compacted, one whose transcript is 13 days older than its hooks),
 * with usage, ingested through a real bridge.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Event } from "../shared/schema.ts";
import type { TestBridge } from "../bridge/testing/bridge.ts";
import {
  fixtureResumedSession,
  fixtureSession,
  fixtureUsage,
} from "../bridge/testing/dashboard_session.ts";

export const SESSION_A = "sess-a-00893aaf-19fa-41d2-8238-13269b9b3ca0";
export const SESSION_B = "sess-b-5e1c0a7e-2b6f-4f55-9d0e-7a3c2f9e1b44";
export const SESSION_C = "sess-c-9b2d41c0-77aa-4e0e-a1f2-3c4d5e6f7a8b";
/** Started, resumed twice, compacted once: one session id, four SessionStart events. */
export const SESSION_D = "sess-d-3f0e6a1b-8c2d-4e5f-9a0b-1c2d3e4f5a6b";
/** A resumed conversation: its transcript's responses are 13 days older than its hooks. */
export const SESSION_E = "sess-e-6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d";

export async function ingest(bridge: TestBridge, events: Event[]): Promise<void> {
  const response = await fetch(bridge.ingestUrl, {
    method: "POST",
    headers: { authorization: `Bearer ${bridge.ingestKey}`, "content-type": "application/json" },
    body: JSON.stringify(events),
  });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  assert.equal(body.accepted, events.length, JSON.stringify(body));
}

/** What the steps look for of the resumed session (SESSION_E). */
export interface Resumed {
  hooks: Event[];
  usage: Event[];
}

/** The fleet: two projects, three workers, sessions in three states, and usage. */
export async function fixtures(bridge: TestBridge): Promise<Resumed> {
  const start = Date.now() - 10 * 60_000;
  const resumed: Resumed = {
    hooks: await fixtureSession({
      run_id: "run-e",
      project_id: "beta",
      worker_id: "vm-5",
      session_id: SESSION_E,
      startMs: start + 240_011,
    }),
    usage: await fixtureUsage({
      run_id: "run-e",
      project_id: "beta",
      worker_id: "vm-5",
      session_id: SESSION_E,
      startMs: start - 13 * 86_400_000,
    }),
  };
  await ingest(bridge, [
    ...await fixtureSession({
      run_id: "run-a",
      project_id: "acme",
      worker_id: "vm-1",
      session_id: SESSION_A,
      startMs: start,
    }),
    ...await fixtureSession({
      run_id: "run-b",
      project_id: "acme",
      worker_id: "vm-2",
      session_id: SESSION_B,
      startMs: start + 60_001,
      until: "post_tool_use_failure",
    }),
    ...await fixtureSession({
      run_id: "run-c",
      project_id: "beta",
      worker_id: "vm-3",
      session_id: SESSION_C,
      startMs: start + 120_003,
      until: "stop_failure",
    }),
    ...await fixtureResumedSession({
      run_id: "run-d",
      project_id: "acme",
      worker_id: "vm-4",
      session_id: SESSION_D,
      startMs: start + 180_007,
    }),
    ...await fixtureUsage({
      run_id: "run-a",
      project_id: "acme",
      worker_id: "vm-1",
      session_id: SESSION_A,
      startMs: start + 1_500,
    }),
    // Another project: the bridge counts a response once per project (the first session to
    // store it owns it), and these are the same transcript's responses as session A's.
    ...resumed.hooks,
    ...resumed.usage,
  ]);
  await bridge.flushAgentState();
  return resumed;
}
