/**
 * The hook pipeline: turns one hook input into one spooled envelope. It parses the payload,
 * builds the envelope (redacted, sized, with run/worker/subagent context), appends it as one line
 * to the spool, links subagents, and on Stop, SubagentStop, SessionEnd and PreCompact queues a
 * usage job (the transcript is read by the usage collector, a process of its own, never on the
 * hook's path). Garbage input is kept as an `error` event; nothing here throws into the caller.
 *
 * Built once per process: by `hook_runner.ts` for a command hook (one input read from stdin), and
 * by the relay's loopback http-hook endpoint, so an event POSTed there becomes the same envelope
 * as one piped to a command hook.
 *
 * @module
 */
import { clip } from "./message_templates.ts";
import { type EventContext, eventFromHookPayload, sealEvent, UNKNOWN_SESSION } from "./envelope.ts";
import {
  baseContext,
  hostName,
  redactorFor,
  rememberSubagentStart,
  sessionRunId,
  subagentStartId,
} from "./hook_context.ts";
import { mcpToolOf } from "./mcp.ts";
import type { OwnEventKind } from "./original_events.ts";
import type { Redactor } from "../../shared/redact.ts";
import type { Event } from "../../shared/schema.ts";
import { appendToSpool } from "./spool.ts";
import { enforceSpoolBound } from "./spool_bound.ts";
import { LIMITS } from "../../shared/contract.ts";
import type { VmConfig } from "./vm_config.ts";
import { errorMessage, identifier, readEnv } from "./_util.ts";

/**
 * The hook events whose transcript holds new API responses: their hook queues a usage job (see
 * `usage/launcher.ts`, loaded for these events only, so the other hooks never load it).
 */
export const USAGE_HOOK_EVENTS: ReadonlySet<string> = new Set([
  "Stop",
  "SubagentStop",
  "SessionEnd",
  "PreCompact",
]);

/** How long one event's redaction may take when the caller sets no deadline (the relay). */
export const REDACTION_BUDGET_MS = 10_000;
/** Characters of undecodable input kept in an error event, after redaction. */
export const RAW_INPUT_CHARS = 8_192;

/** What an entry script tells the pipeline about itself. */
export interface HookHint {
  /** The entry script's file name, e.g. "post_tool_use.ts"; kept in error events. */
  script: string;
  /** The Claude Code event the script is registered for; fills a missing `hook_event_name`. */
  event?: string;
  /**
   * An own event, or a payload of Claude Code's OpenTelemetry export (`otel/`), instead of a
   * Claude Code hook payload (the default).
   */
  kind?: OwnEventKind | "telemetry";
  /** Files to hash into `artifact_refs` (kind "artifact"). */
  files?: readonly string[];
  /** `type` of those artifact refs; default "file". */
  artifactType?: string;
  /** Set when the input is known to be cut short (too big, or stdin never closed): why. */
  incomplete?: string;
}

/** Options of {@linkcode createHookPipeline}. */
export interface PipelineOptions {
  /** A redactor to reuse; default: one built from the config with the host name. */
  redactor?: Redactor;
  /** The host name; default `Deno.hostname()`. */
  host?: string;
  /** `source.project_dir`; default `CLAUDE_PROJECT_DIR` when readable. */
  projectDir?: string;
  /** Set when the settings were unusable: every input is then kept as an error event saying so. */
  configError?: string;
  /** Clock, for tests. */
  now?: () => number;
  /** Redaction budget of a record() given no deadline; default {@linkcode REDACTION_BUDGET_MS}. */
  redactionBudgetMs?: number;
  /** Where failures go; default one short line on stderr. Never throws into the caller. */
  onError?: (message: string) => void;
}

/** Options of {@linkcode HookPipeline.record}. */
export interface RecordOptions {
  /**
   * When redaction must stop, as a `performance.now()` time (see `SealOptions.deadline`);
   * default: `redactionBudgetMs` from now.
   */
  deadline?: number;
}

/** Turns hook inputs into spooled envelopes. */
export interface HookPipeline {
  /** The settings in force. */
  readonly config: VmConfig;
  /**
   * Builds the envelope of one input and appends it to the spool. Garbage input becomes an
   * `error` event carrying it (redacted, truncated). Never throws: resolves to the spooled
   * event, or undefined when nothing could be written (the reason went to `onError`).
   */
  record(
    input: string | Uint8Array,
    hint: HookHint,
    options?: RecordOptions,
  ): Promise<Event | undefined>;
}

/** Prints one short line on stderr: the agent shows stderr of a failed hook to the user. */
export function reportToStderr(message: string): void {
  try {
    // deno-lint-ignore no-console -- a hook's only channel for its own failures
    console.error(`agent-telemetry hook: ${clip(message.replace(/\s+/g, " "), 300)}`);
  } catch {
    // stderr closed: nothing else to tell.
  }
}

