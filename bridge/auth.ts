/**
 * Who may do what: API keys with scopes (`ingest`, `read`, `admin`), optionally bound to one
 * project. Keys are configured in plain text or as `sha256:<hex>` and compared in constant time
 * (SHA-256 of both sides, then a loop over every byte of every configured digest), so neither
 * the key nor which entry matched leaks through timing. Keys never appear in errors or logs:
 * a matched key is named by its position in the configuration (`ZO_API_KEYS[2]`).
 *
 * `ZO_API_KEYS` (and `ZO_API_KEYS_FILE`, where lines starting with `#` are comments) holds
 * entries separated by commas or new lines, each `<scopes>[@<project_id>]:<key>`, where `<scopes>` is `ingest`, `read` or `admin`,
 * or several joined by `+`:
 *
 * ```text
 * ingest@acme:3f9a0c1e5b7d2a4c6e8f,read:sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
 * ```
 *
 * @module
 */
import { ConfigError } from "../shared/config.ts";
import { HttpError } from "./errors.ts";

/** What a key may do. `admin` may do everything. */
export const SCOPES = ["ingest", "read", "admin"] as const;
/** One of {@linkcode SCOPES}. */
export type Scope = typeof SCOPES[number];

/** The shortest plain-text key accepted: shorter ones are guessable. */
export const MIN_KEY_CHARS = 16;

/** One configured key, before hashing. */
export interface ApiKeyConfig {
  /** Where it came from, for messages and logs: `ZO_API_KEY`, `ZO_API_KEYS[1]`, ... */
  name: string;
  scopes: Scope[];
  /** When set, the key may only write and read this project's events. */
  projectId?: string;
  /** The key itself, or its SHA-256 as lowercase hex (`sha256:<hex>` in the configuration). */
  secret: { plain: string } | { sha256: string };
}

/** The caller of a request, as authentication found it. */
export interface Principal {
  /** The matched key's name (never the key), or "anonymous" when no keys are configured. */
  name: string;
  scopes: ReadonlySet<Scope>;
  /** The project the key is bound to, if any. */
  projectId?: string;
}

const SHA256_PREFIX = "sha256:";
const HEX64 = /^[0-9a-f]{64}$/;
const PROJECT_ID = /^[^\s,:@]{1,256}$/;

/** Parses the `ZO_API_KEYS` syntax; `source` names the variable or file in messages. */
export function parseApiKeys(text: string, source: string): ApiKeyConfig[] {
  const entries = text.split("\n").filter((line) => !line.trimStart().startsWith("#"))
    .flatMap((line) => line.split(",")).map((entry) => entry.trim()).filter((entry) =>
      entry !== ""
    );
  return entries.map((entry, index) => {
    const name = `${source}[${index}]`;
    const colon = entry.indexOf(":");
    if (colon < 0) {
      throw new ConfigError(
        `Cannot read ${name}: write it as <scopes>[@<project_id>]:<key>, like ingest@acme:<key>`,
      );
    }
    const head = entry.slice(0, colon);
    const at = head.indexOf("@");
    const scopeText = at < 0 ? head : head.slice(0, at);
    const projectId = at < 0 ? undefined : head.slice(at + 1);
    const scopes = scopeText.split("+").map((scope) => scope.trim().toLowerCase());
    for (const scope of scopes) {
      if (!(SCOPES as readonly string[]).includes(scope)) {
        throw new ConfigError(
          `Cannot read ${name}: scope "${scope}" is not one of ${SCOPES.join(", ")}`,
        );
      }
    }
    if (projectId !== undefined && !PROJECT_ID.test(projectId)) {
      throw new ConfigError(
        `Cannot read ${name}: the project id after "@" must be 1-256 characters without spaces, ",", ":" or "@"`,
      );
    }
    return checkedKey({
      name,
      scopes: [...new Set(scopes)] as Scope[],
      projectId,
      secret: secretOf(entry.slice(colon + 1)),
    });
  });
}

/** A secret as written in the configuration: plain text, or `sha256:<64 hex>`. */
export function secretOf(text: string): ApiKeyConfig["secret"] {
  if (text.startsWith(SHA256_PREFIX)) return { sha256: text.slice(SHA256_PREFIX.length) };
  return { plain: text };
}

