/**
 * The relay's OTLP/HTTP receiver: `POST /v1/logs` and `POST /v1/metrics` on its loopback port,
 * where Claude Code's exporter sends when `OTEL_EXPORTER_OTLP_ENDPOINT` names the relay. Each
 * log record and metric point becomes a `telemetry` envelope through the hook pipeline (the same
 * redaction, size cap, spool and shipping as a hook event), appended before the answer goes out.
 *
 * Answers as OTLP/HTTP expects, encoded like the request: an empty success; a partial success
 * naming how many records could not be kept and why; 503 with `Retry-After` when none could be
 * (the spool refused them: the exporter tries again later); 400, 413 or 415 for a body it cannot
 * read (the exporter does not retry those).
 *
 * @module
 */
import { type HookHint, type HookPipeline, REDACTION_BUDGET_MS } from "../hook_pipeline.ts";
import { readBody } from "../relay/http_hook_server.ts";
import type { RecordPool } from "../relay/record_pool.ts";
import {
  decodeOtlpBody,
  loadOtlpProtobuf,
  MAX_OTLP_BODY_BYTES,
  type OtlpFormat,
} from "./otlp_body.ts";
import type { OtlpSignal } from "./otlp_signal.ts";
import { payloadsFromLogs, payloadsFromMetrics } from "./telemetry_payloads.ts";

/** The partial-success field of each signal's response, and the name of its count. */
const REJECTED_FIELD: Readonly<Record<OtlpSignal, string>> = {
  logs: "rejectedLogRecords",
  metrics: "rejectedDataPoints",
};

/** Seconds the exporter is asked to wait before retrying a body nothing of which was kept. */
export const RETRY_AFTER_SECONDS = 5;

async function encodeResponse(
  signal: OtlpSignal,
  format: OtlpFormat,
  body: Record<string, unknown>,
): Promise<Uint8Array | string> {
  if (format === "json") return JSON.stringify(body);
  if (Object.keys(body).length === 0) return new Uint8Array(0);
  const { encodeExportResponse } = await loadOtlpProtobuf();
  return encodeExportResponse(signal, body);
}

const CONTENT_TYPE: Readonly<Record<OtlpFormat, string>> = {
  json: "application/json",
  protobuf: "application/x-protobuf",
};

/** Options of {@linkcode handleOtlpRequest}. */
export interface OtlpRequestOptions {
  /**
   * The relay's record pool: the records of a body over `inlineBodyBytes` are redacted and
   * spooled by its workers, one after another, so a large export never holds up the relay's
   * event loop (other posts, shipping) and a record that would take its whole budget is cut by
   * a worker that can be terminated.
   */
  pool?: RecordPool;
  /** Bodies up to this many bytes are recorded on the event loop. */
  inlineBodyBytes?: number;
  /** Redaction budget of one record, in ms. */
  budgetMs?: number;
}

/**
 * Handles one OTLP/HTTP export request for `signal` (see the module doc). Never throws: a
 * failure of its own is answered as a 503 so that the exporter keeps the data and retries.
 */
export async function handleOtlpRequest(
  pipeline: HookPipeline,
  signal: OtlpSignal,
  request: Request,
  options: OtlpRequestOptions = {},
): Promise<Response> {
  let format: OtlpFormat = "json";
  try {
    const { bytes, complete } = await readBody(request, MAX_OTLP_BODY_BYTES);
    const decoded = await decodeOtlpBody(signal, bytes, {
      contentType: request.headers.get("content-type"),
      contentEncoding: request.headers.get("content-encoding"),
    });
    format = decoded.format;
    if (!complete) {
      return status(413, format, `Cannot take a body over ${MAX_OTLP_BODY_BYTES} bytes`);
    }
    if (!decoded.ok) return status(decoded.status, format, decoded.message);
    const payloads = signal === "logs"
      ? payloadsFromLogs(decoded.request)
      : payloadsFromMetrics(decoded.request);
    const hint: HookHint = { script: `relay otlp ${signal}`, kind: "telemetry" };
    const pool = options.pool !== undefined && bytes.length > (options.inlineBodyBytes ?? 0)
      ? options.pool
      : undefined;
    const deadline = () =>
      options.budgetMs === undefined ? {} : { deadline: performance.now() + options.budgetMs };
    let rejected = 0;
    const encoder = new TextEncoder();
    for (const payload of payloads) {
      if (pool !== undefined) {
        // The pool keeps every record: spooled by its worker, or as a stand-in if it was stopped.
        await pool.record(
          encoder.encode(JSON.stringify(payload)),
          hint,
          options.budgetMs ?? REDACTION_BUDGET_MS,
        );
        continue;
      }
      const event = await pipeline.record(JSON.stringify(payload), hint, deadline());
      if (event === undefined) rejected++;
    }
    if (rejected > 0 && rejected === payloads.length) {
      return status(503, format, "Cannot keep the records: the spool refused them", {
        "retry-after": String(RETRY_AFTER_SECONDS),
      });
    }
    const body = rejected === 0 ? {} : {
      partialSuccess: {
        [REJECTED_FIELD[signal]]: String(rejected),
        errorMessage:
          `${rejected} of ${payloads.length} records could not be kept: the spool refused them`,
      },
    };
    return new Response(await encodeResponse(signal, format, body) as BodyInit, {
      status: 200,
      headers: { "content-type": CONTENT_TYPE[format] },
    });
  } catch (error) {
    return status(503, format, `Cannot take the records: ${(error as Error).message}`, {
      "retry-after": String(RETRY_AFTER_SECONDS),
    });
  }
}

/**
 * A failure answer: OTLP's `Status` as JSON for a JSON request; for a protobuf one, the message
 * as plain text (exporters only log it).
 */
function status(
  code: number,
  format: OtlpFormat,
  message: string,
  headers: Record<string, string> = {},
): Response {
  if (format === "json") {
    // gRPC codes: 3 INVALID_ARGUMENT, 8 RESOURCE_EXHAUSTED, 14 UNAVAILABLE.
    const grpc = code === 503 ? 14 : code === 413 ? 8 : 3;
    return Response.json({ code: grpc, message }, { status: code, headers });
  }
  return new Response(message, {
    status: code,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}
