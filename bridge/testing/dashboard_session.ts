/**
 * A realistic session for the dashboard's tests and benchmark: every Claude Code payload under
 * `testdata/claude-code/payloads/` sealed into an envelope (redacted, as a hook would), in the
 * order a session produces them, with a subagent that runs a tool call inside it. Not served:
 * only `assets.ts` decides what the browser gets.
 *
 * Needs `--allow-read` on `testdata/` (the payload files).
 *
 * @module
 */
import { type EventContext, eventFromHookPayload } from "../../hooks/pipeline/envelope.ts";
import { createRedactor, type Redactor } from "../../shared/redact.ts";
import type { Event } from "../../shared/schema.ts";
import {
  foldUsage,
  type MessageUsage,
  usageOfLine,
} from "../../hooks/pipeline/usage/transcript_line.ts";
import { usageEvent } from "../../hooks/pipeline/usage/usage_event_builder.ts";

const PAYLOADS = new URL("../../testdata/claude-code/payloads/", import.meta.url);
const TRANSCRIPT = new URL("../../testdata/claude-code/transcript.jsonl", import.meta.url);

/** The subagent of the fixture session (as in `subagent_start.json`). */
export const FIXTURE_AGENT_ID = "agent-7f3c";

/**
 * The session's steps: a payload file (without `.json`) and its time after the session start,
 * in ms. `subagent_tool_pre`/`_post` are a tool call inside the subagent, made from
 * `pre_tool_use.json` and `post_tool_use.json`.
 */
export const FIXTURE_STEPS: readonly (readonly [string, number])[] = [
  ["session_start", 0],
  ["setup", 150],
  ["instructions_loaded", 300],
  ["user_prompt_submit", 1_000],
  ["user_prompt_expansion", 1_100],
  ["pre_tool_use", 2_000],
  ["permission_request", 2_100],
  ["post_tool_use", 3_500],
  ["message_display", 3_900],
  ["post_tool_use_edit", 5_000],
  ["post_tool_use_mcp", 6_000],
  ["post_tool_batch", 6_500],
  ["permission_denied", 7_000],
  ["post_tool_use_failure", 8_000],
  ["subagent_start", 9_000],
  ["subagent_tool_pre", 9_500],
  ["subagent_tool_post", 11_750],
  ["subagent_stop", 12_000],
  ["task_created", 13_000],
  ["task_completed", 14_000],
  ["notification", 15_000],
  ["elicitation", 16_000],
  ["elicitation_result", 17_000],
  ["config_change", 18_000],
  ["cwd_changed", 19_000],
  ["directory_added", 20_000],
  ["file_changed", 21_000],
  ["worktree_create", 22_000],
  ["worktree_remove", 23_000],
  ["pre_compact", 24_000],
  ["post_compact", 25_000],
  ["teammate_idle", 26_000],
  ["stop_failure", 27_000],
  ["stop", 28_000],
  ["session_end", 29_000],
];

/** Options of {@linkcode fixtureSession}. */
export interface FixtureSessionOptions extends Partial<Omit<EventContext, "run_id">> {
  run_id: string;
  /** Replaces the payloads' session id. */
  session_id?: string;
  /** Time of the first event, Unix ms; default 60 s ago. */
  startMs?: number;
  /** Stop after this step (a name from {@linkcode FIXTURE_STEPS}); default the whole session. */
  until?: string;
  /** Default: strict mode with a fixed salt. */
  redactor?: Redactor;
}

async function readPayload(name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(new URL(`${name}.json`, PAYLOADS)));
}

/**
 * The fixture session's envelopes, in order. Throws when a payload file is not among
 * {@linkcode FIXTURE_STEPS}, so a new fixture is never silently left out.
 */
