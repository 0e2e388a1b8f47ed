/**
 * `GET /whoami` (any valid key): who the bridge takes the caller for, so a VM can check its key
 * before its events are refused: the key's name in the configuration, its scopes and the project
 * it is bound to. Never the key, nor its hash. `deno task doctor` compares the project with the
 * install's `ZO_PROJECT_ID`.
 *
 * @module
 */
import { SCOPES } from "../auth.ts";
import { jsonResponse } from "../errors.ts";
import { principalOf, type RouteContext } from "./route.ts";

/** The answer of `GET /whoami`. */
export interface WhoAmI {
  /** The key's place in the configuration (`ZO_API_KEYS[2]`), or `anonymous` with no keys. */
  key: string;
  /** Its scopes, in {@linkcode SCOPES} order. */
  scopes: string[];
  /** The project the key is bound to; null when it may write and read any. */
  project_id: string | null;
}

/** The handler of `GET /whoami`. */
export function whoamiRoute(ctx: RouteContext): Response {
  const principal = principalOf(ctx);
  const answer: WhoAmI = {
    key: principal.name,
    scopes: SCOPES.filter((scope) => principal.scopes.has(scope)),
    project_id: principal.projectId ?? null,
  };
  return jsonResponse(answer);
}
