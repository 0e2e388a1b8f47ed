/**
 * Reads an OTLP/HTTP request body: JSON (`application/json`) or protobuf
 * (`application/x-protobuf`), plain or gzip. Protobuf is decoded by the OpenTelemetry JS
 * project's generated OTLP classes (`npm:@opentelemetry/otlp-transformer`), loaded only when a
 * protobuf body arrives (`otlp_protobuf.ts`), so a JSON-only install never loads it. Either way the result has the
 * shape of the OTLP/JSON encoding (camelCase fields, 64-bit integers as decimal strings), which is
 * what `telemetry_payloads.ts` reads.
 *
 * @module
 */

import type { OtlpSignal } from "./otlp_signal.ts";

/** How the body was encoded; the answer is encoded the same way. */
export type OtlpFormat = "json" | "protobuf";

/** Largest body after gzip is undone: a small gzip bomb cannot fill the relay's memory. */
export const MAX_OTLP_BODY_BYTES = 16 * 1024 * 1024;

/** What {@linkcode decodeOtlpBody} found. */
export type DecodedBody =
  | { ok: true; format: OtlpFormat; request: Record<string, unknown> }
  | { ok: false; format: OtlpFormat; status: 400 | 413 | 415; message: string };

/** The encoding a `content-type` names; undefined when OTLP/HTTP has none such. */
export function formatOf(contentType: string | null): OtlpFormat | undefined {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "application/json") return "json";
  if (type === "application/x-protobuf" || type === "application/protobuf") return "protobuf";
  return undefined;
}

/** Undoes gzip, refusing output past `max` bytes. */
async function gunzip(bytes: Uint8Array, max: number): Promise<Uint8Array | "too_large"> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(
    new DecompressionStream("gzip"),
  );
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let length = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > max) {
      await reader.cancel();
      return "too_large";
    }
    parts.push(value);
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The protobuf module (`otlp_protobuf.ts`), once loaded. */
export type OtlpProtobuf = typeof import("./otlp_protobuf.ts");

/** Where the protobuf module is (inside the code directories the relay may read). */
export const OTLP_PROTOBUF_MODULE = new URL("./otlp_protobuf.ts", import.meta.url);

let loaded: Promise<OtlpProtobuf> | undefined;

/**
 * Loads the protobuf module on first use. Its specifier is computed, so it is not in the relay's
 * module graph: a relay starts without resolving any npm package, and one whose Deno cache lacks
 * the package (an install without `--otlp-protobuf`) fails only here, on a protobuf body.
 */
export function loadOtlpProtobuf(): Promise<OtlpProtobuf> {
  loaded ??= import(OTLP_PROTOBUF_MODULE.href).catch((error) => {
    loaded = undefined;
    throw error;
  }) as Promise<OtlpProtobuf>;
  return loaded;
}

/**
 * Decodes one request body. `contentEncoding` may be `gzip` (or absent / `identity`); anything
 * else, or a `content-type` OTLP/HTTP does not define, is a 415; a body that does not decode, a
 * 400; one over {@linkcode MAX_OTLP_BODY_BYTES} once decompressed, a 413.
 */
export async function decodeOtlpBody(
  signal: OtlpSignal,
  body: Uint8Array,
  headers: { contentType: string | null; contentEncoding: string | null },
  max: number = MAX_OTLP_BODY_BYTES,
): Promise<DecodedBody> {
  const format = formatOf(headers.contentType);
  if (format === undefined) {
    return {
      ok: false,
      format: "json",
      status: 415,
      message: `Cannot read content-type ${
        JSON.stringify(headers.contentType ?? "")
      }: OTLP/HTTP takes application/json or application/x-protobuf`,
    };
  }
  const encoding = (headers.contentEncoding ?? "identity").trim().toLowerCase();
  let bytes = body;
  if (encoding === "gzip") {
    let unzipped: Uint8Array | "too_large";
    try {
      unzipped = await gunzip(body, max);
    } catch (error) {
      return { ok: false, format, status: 400, message: `Cannot gunzip the body: ${why(error)}` };
    }
    if (unzipped === "too_large") {
      return { ok: false, format, status: 413, message: tooLarge(max) };
    }
    bytes = unzipped;
  } else if (encoding !== "identity" && encoding !== "") {
    return {
      ok: false,
      format,
      status: 415,
      message: `Cannot read content-encoding ${JSON.stringify(encoding)}: use gzip or none`,
    };
  }
  if (bytes.length > max) return { ok: false, format, status: 413, message: tooLarge(max) };
  if (format === "json") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(bytes));
    } catch (error) {
      return {
        ok: false,
        format,
        status: 400,
        message: `Cannot parse the JSON body: ${why(error)}`,
      };
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      return { ok: false, format, status: 400, message: "Cannot read the body: not a JSON object" };
    }
    return { ok: true, format, request: parsed as Record<string, unknown> };
  }
  let protobuf: OtlpProtobuf;
  try {
    protobuf = await loadOtlpProtobuf();
  } catch (error) {
    return {
      ok: false,
      format,
      status: 415,
      message: `Cannot decode protobuf in this install (${
        why(error).split("\n")[0]
      }; bootstrap --otlp-protobuf caches the decoder): set OTEL_EXPORTER_OTLP_PROTOCOL=http/json`,
    };
  }
  try {
    return { ok: true, format, request: protobuf.decodeExportRequest(signal, bytes) };
  } catch (error) {
    return {
      ok: false,
      format,
      status: 400,
      message: `Cannot decode the protobuf body: ${why(error)}`,
    };
  }
}

function tooLarge(max: number): string {
  return `Cannot take a body over ${max} bytes (after gzip is undone)`;
}

function why(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
