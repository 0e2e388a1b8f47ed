/**
 * OTLP's protobuf messages, from the OpenTelemetry JS project's generated classes: the export
 * requests the relay decodes and the responses it encodes. Loaded only when a protobuf body
 * arrives, through a specifier the relay's module graph does not hold (`loadOtlpProtobuf()` of
 * `otlp_body.ts`): neither the relay's start nor `deno cache` of the hooks resolves an npm
 * package. The specifiers are full `npm:` ones because the VM runs without a config file (no
 * import map); there the relay may load them from the install's Deno cache only
 * (`--cached-only`), which `bootstrap --otlp-protobuf` fills.
 *
 * @module
 */
// The generated classes' package wants @opentelemetry/api below 1.10 as a peer: named here, it
// resolves to a version they accept (else Deno takes the newest and warns on every load).
import "npm:@opentelemetry/api@1.9.1";
import generated from "npm:@opentelemetry/otlp-transformer@0.212.0/build/src/generated/root.js";
import type { OtlpSignal } from "./otlp_signal.ts";

/** The part of a generated protobufjs message class used here. */
interface MessageClass {
  decode(bytes: Uint8Array): unknown;
  toObject(message: unknown, options: Record<string, unknown>): Record<string, unknown>;
  fromObject(object: Record<string, unknown>): unknown;
  encode(message: unknown): { finish(): Uint8Array };
}

// deno-lint-ignore no-explicit-any -- generated code, typed by its own .d.ts as namespaces
const collector = (generated as any).opentelemetry.proto.collector;

function classes(signal: OtlpSignal): { request: MessageClass; response: MessageClass } {
  const service = signal === "logs" ? collector.logs.v1 : collector.metrics.v1;
  return signal === "logs"
    ? { request: service.ExportLogsServiceRequest, response: service.ExportLogsServiceResponse }
    : {
      request: service.ExportMetricsServiceRequest,
      response: service.ExportMetricsServiceResponse,
    };
}

/**
 * Decodes an export request into the shape of the OTLP/JSON encoding (camelCase fields, 64-bit
 * integers as decimal strings, enums as numbers). Throws on bytes that are not one.
 */
export function decodeExportRequest(
  signal: OtlpSignal,
  bytes: Uint8Array,
): Record<string, unknown> {
  const { request } = classes(signal);
  return request.toObject(request.decode(bytes), { longs: String, enums: Number, bytes: String });
}

/** Encodes an export response (`{}` or `{partialSuccess: {...}}`). */
export function encodeExportResponse(
  signal: OtlpSignal,
  body: Record<string, unknown>,
): Uint8Array {
  const { response } = classes(signal);
  return response.encode(response.fromObject(body)).finish();
}

/** Encodes an export request: for tests and the benchmark, which play Claude Code's exporter. */
export function encodeExportRequest(signal: OtlpSignal, body: Record<string, unknown>): Uint8Array {
  const { request } = classes(signal);
  return request.encode(request.fromObject(body)).finish();
}