export async function fixtureSession(options: FixtureSessionOptions): Promise<Event[]> {
  const files = [...Deno.readDirSync(PAYLOADS)].map((entry) => entry.name.replace(/\.json$/, ""));
  const named = new Set(FIXTURE_STEPS.map(([name]) => name));
  const missing = files.filter((name) => !named.has(name));
  if (missing.length > 0) {
    throw new Error(`Cannot build the fixture session: add ${missing.join(", ")} to FIXTURE_STEPS`);
  }
  const redactor = options.redactor ??
    await createRedactor({ mode: "strict", hostNames: ["dev-vm-7"], salt: "fixture" });
  const startMs = options.startMs ?? Date.now() - 60_000;
  const { session_id: sessionId, startMs: _, until, redactor: __, ...context } = options;
  const events: Event[] = [];
  let subagentStart: string | undefined;
  for (const [step, offset] of FIXTURE_STEPS) {
    const inSubagent = step.startsWith("subagent_tool_");
    const file = inSubagent ? (step.endsWith("_pre") ? "pre_tool_use" : "post_tool_use") : step;
    const payload = await readPayload(file);
    if (sessionId !== undefined) payload.session_id = sessionId;
    const stepContext: EventContext = { ...context };
    if (inSubagent) {
      Object.assign(payload, {
        agent_id: FIXTURE_AGENT_ID,
        agent_type: "Explore",
        tool_use_id: "toolu_sub_01",
        tool_input: { command: "grep -rn TODO src", description: "Find open work" },
      });
      if (subagentStart !== undefined) stepContext.parent_event_id = subagentStart;
    }
    if (step === "subagent_stop" && subagentStart !== undefined) {
      stepContext.parent_event_id = subagentStart;
    }
    const event = await eventFromHookPayload(payload, stepContext, {
      redactor,
      now: startMs + offset,
    });
    if (step === "subagent_start") subagentStart = event.event_id;
    events.push(event);
    if (step === until) break;
  }
  return events;
}

/**
 * The usage events of the fixture transcript (`testdata/claude-code/transcript.jsonl`) for one
 * session, at their own times or moved to start at `startMs`: 2 billed responses of claude-sonnet-4-5, 1,500 input, 405 output, 5,000 cache write
 * and 6,200 cache read tokens in all.
 */
export async function fixtureUsage(
  options: Omit<FixtureSessionOptions, "until" | "redactor"> & { session_id: string },
): Promise<Event[]> {
  const { startMs, ...context } = options;
  const messages = new Map<string, MessageUsage>();
  for (const line of (await Deno.readTextFile(TRANSCRIPT)).split("\n")) {
    const usage = usageOfLine(line);
    if (usage !== undefined) foldUsage(messages, usage);
  }
  if (startMs !== undefined) {
    // Moved in time so that the first response is at startMs, the others as far after it.
    const first = Math.min(...[...messages.values()].map((m) => m.ts_ms ?? Infinity));
    for (const message of messages.values()) {
      if (message.ts_ms !== undefined) message.ts_ms += startMs - first;
    }
  }
  const redactor = await createRedactor({ mode: "strict", salt: "fixture" });
  const events: Event[] = [];
  for (const message of messages.values()) {
    events.push(await usageEvent(message, context, { redactor, transcript: "main" }));
  }
  return events;
}

/**
 * A session started, resumed twice and compacted once: four SessionStart events (sources
 * `startup`, `resume`, `resume`, `compact`) under one session id, a minute apart from `startMs`.
 * It is one session, whatever the number of SessionStart events.
 */
export async function fixtureResumedSession(
  options: Omit<FixtureSessionOptions, "until" | "redactor"> & { session_id: string },
): Promise<Event[]> {
  const redactor = await createRedactor({
    mode: "strict",
    hostNames: ["dev-vm-7"],
    salt: "fixture",
  });
  const { session_id: sessionId, startMs, ...context } = options;
  const start = startMs ?? Date.now() - 5 * 60_000;
  const events: Event[] = [];
  for (const [index, source] of ["startup", "resume", "resume", "compact"].entries()) {
    const payload = await readPayload("session_start");
    Object.assign(payload, { session_id: sessionId, source });
    events.push(
      await eventFromHookPayload(payload, context, { redactor, now: start + index * 60_000 }),
    );
  }
  return events;
}