/** Checks one key's configuration; throws {@linkcode ConfigError} without echoing the key. */
export function checkedKey(key: ApiKeyConfig): ApiKeyConfig {
  if ("sha256" in key.secret) {
    if (!HEX64.test(key.secret.sha256)) {
      throw new ConfigError(
        `Cannot read ${key.name}: after "sha256:" put the key's SHA-256 as 64 lowercase hex characters`,
      );
    }
  } else if (key.secret.plain.length < MIN_KEY_CHARS || /[\s,]/.test(key.secret.plain)) {
    throw new ConfigError(
      `Cannot use ${key.name}: a key needs at least ${MIN_KEY_CHARS} characters and no spaces or commas (make one with: openssl rand -hex 24)`,
    );
  }
  if (key.scopes.length === 0) {
    throw new ConfigError(`Cannot use ${key.name}: it has no scope`);
  }
  return key;
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

function hexBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** The key a request presents: `Authorization: Bearer <key>`, else `X-API-Key: <key>`. */
export function presentedKey(req: Request): string | undefined {
  const authorization = req.headers.get("authorization");
  if (authorization !== null) {
    const match = /^\s*bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match) return match[1];
  }
  const header = req.headers.get("x-api-key")?.trim();
  return header ? header : undefined;
}

/** Finds who sent a request; see {@linkcode createAuthenticator}. */
export type Authenticator = (req: Request) => Promise<Principal>;

const ANONYMOUS: Principal = { name: "anonymous", scopes: new Set(SCOPES) };

/**
 * An authenticator over the configured keys. With no keys at all, every caller is an anonymous
 * admin (the bridge refuses to listen beyond loopback then). Throws {@linkcode ConfigError} when
 * two entries hold the same key, since which scopes apply would be ambiguous.
 */
export async function createAuthenticator(keys: readonly ApiKeyConfig[]): Promise<Authenticator> {
  const entries = await Promise.all(keys.map(async (key) => ({
    principal: {
      name: key.name,
      scopes: new Set(key.scopes),
      ...(key.projectId === undefined ? {} : { projectId: key.projectId }),
    } satisfies Principal,
    digest: "plain" in key.secret ? await sha256(key.secret.plain) : hexBytes(key.secret.sha256),
  })));
  const seen = new Map<string, string>();
  for (const { principal, digest } of entries) {
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    const earlier = seen.get(hex);
    if (earlier !== undefined) {
      throw new ConfigError(
        `Cannot use ${principal.name}: it is the same key as ${earlier}; give each key one entry`,
      );
    }
    seen.set(hex, principal.name);
  }

  return async (req) => {
    if (entries.length === 0) return ANONYMOUS;
    const key = presentedKey(req);
    if (key === undefined) {
      throw new HttpError(
        "unauthorized",
        "Cannot authenticate: send Authorization: Bearer <key> or X-API-Key",
        {
          headers: { "www-authenticate": 'Bearer realm="zo-telemetry"' },
        },
      );
    }
    const digest = await sha256(key);
    // Every entry is compared in full, whatever matched, so timing says nothing about which.
    let found: Principal | undefined;
    for (const entry of entries) {
      let diff = 0;
      for (let i = 0; i < digest.length; i++) diff |= digest[i]! ^ entry.digest[i]!;
      if (diff === 0) found = entry.principal;
    }
    if (found === undefined) {
      throw new HttpError(
        "unauthorized",
        "Cannot authenticate: the API key is not known to this bridge",
        {
          headers: { "www-authenticate": 'Bearer realm="zo-telemetry", error="invalid_token"' },
        },
      );
    }
    return found;
  };
}

/** Throws 403 unless the principal holds `scope` (or `admin`). */
export function requireScope(principal: Principal, scope: Scope): void {
  if (principal.scopes.has(scope) || principal.scopes.has("admin")) return;
  throw new HttpError(
    "forbidden_scope",
    `Cannot allow this: key ${principal.name} lacks the "${scope}" scope`,
    { details: { required_scope: scope } },
  );
}