/**
 * Builds the pipeline once per process: the redactor (with the host name and the configured
 * extra host names), the worker's context. Resolves even when the host name cannot be read.
 */
export async function createHookPipeline(
  config: VmConfig,
  options: PipelineOptions = {},
): Promise<HookPipeline> {
  const host = options.host ?? hostName();
  const redactor = options.redactor ?? await redactorFor(config.shared.redaction, host);
  const base = await baseContext(config, {
    redactor,
    host,
    projectDir: options.projectDir ?? readEnv("CLAUDE_PROJECT_DIR"),
  });
  const now = options.now ?? Date.now;
  const onError = options.onError ?? reportToStderr;
  const budgetMs = options.redactionBudgetMs ?? REDACTION_BUDGET_MS;
  const sealFor = (deadline: number) => ({
    redactor,
    maxEventBytes: config.shared.maxEventBytes,
    deadline,
  });

  /** The run id of a session; the session id itself if the log dir cannot keep one. */
  const runIdOf = async (sessionId: string): Promise<string> => {
    try {
      return await sessionRunId(config.logDir, sessionId, config.runId);
    } catch (error) {
      onError(`Cannot keep the run id under ${config.logDir}: ${errorMessage(error)}`);
      return sessionId;
    }
  };

  const contextOf = (
    sessionId: string,
    runId: string,
    cwd: unknown,
  ): EventContext & { session_id: string } => {
    const context: EventContext & { session_id: string } = {
      ...base,
      session_id: sessionId,
      run_id: runId,
      source: { ...base.source },
    };
    if (typeof cwd === "string" && cwd !== "") context.source!.cwd = cwd;
    return context;
  };

  /** An error event that keeps an input the pipeline could not use. */
  const garbageEvent = async (
    text: string,
    bytes: number,
    reason: string,
    hint: HookHint,
    deadline: number,
  ): Promise<Event> => {
    // Redact before cutting, so a cut can never leave half a secret unrecognised.
    const raw = redactor.redactText(text.slice(0, RAW_INPUT_CHARS * 8), { deadline });
    // The reason may quote a setting, e.g. an endpoint URL with its password: redact it too.
    const why = redactor.redactText(reason, { deadline });
    reason = why.value;
    const context = contextOf(UNKNOWN_SESSION, await runIdOf(UNKNOWN_SESSION), undefined);
    const msg = clip(`Hook ${hint.script} kept unusable input: ${reason}`, LIMITS.msgChars);
    return await sealEvent({
      ...context,
      event_type: "error",
      level: "error",
      hook_event_name: hint.event,
      msg,
      indexable_text: msg,
      error_detail: { type: "invalid_hook_input", message: reason },
      data: {
        reason,
        script: hint.script,
        input_bytes: bytes,
        raw_input: clip(raw.value, RAW_INPUT_CHARS),
      },
    }, {
      ...sealFor(deadline),
      now: now(),
      dataRedactedBy: [...new Set([...raw.rules, ...why.rules])].sort(),
      dataUnfinished: (raw.unfinished ?? 0) + (why.unfinished ?? 0),
    });
  };

  /** `found.payload` is set to the payload of a Claude Code hook event, unredacted. */
  const build = async (
    input: string | Uint8Array,
    hint: HookHint,
    found: { payload?: Record<string, unknown> },
    deadline: number,
  ): Promise<Event> => {
    const seal = sealFor(deadline);
    const text = typeof input === "string" ? input : new TextDecoder().decode(input);
    const bytes = typeof input === "string" ? new TextEncoder().encode(input).length : input.length;
    if (options.configError) {
      return await garbageEvent(
        text,
        bytes,
        `bad settings: ${options.configError}`,
        hint,
        deadline,
      );
    }
    let payload: Record<string, unknown>;
    if (text.trim() === "" && hint.incomplete !== undefined) {
      // A stand-in for what could not be recorded (a worker stopped, a body cut to nothing):
      // an error event saying why, whatever kind of input it stands for.
      return await garbageEvent(text, bytes, hint.incomplete, hint, deadline);
    }
    if (text.trim() === "" && hint.kind !== undefined) {
      payload = {}; // own events may come with nothing but their arguments
    } else {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        if (hint.kind === "error") {
          parsed = { message: text }; // an error report may be plain text
        } else {
          const reason = hint.incomplete ??
            (text.trim() === "" ? "empty input" : "not JSON");
          return await garbageEvent(text, bytes, reason, hint, deadline);
        }
      }
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        return await garbageEvent(text, bytes, "not a JSON object", hint, deadline);
      }
      payload = parsed as Record<string, unknown>;
    }
    if (hint.event !== undefined && payload.hook_event_name === undefined && !hint.kind) {
      payload.hook_event_name = hint.event;
    }

    const sessionId = identifier(payload.session_id) ?? UNKNOWN_SESSION;
    const context = contextOf(sessionId, await runIdOf(sessionId), payload.cwd);
    const agentId = identifier(payload.agent_id);
    if (agentId !== undefined && payload.hook_event_name !== "SubagentStart") {
      const parent = await subagentStartId(config.logDir, { sessionId, agentId })
        .catch(() => undefined);
      if (parent !== undefined) context.parent_event_id = parent;
    }
    const mcp = mcpToolOf(payload);
    if (mcp) {
      // Claude Code 2.1.328 sends `mcp_server: {name, source}`: that object stays in data.
      if (typeof payload.mcp_server !== "object" || payload.mcp_server === null) {
        payload.mcp_server = mcp.server;
      }
      payload.mcp_tool = mcp.tool;
      // Top-level too, so the bridge can filter on them; the envelope keeps unknown fields.
      Object.assign(context, { mcp_server: mcp.server, mcp_tool: mcp.tool });
    }

    if (hint.kind === undefined) {
      found.payload = payload;
      return await eventFromHookPayload(payload, context, { ...seal, now: now() });
    }
    // Own events and artifacts are rare: their modules load only when needed, which keeps the
    // module graph of the common hook small (each module costs start-up time).
    if (hint.kind === "telemetry") {
      const { telemetryEvent } = await import("./otel/telemetry_event.ts");
      return await telemetryEvent(payload, context, { ...seal, now: now() });
    }
    const { ownEvent } = await import("./original_events.ts");
    if (hint.kind === "artifact") {
      const { artifactRefs } = await import("./artifacts.ts");
      const { refs, problems } = await artifactRefs(hint.files ?? [], {
        type: hint.artifactType,
      });
      payload.artifact_paths = (hint.files ?? []).slice();
      if (problems.length > 0) payload.artifact_problems = problems;
      return await ownEvent("artifact", payload, context, {
        ...seal,
        now: now(),
        artifactRefs: refs,
      });
    }
    return await ownEvent(hint.kind, payload, context, { ...seal, now: now() });
  };

  return {
    config,
    async record(input, hint, recordOptions = {}) {
      let event: Event;
      const found: { payload?: Record<string, unknown> } = {};
      const deadline = recordOptions.deadline ?? performance.now() + budgetMs;
      try {
        event = await build(input, hint, found, deadline);
      } catch (error) {
        // A bug or an impossible input: still keep what came in.
        try {
          event = await garbageEvent(
            typeof input === "string" ? input : new TextDecoder().decode(input),
            input.length,
            `could not build the event: ${errorMessage(error)}`,
            hint,
            deadline,
          );
        } catch (inner) {
          onError(`Cannot build the event: ${errorMessage(inner)}`);
          return undefined;
        }
      }
      try {
        const written = appendToSpool(config.logDir, JSON.stringify(event), {
          nowMs: now(),
        });
        if (written.created) await boundSpool(event);
      } catch (error) {
        onError(`Cannot append to the spool in ${config.logDir}: ${errorMessage(error)}`);
        return undefined;
      }
      if (
        event.event_type === "subagent" && event.hook_event_name === "SubagentStart" &&
        event.agent_id
      ) {
        await rememberSubagentStart(config.logDir, {
          sessionId: event.session_id,
          agentId: event.agent_id,
          eventId: event.event_id,
        }).catch((error) => onError(`Cannot link the subagent: ${errorMessage(error)}`));
      }
      if (found.payload !== undefined && USAGE_HOOK_EVENTS.has(event.hook_event_name ?? "")) {
        await queueUsage(found.payload, event);
      }
      return event;
    },
  };

  /**
   * Hands the transcript's usage to the collector: a job file, and the collector started when
   * none runs, by the relay when events are shipped (the hook makes sure one runs), else here.
   * The transcript is read off the hook's path. Loaded for these events only.
   */
  async function queueUsage(payload: Record<string, unknown>, event: Event): Promise<void> {
    try {
      const launcher = await import("./usage/launcher.ts");
      await launcher.queueUsage(config.logDir, {
        payload,
        context: {
          session_id: event.session_id,
          run_id: event.run_id,
          agent_id: event.agent_id,
          project_dir: base.source.project_dir,
        },
      }, { launch: config.endpoint === undefined });
    } catch (error) {
      onError(`Cannot queue the usage collection: ${errorMessage(error)}`);
    }
  }

  /** A new segment began: the moment a hook checks the spool's disk bound. */
  async function boundSpool(event: Event): Promise<void> {
    try {
      await enforceSpoolBound(config.logDir, config.spoolMaxBytes, {
        nowMs: now(),
        report: {
          context: { ...base, session_id: UNKNOWN_SESSION, run_id: event.run_id },
          redactor,
          maxEventBytes: config.shared.maxEventBytes,
        },
      });
    } catch (error) {
      onError(`Cannot keep the spool within ZO_SPOOL_MAX_MB: ${errorMessage(error)}`);
    }
  }
}
