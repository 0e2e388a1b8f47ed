/**
 * Reaching Chroma: the chromadb client for a URL (checked once), and the one way every call is
 * made, with a deadline and every failure mapped to {@linkcode StoreUnavailableError} (HTTP 503),
 * except Chroma refusing the request's content: {@linkcode StoreRejectedError}.
 *
 * @module
 */
import {
  ChromaClient,
  ChromaClientError,
  ChromaNotFoundError,
  ChromaServerError,
  ChromaValueError,
} from "chromadb";
import { ConfigError } from "../../shared/config.ts";
import { StoreRejectedError, StoreUnavailableError } from "../store.ts";
import { errorMessage } from "../_util.ts";

/** Where and how to reach Chroma. */
export interface ChromaConnection {
  /** Base URL, e.g. `http://127.0.0.1:8000` or `https://api.trychroma.com`. */
  url: string;
  /** Default "default_tenant" (Chroma Cloud: your tenant id). */
  tenant?: string;
  /** Default "default_database". */
  database?: string;
  /**
   * Token for Chroma Cloud or a server with token auth, sent as both `x-chroma-token` (what
   * Chroma Cloud reads) and `Authorization: Bearer` (what token-auth servers may read).
   */
  authToken?: string;
}

/** A chromadb client for `connection`; throws {@linkcode ConfigError} on a bad URL. */
export function chromaClient(connection: ChromaConnection): ChromaClient {
  let url: URL;
  try {
    url = new URL(connection.url);
  } catch {
    throw new ConfigError(`Cannot use Chroma URL "${connection.url}": it is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`Cannot use Chroma URL "${connection.url}": use http:// or https://`);
  }
  if (url.pathname !== "/" && url.pathname !== "") {
    throw new ConfigError(
      `Cannot use Chroma URL "${connection.url}": the chromadb client takes no path; give scheme, host and port`,
    );
  }
  const ssl = url.protocol === "https:";
  const headers: Record<string, string> = {};
  if (connection.authToken) {
    headers["x-chroma-token"] = connection.authToken;
    headers["authorization"] = `Bearer ${connection.authToken}`;
  }
  return new ChromaClient({
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port === "" ? (ssl ? 443 : 80) : Number(url.port),
    ssl,
    tenant: connection.tenant || "default_tenant",
    database: connection.database || "default_database",
    headers,
  });
}

/** Runs one Chroma call, named by what it does (`Cannot ${what}: ...` when it fails). */
export type ChromaCall = <T>(what: string, run: () => Promise<T>) => Promise<T>;

/**
 * Whether Chroma refused a call for what the request holds, so the same call can never succeed
 * and a smaller one may: the client's own checks (`ChromaValueError`), a 400 or 422
 * (`ChromaClientError`; its quota subclass is not one of them in chromadb 3.5, which gives every
 * error class its own base), or a 413, which chromadb 3.5 reports as a `ChromaServerError` whose
 * message is `413: Payload Too Large`. 401, 403, 404 and 429 are about the bridge's access or
 * Chroma's state, and a connection failure or a deadline about Chroma's health: not refusals.
 */
export function isRefusal(error: unknown): boolean {
  if (error instanceof ChromaValueError || error instanceof ChromaClientError) return true;
  return error instanceof ChromaServerError && /^413\b/.test(error.message);
}

/**
 * A {@linkcode ChromaCall} with a deadline of `timeoutMs` per call; a refusal of the request's
 * content ({@linkcode isRefusal}) becomes a StoreRejectedError, every other failure a
 * StoreUnavailableError. `onNotFound` hears of a collection that vanished (a wiped or different
 * server), so its handle is looked up again next time.
 */
export function createChromaCall(
  options: { timeoutMs: number; onNotFound?: () => void },
): ChromaCall {
  const { timeoutMs } = options;
  return async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        run(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (error) {
      if (
        error instanceof StoreUnavailableError || error instanceof StoreRejectedError ||
        error instanceof ConfigError
      ) throw error;
      if (error instanceof ChromaNotFoundError) options.onNotFound?.();
      const reason = errorMessage(error);
      if (isRefusal(error)) {
        throw new StoreRejectedError(`Cannot ${what}: Chroma refused them (${reason})`, {
          cause: error,
        });
      }
      throw new StoreUnavailableError(`Cannot ${what}: Chroma failed (${reason})`, {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
  };
}

/** Most records per Chroma call (the server's limit is 5,461). */
export const MAX_BATCH = 5_000;

/** `items` in parts of at most `size` (default {@linkcode MAX_BATCH}). */
export function chunks<T>(items: readonly T[], size: number = MAX_BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The vector of records that are not searched by similarity (events, artifacts, agent_state):
 * Chroma requires one, and one dimension costs the least to store and index.
 */
export const PLACEHOLDER_EMBEDDING: readonly number[] = [1];
