/**
 * The whole of every `hooks/<event>.ts` entry script: read the payload from stdin (bounded in
 * size and time), load the settings (or safe defaults), record it through the hook pipeline
 * (`hook_pipeline.ts`), start a relay when events are to be shipped, and exit. Whatever
 * happens, the hook exits 0 with nothing on stdout: it must never get in the agent's way.
 *
 * @module
 */
import { ConfigError } from "../../shared/config.ts";
import { createHookPipeline, type HookHint, reportToStderr } from "./hook_pipeline.ts";
import { loadVmConfig, logDirProblem, type VmConfig } from "./vm_config.ts";
import { errorMessage, readEnv } from "./_util.ts";

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
