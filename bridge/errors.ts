/**
 * The bridge's one error type for answers to clients: a status, a message a person can act on,
 * optional structured details and headers. The app's error handler turns it into
 * `{"error": ..., "details": ...}`; anything else becomes a logged 500 that echoes nothing.
 *
 * @module
 */

/** A client-facing failure with its HTTP status (4xx, or 503 for a store that is down). */
export class HttpError extends Error {
  override name = "HttpError";
  /** HTTP status of the answer. */
  readonly status: number;
  /** Machine-readable detail, sent as `details`. */
  readonly details?: unknown;
  /** Extra response headers, e.g. `Retry-After` or `Allow`. */
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    message: string,
    options: { details?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.status = status;
    this.details = options.details;
    this.headers = options.headers ?? {};
  }
}

/** A JSON response with the given status and headers. */
export function jsonResponse(
  body: unknown,
  init: { status?: number; headers?: Record<string, string> } = {},
): Response {
  return new Response(JSON.stringify(body), {
    status: init.status ?? 200,
    headers: { "content-type": "application/json; charset=utf-8", ...init.headers },
  });
}

/** The response for an {@linkcode HttpError}: `{"error": message, "details"?: details}`. */
export function errorResponse(error: HttpError): Response {
  const body: Record<string, unknown> = { error: error.message };
  if (error.details !== undefined) body.details = error.details;
  return jsonResponse(body, { status: error.status, headers: error.headers });
}
