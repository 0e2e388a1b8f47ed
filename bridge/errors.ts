/**
 * The bridge's one error type for answers to clients: a reason from the contract's vocabulary
 * (`REJECTIONS` in `shared/contract.ts`, which gives its status and `Retry-After`), a message a
 * person can act on, optional structured details and headers. The app's error handler turns it
 * into `{"error": ..., "reason": ..., "details": ...}`; anything else becomes a logged 500 that
 * echoes nothing.
 *
 * @module
 */
import { type RejectionReason, REJECTIONS } from "../shared/contract.ts";

/** Options of {@linkcode HttpError}. */
export interface HttpErrorOptions {
  /** Machine-readable detail, sent as `details`. */
  details?: unknown;
  /** Extra response headers, e.g. `Allow`. */
  headers?: Record<string, string>;
  /** `Retry-After` in seconds; default the reason's own (none for most). */
  retryAfterSeconds?: number;
}

/** A client-facing failure: its reason decides the HTTP status (4xx, or 503 for a store down). */
export class HttpError extends Error {
  override name = "HttpError";
  /** Why, in the contract's vocabulary; sent as `reason`. */
  readonly reason: RejectionReason;
  /** HTTP status of the answer, from the reason. */
  readonly status: number;
  /** Machine-readable detail, sent as `details`. */
  readonly details?: unknown;
  /** Extra response headers, e.g. `Retry-After` or `Allow`. */
  readonly headers: Record<string, string>;

  constructor(reason: RejectionReason, message: string, options: HttpErrorOptions = {}) {
    super(message);
    const rejection = REJECTIONS[reason];
    this.reason = reason;
    this.status = rejection.status;
    this.details = options.details;
    this.headers = { ...options.headers };
    const retryAfter = options.retryAfterSeconds ??
      ("retryAfterSeconds" in rejection ? rejection.retryAfterSeconds : undefined);
    if (retryAfter !== undefined) this.headers["retry-after"] = String(retryAfter);
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

/** The response for an {@linkcode HttpError}: `{"error", "reason", "details"?}`. */
export function errorResponse(error: HttpError): Response {
  const body: Record<string, unknown> = { error: error.message, reason: error.reason };
  if (error.details !== undefined) body.details = error.details;
  return jsonResponse(body, { status: error.status, headers: error.headers });
}
