/**
 * The OTLP/HTTP paths the relay answers, apart from the rest of the receiver so that the http-hook
 * server can route without loading it.
 *
 * @module
 */

/** The two OTLP signals the relay takes. */
export type OtlpSignal = "logs" | "metrics";

/** The signal an OTLP/HTTP path names, if it is one the relay takes. */
export function otlpSignalOf(pathname: string): OtlpSignal | undefined {
  if (pathname === "/v1/logs") return "logs";
  if (pathname === "/v1/metrics") return "metrics";
  return undefined;
}
