/**
 * Doctor's checks of the bridge: `GET <endpoint>/../health`, and whether it takes the key, by a
 * `POST` of an empty body to the ingest URL (answered 400 `empty_body` once the key has passed,
 * 401/403 before; nothing is stored, though the bridge counts one malformed request in
 * `zo_events_rejected_total`). The key itself is never printed.
 *
 * @module
 */
import { type CheckResult, messageOf } from "./doctor_result.ts";

/** How long doctor waits for the bridge. */
export const REQUEST_TIMEOUT_MS = 5_000;

/** Endpoint: `GET health` next to the ingest URL answers 200. */
export async function checkEndpoint(env: Map<string, string>): Promise<CheckResult> {
  const name = "endpoint";
  const endpoint = env.get("ZO_EVENT_ENDPOINT");
  if (!endpoint) {
    return { name, status: "skip", detail: "no ZO_EVENT_ENDPOINT: events stay in the local spool" };
  }
  let url: URL;
  try {
    url = new URL("health", endpoint);
  } catch {
    return {
      name,
      status: "fail",
      detail: `ZO_EVENT_ENDPOINT "${endpoint}" is no URL`,
      fix: "re-run bootstrap with --endpoint https://<bridge>/ingest",
    };
  }
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    await response.body?.cancel();
    if (response.ok) return { name, status: "ok", detail: `GET ${url.href}: ${response.status}` };
    return {
      name,
      status: "fail",
      detail: `GET ${url.href}: ${response.status}` +
        (response.status === 503 ? " (the bridge runs but cannot reach its Chroma)" : ""),
      fix: response.status === 503
        ? "look at the bridge's log and its Chroma"
        : "check that ZO_EVENT_ENDPOINT points at the bridge's /ingest",
    };
  } catch (error) {
    return {
      name,
      status: "fail",
      detail: `no answer from ${url.href}: ${messageOf(error)}`,
      fix: `check the URL in the .env, DNS, the firewall and TLS: curl -sS ${url.href}`,
    };
  }
}

/** Key: the bridge lets an empty ingest request past authentication (400 `empty_body`). */
export async function checkApiKey(
  env: Map<string, string>,
  endpointOk: boolean,
  envFile: string,
): Promise<CheckResult> {
  const name = "api key";
  const endpoint = env.get("ZO_EVENT_ENDPOINT");
  if (!endpoint) return { name, status: "skip", detail: "no endpoint" };
  if (!endpointOk) return { name, status: "skip", detail: "the endpoint does not answer" };
  const key = env.get("ZO_INGEST_KEY") ?? env.get("ZO_API_KEY");
  const fix = `put an ingest key of the bridge into ZO_INGEST_KEY in ${envFile} ` +
    "(re-run bootstrap with --key-file <file>)";
  let status: number;
  let reason: string | undefined;
  try {
    const response = await fetch(endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-ndjson",
        ...(key ? { authorization: `Bearer ${key}` } : {}),
      },
      body: "",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    status = response.status;
    const body = await response.text();
    try {
      reason = JSON.parse(body)?.details?.reason;
    } catch {
      reason = undefined;
    }
  } catch (error) {
    return { name, status: "fail", detail: `POST ${endpoint}: ${messageOf(error)}`, fix };
  }
  if (status === 400 && reason === "empty_body") {
    return {
      name,
      status: "ok",
      detail: key ? "the bridge accepts the key for ingest" : "the bridge takes events with no key",
    };
  }
  if (status === 401) {
    return {
      name,
      status: "fail",
      detail: key ? "the bridge does not know the key (401)" : "the bridge wants a key (401)",
      fix,
    };
  }
  if (status === 403) {
    return { name, status: "fail", detail: "the key lacks the ingest scope (403)", fix };
  }
  if (status === 429 || status === 503) {
    return { name, status: "warn", detail: `the bridge is busy (${status}); try again shortly` };
  }
  return {
    name,
    status: "fail",
    detail: `POST ${endpoint} answered ${status}, not the bridge's 400 for an empty body`,
    fix: "check that ZO_EVENT_ENDPOINT is the bridge's /ingest URL",
  };
}
