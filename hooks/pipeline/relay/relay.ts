/**
 * The relay process of one log dir: holds the single-instance lock and heartbeat, ships the spool
 * to `ZO_EVENT_ENDPOINT` (see `pump.ts`), keeps the spool within `ZO_SPOOL_MAX_MB`, deletes
 * shipped segments, serves Claude Code's `"type": "http"` hooks on a loopback port, and starts
 * the usage collector of a transcript directory when hooks queued usage jobs for it (so that the
 * Stop-type hooks never pay for starting a process; `hooks/pipeline/usage/launcher.ts`). Started
 * on demand by a hook (then it exits after `ZO_RELAY_IDLE_SECONDS` with nothing to do) or run as
 * a service (until stopped).
 *
 * @module
 */
import { createHookPipeline, type HookPipeline } from "../hook_pipeline.ts";
import { LAUNCH_MARKER } from "../relay_launcher.ts";
import { baseContext, hostName, redactorFor, sessionRunId } from "../hook_context.ts";
import { UNKNOWN_SESSION } from "../envelope.ts";
import { LAYOUT, removeShippedSegment } from "../spool.ts";
import { type DropReport, enforceSpoolBound } from "../spool_bound.ts";
import { startPendingCollectors } from "../usage/launcher.ts";
import type { VmConfig } from "../vm_config.ts";
import type { BackoffOptions } from "./backoff.ts";
import { type Checkpoint, readCheckpoint, SPOOL_START } from "./checkpoint.ts";
import { type HttpHookServer, RELAY_SERVICE, startHttpHookServer } from "./http_hook_server.ts";
import { createRecordPool, type RecordPool } from "./record_pool.ts";
import { acquireRelayLock } from "./instance_lock.ts";
import { type DeleteOutcome, pump, type PumpFiles, type PumpTotals } from "./pump.ts";
import { createShipper, DeliveryError, type Shipper } from "./shipper.ts";
import { keyFingerprint, writeRelayStatus } from "./relay_status.ts";
import { type ShippedFile, SpoolReader } from "./spool_reader.ts";
import { logDirSource } from "./spool_source.ts";
import { errorMessage, sleep } from "../_util.ts";

/** Options of {@linkcode runRelay}. */
export interface RelayOptions {
  config: VmConfig;
  /**
   * Exit after this long with nothing to ship and no http hook request, in ms; 0 or undefined:
   * run until `signal` aborts (a service).
   */
  idleMs?: number;
  /** The http-hook port; default `config.relayPort`; `null` serves no http hooks. 0: any free. */
  httpPort?: number | null;
  /** How often to look for new spool lines when drained, in ms; default 250. */
  pollMs?: number;
  /** How often to enforce the spool bound, in ms; default 5,000. */
  boundEveryMs?: number;
  /** Batches in flight at once; default 4 (`DEFAULT_CONCURRENCY` of `pump.ts`). */
  concurrency?: number;
  /** Batch size limits; defaults in `spool_reader.ts`. */
  batch?: { maxEvents?: number; maxBytes?: number };
  backoff?: BackoffOptions;
  /** Stops the relay (SIGTERM, SIGINT, tests). */
  signal?: AbortSignal;
  /** How long to wait for another relay's lock before giving up, in ms; default 2,000. */
  lockTimeoutMs?: number;
  /** Operator-facing lines; default stderr. */
  log?: (line: string) => void;
  /** Told the http-hook port once listening (tests, benchmarks). */
  onListen?: (port: number) => void;
  /**
   * The install this relay serves, as `GET /relay` tells it and as hook URLs' `install`
   * parameter must name it; default {@linkcode relayInstallDir}.
   */
  installDir?: string;
}

/** The install this code runs from: the directory holding its `hooks/` (`<install>/hooks/`). */
export function relayInstallDir(): string {
  return decodeURIComponent(new URL("../../..", import.meta.url).pathname).replace(/(.)\/$/, "$1");
}

/** Why {@linkcode runRelay} returned, with what it did. */
export interface RelayResult {
  /** `locked`: another relay runs for the log dir; `idle`: nothing to do for `idleMs`. */
  reason: "locked" | "idle" | "stopped";
  totals: PumpTotals;
}

function defaultLog(line: string): void {
  // deno-lint-ignore no-console -- the relay's operator reads stderr
  console.error(line);
}

