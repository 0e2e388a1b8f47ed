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

/**
 * Key project: the project the key is bound to (`GET /whoami`) is this install's
 * `ZO_PROJECT_ID`. A bound key gets past the empty `POST` of the api key check, yet the bridge
 * refuses (403) every event of another project, or of none, and the relay dead-letters them.
 */
export async function checkKeyProject(
  env: Map<string, string>,
  keyOk: boolean,
  fixes: { envFile: string; rerun: string },
): Promise<CheckResult> {
  const name = "key project";
  const endpoint = env.get("ZO_EVENT_ENDPOINT");
  if (!endpoint) return { name, status: "skip", detail: "no endpoint" };
  if (!keyOk) return { name, status: "skip", detail: "the key is not taken for ingest" };
  const key = env.get("ZO_INGEST_KEY") || env.get("ZO_API_KEY");
  const url = new URL("whoami", endpoint);
  let status: number;
  let body: { project_id?: unknown } | undefined;
  try {
    const response = await fetch(url, {
      headers: key ? { authorization: `Bearer ${key}` } : {},
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    status = response.status;
    const text = await response.text();
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
  } catch (error) {
    return { name, status: "warn", detail: `GET ${url.href}: ${messageOf(error)}` };
  }
  if (status === 404) {
    return {
      name,
      status: "warn",
      detail: "the bridge has no GET /whoami (older than this checkout): the key's project is " +
        "not checked",
    };
  }
  if (status !== 200 || body === undefined) {
    return { name, status: "warn", detail: `GET ${url.href} answered ${status}` };
  }
  const bound = typeof body.project_id === "string" ? body.project_id : undefined;
  const mine = env.get("ZO_PROJECT_ID") || undefined;
  if (bound === undefined) {
    return {
      name,
      status: "ok",
      detail: `the key may write any project (this install's: ${mine ?? "none"})`,
    };
  }
  if (bound === mine) {
    return {
      name,
      status: "ok",
      detail: `the key is bound to project "${bound}", as this install`,
    };
  }
  return {
    name,
    status: "fail",
    detail: `the key is bound to project "${bound}", but this install's ZO_PROJECT_ID is ` +
      `${mine === undefined ? "not set" : `"${mine}"`}: the bridge refuses every event (403) ` +
      "and the relay dead-letters them",
    fix: `${fixes.rerun} with --project-id ${bound}, or put a key of project ` +
      `"${mine ?? "<project>"}" into ZO_INGEST_KEY in ${fixes.envFile}`,
  };
}
