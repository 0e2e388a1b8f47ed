/**
 * The hook pipeline, the one place the logic of every `hooks/*.ts` entry script lives: read the
 * payload, build the envelope (redacted, sized, with run/worker/subagent context), append it as
 * one line to the spool, start a relay when one is needed, and return. Whatever happens, the
 * hook exits 0 with nothing on stdout: it must never get in the agent's way. On Stop,
 * SubagentStop, SessionEnd and PreCompact it also queues a usage job: the transcript is read by
 * the usage collector, a process of its own, never on the hook's path.
 *
 * `createHookPipeline()` is also what the relay's loopback http-hook endpoint uses, so an event
 * POSTed there becomes the same envelope as one piped to a command hook.
 *
 * @module
 */
import { ConfigError } from "../../shared/config.ts";
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
import { type McpTool, parseMcpToolName } from "./mcp.ts";
import type { OwnEventKind } from "./original_events.ts";
import type { Redactor } from "../../shared/redact.ts";
import type { Event } from "../../shared/schema.ts";
import { appendToSpool, enforceSpoolBound } from "./spool.ts";
import { LIMITS } from "../../shared/contract.ts";
import { loadVmConfig, logDirProblem, type VmConfig } from "./vm_config.ts";
import { errorMessage, identifier } from "./_util.ts";

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

/** Largest payload read from stdin; a bigger one is cut (and kept as an error event). */
export const MAX_INPUT_BYTES = 32 * 1024 * 1024;
/** How long a hook waits for its stdin to close. */
export const STDIN_TIMEOUT_MS = 10_000;
/** A hook gives up after this long, whatever it is waiting for (a hung disk, say). */
export const HOOK_DEADLINE_MS = 20_000;
/**
 * When a hook's redaction must stop, in ms after the process started: what is unfinished by
 * then is dropped (the event is kept, marked in `redaction.unfinished`), which leaves the rest of
 * {@linkcode HOOK_DEADLINE_MS} to write it. Redaction checks the clock within each rule's
 * matches, so this bounds even a payload that would take minutes (16 MB of "password=x ").
 */
export const HOOK_REDACTION_DEADLINE_MS = 15_000;
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

/**
 * The MCP server and tool of a tool call: the server from the payload's `mcp_server.name` when
 * Claude Code sends it (a server name may hold `__`, which the tool name cannot tell apart),
 * else from `mcp__<server>__<tool>`.
 */
export function mcpToolOf(payload: Record<string, unknown>): McpTool | undefined {
  const named = payload.mcp_server as { name?: unknown } | undefined;
  const server = typeof named === "object" && named !== null && typeof named.name === "string"
    ? named.name
    : undefined;
  if (server !== undefined && typeof payload.tool_name === "string") {
    const prefix = `mcp__${server}__`;
    if (payload.tool_name.startsWith(prefix)) {
      return { server, tool: payload.tool_name.slice(prefix.length) };
    }
  }
  return parseMcpToolName(payload.tool_name);
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

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
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

/**
 * The settings, or the safest defaults when they are unusable: strict redaction and the log dir
 * as configured if that part is valid. The error says what was wrong.
 */
export function loadHookConfig(
  env: (name: string) => string | undefined = readEnv,
): { config: VmConfig; error?: string } {
  try {
    return { config: loadVmConfig(env) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const fallbacks = [
      (name: string) => name === "ZO_LOG_DIR" || name === "HOME" ? env(name) : undefined,
      (name: string) => name === "HOME" ? env(name) : undefined,
      () => undefined,
    ];
    for (const fallback of fallbacks) {
      try {
        return { config: loadVmConfig(fallback), error: error.message };
      } catch {
        // try the next, plainer one
      }
    }
    throw error;
  }
}

/**
 * Reads stdin up to `maxBytes`, giving up after `timeoutMs`; a terminal is not read.
 *
 * Times out with `AbortSignal.timeout`, not `setTimeout`: in Deno 2.9 the first `setTimeout`
 * of a process loads Node-style timers, which costs a hook 15-25 ms.
 */
export async function readStdin(
  maxBytes: number = MAX_INPUT_BYTES,
  timeoutMs: number = STDIN_TIMEOUT_MS,
): Promise<{ bytes: Uint8Array; complete: boolean }> {
  if (Deno.stdin.isTerminal()) return { bytes: new Uint8Array(0), complete: true };
  let buffer = new Uint8Array(64 * 1024);
  let length = 0;
  let complete = false;
  const reading = (async () => {
    while (length < maxBytes) {
      if (length === buffer.length) {
        const bigger = new Uint8Array(Math.min(buffer.length * 2, maxBytes));
        bigger.set(buffer);
        buffer = bigger;
      }
      const n = await Deno.stdin.read(buffer.subarray(length));
      if (n === null) {
        complete = true;
        return;
      }
      length += n;
    }
  })();
  await Promise.race([reading, aborted(AbortSignal.timeout(timeoutMs))]);
  return { bytes: buffer.subarray(0, length), complete };
}

/** Resolves when `signal` aborts. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve()));
}

/**
 * The whole of an entry script: read stdin, record, start the relay if needed, exit 0. Catches
 * everything; a hook still busy after {@linkcode HOOK_DEADLINE_MS} gives up (say, a hung disk).
 */
export async function runHook(hint: HookHint): Promise<never> {
  AbortSignal.timeout(HOOK_DEADLINE_MS).addEventListener("abort", () => {
    reportToStderr(`Cannot finish within ${HOOK_DEADLINE_MS} ms: gave up (is the disk hung?)`);
    Deno.exit(0);
  });
  try {
    // stdin is read while the pipeline is built: both wait on different things.
    const reading = readStdin();
    const { config, error } = loadHookConfig();
    // Someone else's (or a shared) log dir is refused whole: nothing is written into it.
    const unsafe = logDirProblem(config.logDir);
    if (unsafe) {
      reportToStderr(unsafe);
      Deno.exit(0);
    }
    if (error) reportToStderr(`Cannot use the settings, using defaults: ${error}`);
    // The event's time is when this process started, not when it finished: its wrapper has
    // already returned, and hooks started a few ms apart may finish in another order.
    const startedAt = Math.floor(performance.timeOrigin);
    const [pipeline, input] = await Promise.all([
      createHookPipeline(config, { configError: error, now: () => startedAt }),
      reading,
    ]);
    const event = await pipeline.record(
      input.bytes,
      input.complete ? hint : {
        ...hint,
        incomplete: input.bytes.length >= MAX_INPUT_BYTES
          ? `input cut at ${MAX_INPUT_BYTES} bytes`
          : `stdin still open after ${STDIN_TIMEOUT_MS} ms`,
      },
      // performance.now() counts from the process's start, as the hook's own deadline does.
      { deadline: HOOK_REDACTION_DEADLINE_MS },
    );
    if (event && config.endpoint) {
      try {
        const { ensureRelay } = await import("./relay_launcher.ts");
        ensureRelay(config);
      } catch (error) {
        reportToStderr(`Cannot start the relay: ${errorMessage(error)}`);
      }
    }
  } catch (error) {
    reportToStderr(`Cannot record the event: ${errorMessage(error)}`);
  }
  Deno.exit(0);
}