/** Paths of the relay's own files in `logDir`. */
export function relayFiles(logDir: string): PumpFiles {
  return {
    checkpoint: `${logDir}/${LAYOUT.checkpointFile}`,
    deadLetter: `${logDir}/${LAYOUT.deadLetterFile}`,
    quarantine: `${logDir}/${LAYOUT.quarantineFile}`,
  };
}

/** Deletes segments read and shipped to their end, keeping those that grew since. */
async function removeShipped(
  logDir: string,
  files: readonly ShippedFile[],
): Promise<DeleteOutcome> {
  const outcome: DeleteOutcome = { gone: [], grown: [] };
  for (const file of files) {
    const found = await removeShippedSegment(logDir, file);
    (found === "grown" ? outcome.grown : outcome.gone).push(file.name);
  }
  return outcome;
}

/**
 * Runs the relay for `options.config.logDir` until stopped or idle. Returns `locked` at once
 * when another relay holds the log dir; then a pending lock call remains, so an entry script
 * should exit the process.
 */
export async function runRelay(options: RelayOptions): Promise<RelayResult> {
  const { config } = options;
  const log = options.log ?? defaultLog;
  const totals: PumpTotals = { shipped: 0, deadLettered: 0, quarantined: 0, batches: 0 };
  const lock = await acquireRelayLock(config.logDir, { timeoutMs: options.lockTimeoutMs });
  if (!lock) return { reason: "locked", totals };
  // The launch this marker stood for has happened: with it gone, the first hook after this relay
  // leaves starts the next one, however soon (else hooks within LAUNCH_GRACE_MS of this launch
  // started none, and their events waited in the spool for a later hook).
  await Deno.remove(`${config.logDir}/${LAUNCH_MARKER}`).catch(() => {});
  if (config.apiKey !== undefined && config.apiKeyVariable === "ZO_API_KEY") {
    log(
      "Warning: ZO_API_KEY is the old name of the ingest key; set ZO_INGEST_KEY instead " +
        "(re-running bootstrap moves it in the install's .env)",
    );
  }
  try {
    await writeRelayStatus(config.logDir, {
      pid: Deno.pid,
      started_at: new Date().toISOString(),
      key_variable: config.apiKeyVariable,
      key_fingerprint: config.apiKey === undefined ? null : await keyFingerprint(config.apiKey),
    });
  } catch (error) {
    // Only doctor reads it: shipping goes on without.
    log(`Cannot write ${LAYOUT.statusFile}: ${errorMessage(error)}`);
  }

  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) stop.abort();

  let lastActivity = Date.now();
  let server: HttpHookServer | undefined;
  let pool: RecordPool | undefined;
  let shipper: Shipper | undefined;
  let boundTimer: ReturnType<typeof setInterval> | undefined;
  let bounding: Promise<void> = Promise.resolve();
  try {
    const host = hostName();
    const redactor = await redactorFor(config.shared.redaction, host);
    const report: DropReport = {
      context: {
        ...await baseContext(config, { redactor, host }),
        session_id: UNKNOWN_SESSION,
        run_id: await sessionRunId(config.logDir, UNKNOWN_SESSION, config.runId),
      },
      redactor,
      maxEventBytes: config.shared.maxEventBytes,
    };

    const httpPort = options.httpPort === undefined ? config.relayPort : options.httpPort;
    if (httpPort !== null) {
      const pipeline: HookPipeline = await createHookPipeline(config, {
        redactor,
        host,
        onError: (message) => log(`Cannot record an http hook event: ${message}`),
      });
      // Large bodies are redacted in workers: one slow payload never stalls the other posts.
      const recordPool = createRecordPool({
        config,
        host,
        log,
        onStopped: async (hint, reason) => {
          await pipeline.record(new Uint8Array(0), { ...hint, incomplete: reason });
        },
      });
      pool = recordPool;
      try {
        server = startHttpHookServer(pipeline, {
          port: httpPort,
          identity: {
            service: RELAY_SERVICE,
            install_dir: options.installDir ?? relayInstallDir(),
            log_dir: config.logDir,
            pid: Deno.pid,
          },
          pool: recordPool,
          onEvent: () => {
            lastActivity = Date.now();
          },
          log,
        });
        options.onListen?.(server.port);
      } catch (error) {
        // Shipping matters more than the http endpoint: keep going without it.
        log(
          `Cannot serve http hooks on 127.0.0.1:${httpPort}: ${errorMessage(error)}; ` +
            "run deno task doctor to see who holds it, and re-run bootstrap with --relay-port to " +
            "pick another (command hooks still work)",
        );
      }
    }

    const enforceBound = () => {
      bounding = bounding.then(async () => {
        try {
          const drop = await enforceSpoolBound(config.logDir, config.spoolMaxBytes, { report });
          if (drop.events > 0) {
            log(
              `Spool above ZO_SPOOL_MAX_MB: dropped ${drop.events} unshipped events ` +
                `(${drop.segments.length} oldest segments)`,
            );
          }
        } catch (error) {
          log(`Cannot keep the spool within ZO_SPOOL_MAX_MB: ${errorMessage(error)}`);
        }
      });
      return bounding;
    };
    await enforceBound();
    boundTimer = setInterval(enforceBound, options.boundEveryMs ?? 5_000);

    let reader: SpoolReader | undefined;
    const readerOptions = { ...options.batch, onBadCheckpoint: log };
    if (config.endpoint) {
      const files = relayFiles(config.logDir);
      let start: Checkpoint;
      try {
        start = await readCheckpoint(files.checkpoint);
      } catch (error) {
        log(`${errorMessage(error)}; shipping from the start (the bridge keeps each event once)`);
        start = { ...SPOOL_START };
      }
      // No segment is deleted for its name: one named before the checkpoint may have been
      // written after the clock went back. Shipped ones a crash left are shipped again.
      reader = new SpoolReader(logDirSource(config.logDir), start, readerOptions);
      shipper = createShipper({
        endpoint: config.endpoint,
        apiKey: config.apiKey,
        apiKeyVariable: config.apiKeyVariable,
        backoff: options.backoff,
        signal: stop.signal,
        log,
      });
    }

    /** One pump pass; the number of batches it committed. */
    const pass = async (reader: SpoolReader, shipper: Shipper): Promise<number> => {
      const done = await pump(reader, shipper, {
        files: relayFiles(config.logDir),
        concurrency: options.concurrency,
        signal: stop.signal,
        deleteShipped: (files) => removeShipped(config.logDir, files),
      });
      totals.shipped += done.shipped;
      totals.deadLettered += done.deadLettered;
      totals.quarantined += done.quarantined;
      totals.batches += done.batches;
      return done.batches;
    };

    const collectorsStarted = new Map<string, number>();
    /** Starts the usage collectors hooks left jobs for; one started counts as activity. */
    const startCollectors = async () => {
      try {
        const started = await startPendingCollectors(config.logDir, {
          started: collectorsStarted,
        });
        if (started.length > 0) lastActivity = Date.now();
      } catch (error) {
        log(`Cannot start the usage collector: ${errorMessage(error)}`);
      }
    };

    const idleMs = options.idleMs ?? 0;
    while (!stop.signal.aborted) {
      await startCollectors();
      if (reader && shipper) {
        try {
          if ((await pass(reader, shipper)) > 0) lastActivity = Date.now();
        } catch (error) {
          if (error instanceof DeliveryError && error.aborted) break;
          // A disk error, say: report it and try again from the last checkpoint.
          log(`Cannot ship the spool: ${errorMessage(error)}; retrying`);
          reader = new SpoolReader(
            logDirSource(config.logDir),
            await readCheckpoint(relayFiles(config.logDir).checkpoint).catch(() =>
              reader!.checkpoint
            ),
            readerOptions,
          );
          await sleep(5_000, stop.signal);
          continue;
        }
      }
      if (idleMs > 0 && Date.now() - lastActivity >= idleMs) {
        // Leaving: first let hooks know (they start a new relay from now on), then look once
        // more for lines appended by hooks that still saw the heartbeat fresh; a relay a hook
        // starts from now on waits for this lock (DEFAULT_LOCK_TIMEOUT_MS), then takes over.
        await lock.setAlive(false);
        await startCollectors();
        const unread = reader ? await reader.hasUnread().catch(() => true) : false;
        if (!unread && Date.now() - lastActivity >= idleMs) return { reason: "idle", totals };
        await lock.setAlive(true);
        continue;
      }
      await sleep(options.pollMs ?? 250, stop.signal);
    }
    return { reason: "stopped", totals };
  } finally {
    stop.abort();
    options.signal?.removeEventListener("abort", onAbort);
    clearInterval(boundTimer);
    await bounding;
    // Requests in progress are answered (their lines appended) before the server goes.
    await server?.shutdown();
    await pool?.close();
    shipper?.close();
    await lock.release();
  }
}
