/**
 * The secret formats redaction knows, in the order they run. Formats follow the public rule sets
 * of gitleaks and trufflehog; the generic rules at the end are tuned for precision, because
 * over-redacted telemetry is useless. `docs/schema.md` lists these rules (generated).
 *
 * @module
 */
import type { RedactionMode } from "./contract.ts";

/** One way a secret can look. */
export interface RedactionRule {
  /** Rule id; the marker that replaces a match is `[REDACTED:<id>]`. */
  readonly id: string;
  /** What the rule finds, for the docs. */
  readonly description: string;
  /**
   * The pattern. The secret is its named group `secret…` where it has one (the rest is context
   * that stays), else the whole match; a group `lead` captured in a lookbehind extends it to the
   * left, so a pattern can start at a rare character. Flags `g` and `d` are added by the engine.
   */
  readonly pattern: RegExp;
  /**
   * Lower-case strings of which at least one must occur in a text for the rule to run at all:
   * a cheap pre-filter, as in gitleaks. Omitted: the rule always runs.
   */
  readonly keywords?: readonly string[];
  /**
   * A cheap test of the lower-cased text, run after the keywords, for rules whose keywords are
   * common words: it must hold wherever the pattern can match. Omitted: the keywords decide.
   */
  readonly gate?: RegExp;
  /** Rejects a candidate that the pattern matched but that is not a secret after all. */
  readonly accept?: (secret: string, match: RegExpExecArray) => boolean;
  /** The lowest mode in which the rule runs: "standard" (secrets) or "strict" (personal data). */
  readonly mode?: Exclude<RedactionMode, "off">;
  /**
   * Further passes under the same id, each with its own pattern and keywords. A pattern that
   * reads to the end of a line so that a failed search costs one scan of that line (linear time),
   * not one per start, must run alone: in an alternation it would swallow the others' matches.
   */
  readonly passes?: readonly { readonly pattern: RegExp; readonly keywords: readonly string[] }[];
  /** What stands in place of a match; default `[REDACTED:<id>]`. */
  readonly replace?: (secret: string) => string;
}

/** The host-name rule is built per VM from its names and salt; this is its entry in the docs. */
export const HOST_NAME_RULE = {
  id: "host_name",
  mode: "strict",
  description: "The VM's host names (`Deno.hostname()` and `ZO_REDACTION_HOSTS`), replaced by " +
    "host-<first 12 hex of HMAC-SHA256(salt, name)>: stable per name, not reversible without the salt.",
} as const;

// Character classes used by several rules.
const B64 = "A-Za-z0-9+/";
const B64URL = "A-Za-z0-9_\\-";
/** Characters that end an unquoted value in shell, env files, URLs and logs. */
const VALUE_END = String.raw`\s"'\x60;&|<>()\[\]{},\\`;

/**
 * A credential made of parameters (`name=value, ...`), from its first name to the end of its
 * line (a literal `\\n` ends a line in escaped JSON), with folded continuation lines that start
 * with a parameter. The first `=` must be followed by a value: `dXNlcg==` is base64, not a list.
 * Every loop holds one character class or one fixed token: linear time.
 */
const PARAM_LIST = String
  .raw`[A-Za-z0-9_-]+[ \t]*=[ \t]*[^\s=,](?:[^\\\r\n]|\\(?![nr]))*(?:(?:\r?\n|\\r\\n|\\n)[ \t]+[A-Za-z0-9_-]+[ \t]*=(?:[^\\\r\n]|\\(?![nr]))*)*`;

/** Words that, at the end of a name, say its value is a secret. */
const SECRET_WORDS = [
  "pass(?:words?|wd|phrases?)",
  "pwd",
  "secrets?",
  "token",
  "api[_.-]?keys?",
  // Plural "tokens" only after a word that makes them credentials: max_tokens is a count.
  "(?:api|access|auth|refresh|bearer|session|id)[_.-]?tokens",
  "apikey",
  "access[_.-]?key",
  "private[_.-]?key",
  "secret[_.-]?key",
  "signing[_.-]?key",
  "encryption[_.-]?key",
  "master[_.-]?key",
  "session[_.-]?key",
  "client[_.-]?secret",
  "credentials?",
  "auth[_.-]?key",
  "secret[_.-]?key[_.-]?base",
  String.raw`(?<=[_.-]|\b)pass`, // "pass" alone or after a separator, not "bypass"
];

/** A secret word that ends a name, for patterns that start at the word. */
const SECRET_WORD = String.raw`(?:${SECRET_WORDS.join("|")})(?![A-Za-z0-9_.-])`;

/** The whole name whose secret word a match starts at, e.g. "DB_PASSWORD" for "PASSWORD". */
function nameAt(match: RegExpExecArray): string {
  const word = /^[A-Za-z0-9_.-]*/.exec(match[0])![0];
  const before =
    /[A-Za-z0-9_.-]{0,64}$/.exec(match.input.slice(Math.max(0, match.index - 64), match.index))![0];
  return before + word;
}

/**
 * Keys whose value is a secret, for structured data (a whole JSON key): anything ending in
 * password, secret, token, api_key, ... in any case, with `_`, `-`, `.` or camelCase. One bounded
 * character class: a nested quantifier here, as in `(?:[a-z]+_?)*`, backtracks exponentially on
 * long identifiers and would hang a hook.
 */
export const SECRET_KEY = new RegExp(`^[A-Za-z0-9_.-]{0,64}?(?:${SECRET_WORDS.join("|")})$`, "i");

/** Header-like keys whose whole value is a credential. */
export const CREDENTIAL_HEADER_KEY = /^(?:proxy-)?authorization$|^(?:set-)?cookie$/i;

/** Set-Cookie attributes: their values (a path, a date, a domain) are not the cookie. */
const COOKIE_ATTRIBUTES = new Set([
  "path",
  "domain",
  "expires",
  "max-age",
  "samesite",
  "priority",
  "secure",
  "httponly",
  "partitioned",
]);

/**
 * A cookie list with each value of 6 characters or more replaced (`a=V; b=W`): short values
 * (`lang=en`, `theme=dark`) and attributes stay, so does a value already redacted.
 */
function redactCookieValues(list: string): string {
  return list.replace(
    /(?<=^|[;,][ \t]*)([^=;,\s]{1,128})=([^;,]*)/g,
    (pair, name: string, value: string) => {
      const trimmed = value.trim();
      if (COOKIE_ATTRIBUTES.has(name.toLowerCase()) || trimmed.length < 6) return pair;
      if (trimmed.startsWith("[REDACTED:")) return pair;
      return `${name}=[REDACTED:cookie_header]`;
    },
  );
}

/** Keys that end like a secret name but hold something else. */
const NOT_SECRET_KEYS = new Set(["bypass", "compass", "passthrough"]);

/** PWD and OLDPWD are the shell's directories; Pwd= in a connection string is a password. */
const DIRECTORY_KEYS = new Set(["pwd", "oldpwd"]);
const PATH_LIKE = /^(?:[/~]|[A-Za-z]:[\\/])/;

/**
 * True when `key` names a secret, e.g. `DB_PASSWORD`, `apiKey`, `client-secret`; with `value`,
 * also checks the pair (`PWD=/srv/app` is a directory, `Pwd=s3cret` a password).
 */
export function isSecretKey(key: string, value?: string): boolean {
  const lower = key.toLowerCase();
  if (!SECRET_KEY.test(key) || NOT_SECRET_KEYS.has(lower)) return false;
  return !(DIRECTORY_KEYS.has(lower) && (value === undefined || PATH_LIKE.test(value)));
}

const PLACEHOLDER = new RegExp(
  [
    String.raw`^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$`, // $VAR, ${VAR}
    String.raw`^\$\(.*\)$`, // $(command)
    String.raw`^%[A-Za-z_][A-Za-z0-9_]*%$`, // %VAR%
    String.raw`^\{\{.*\}\}$`, // {{ template }}
    String.raw`^<[^<>]*>$`, // <your-token>
    String.raw`^\*+$|^x+$|^\.+$|^-+$|^_+$|^•+$|\*{3}`, // masks, and values shown masked
    String.raw`^(?:true|false|null|none|nil|undefined|yes|no|on|off|required|optional)$`,
    String
      .raw`^(?:str|string|int|number|bool|boolean|bytes|any|unknown|object|secret|password|token|redacted|changeme|placeholder|example|dummy|test|xxx+)$`,
    String.raw`^(?:process\.env|os\.environ|env|self|this|ENV|config|settings|secrets)\b`, // references
    String.raw`^\[REDACTED:[a-z0-9_]+\]$`,
    String.raw`EXAMPLE(?:KEY)?$`, // AWS's documentation keys, allowlisted as gitleaks does
  ].join("|"),
  "i",
);

/** A call, a dotted reference, or a bare name without digits: `x = value` in code. */
const LOOKS_LIKE_CODE = /\(|^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$|^[A-Za-z_$][A-Za-z_$]*$/;

/** Accepts a value for a generic rule unless it is a placeholder, a reference or a type name. */
export function isLiteralSecret(value: string): boolean {
  return value.length >= 3 && !PLACEHOLDER.test(value.trim());
}

/** True when `text` is exactly one redaction marker. */
export function isMarker(text: string): boolean {
  return /^\[REDACTED:[a-z0-9_]+\]$/.test(text);
}

/** The rules, most specific first: a provider's format wins over a generic rule. */
export const RULES: readonly RedactionRule[] = [
  {
    id: "pem_private_key",
    description: "PEM private key blocks (RSA, EC, DSA, OpenSSH, PKCS#8, encrypted), BEGIN to END.",
    pattern:
      /-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s\\]{40,})/,
    keywords: ["private key"],
  },
  {
    id: "jwt",
    description: "JSON Web Tokens: three base64url parts, the first two starting with eyJ.",
    pattern: new RegExp(
      String
        .raw`(?<![${B64URL}])eyJ[${B64URL}]{8,}\.eyJ[${B64URL}]{8,}\.[${B64URL}]*(?![${B64URL}.])`,
    ),
    keywords: ["eyj"],
  },
  {
    id: "aws_access_key",
    description:
      "AWS access key ids (AKIA, ASIA, ABIA, ACCA, A3T…) and other IAM unique ids (AGPA, AIDA, " +
      "AROA, AIPA, ANPA, ANVA, APKA): the prefix and 16 of [A-Z0-9], the wider alphabet " +
      "trufflehog takes. AWS's documentation keys (…EXAMPLE) are allowlisted.",
    pattern:
      /(?<![A-Za-z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}(?![A-Za-z0-9])/,
    keywords: [
      "akia",
      "asia",
      "abia",
      "acca",
      "a3t",
      "agpa",
      "aida",
      "aroa",
      "aipa",
      "anpa",
      "anva",
      "apka",
    ],
    // AWS's documentation keys, allowlisted as gitleaks does.
    accept: (secret) => !secret.endsWith("EXAMPLE"),
  },
  {
    id: "aws_secret_key",
    description: "AWS secret access keys: 40 base64 characters next to an AWS secret key name.",
    pattern: new RegExp(
      String
        .raw`(?:aws_?secret_?(?:access_?)?key|secret_?access_?key|aws_?secret)(?:["'\\]*)\s*(?:[:=]|=>)\s*(?:["'\\]*)(?<secret>[${B64}]{40})(?![${B64}])`,
      "i",
    ),
    keywords: ["secret"],
    accept: (secret) => !secret.endsWith("EXAMPLEKEY"),
  },
  {
    id: "azure_storage_key",
    description: "Azure storage account keys (AccountKey= in connection strings).",
    pattern: new RegExp(String.raw`AccountKey=(?<secret>[${B64}]{86}==)`, "i"),
    keywords: ["accountkey"],
  },
  {
    id: "azure_shared_access_key",
    description: "SharedAccessKey= in Service Bus, Event Hubs and IoT Hub connection strings.",
    pattern: new RegExp(String.raw`SharedAccessKey=(?<secret>[${B64}]{32,}=*)`, "i"),
    keywords: ["sharedaccesskey"],
  },
  {
    id: "azure_sas_token",
    description: "The signature (sig=) of Azure shared access signature URLs and tokens.",
    pattern: /[?&;]sig=(?<secret>[A-Za-z0-9%+/=]{20,})/i,
    keywords: ["sig="],
  },
  {
    id: "azure_ad_client_secret",
    description: "Microsoft Entra ID (Azure AD) client secrets (…Q~…).",
    pattern: /(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])/,
    keywords: ["q~"],
  },
  {
    id: "gcp_api_key",
    description: "Google API keys (AIza…).",
    pattern: new RegExp(String.raw`(?<![${B64URL}])AIza[${B64URL}]{35}(?![${B64URL}])`),
    keywords: ["aiza"],
  },
  {
    id: "digitalocean_token",
    description: "DigitalOcean personal, OAuth and refresh tokens (dop_v1_, doo_v1_, dor_v1_).",
    pattern: /\bdo[opr]_v1_[a-f0-9]{64,}(?![A-Za-z0-9_])/,
    keywords: ["_v1_"],
  },
  {
    id: "github_fine_grained_pat",
    description: "GitHub fine-grained personal access tokens (github_pat_…).",
    pattern: /\bgithub_pat_[A-Za-z0-9_]{82,}(?![A-Za-z0-9_])/,
    keywords: ["github_pat_"],
  },
  {
    id: "github_pat",
    description: "GitHub classic personal access tokens (ghp_…).",
    pattern: /\bghp_[A-Za-z0-9]{36,}(?![A-Za-z0-9_])/,
    keywords: ["ghp_"],
  },
  {
    id: "github_oauth_token",
    description: "GitHub OAuth access tokens (gho_…).",
    pattern: /\bgho_[A-Za-z0-9]{36,}(?![A-Za-z0-9_])/,
    keywords: ["gho_"],
  },
  {
    id: "github_app_token",
    description: "GitHub App user-to-server and installation tokens (ghu_…, ghs_…).",
    pattern: /\bgh[us]_[A-Za-z0-9]{36,}(?![A-Za-z0-9_])/,
    keywords: ["ghu_", "ghs_"],
  },
  {
    id: "github_refresh_token",
    description: "GitHub refresh tokens (ghr_…).",
    pattern: /\bghr_[A-Za-z0-9]{36,}(?![A-Za-z0-9_])/,
    keywords: ["ghr_"],
  },
  {
    id: "gitlab_token",
    description: "GitLab tokens: personal, deploy, runner, pipeline trigger, CI job, feed, OAuth….",
    pattern:
      /\bgl(?:pat|dt|rt|ptt|cbt|ft|imt|oas|soat|agent|ffct|wt|rtr)-[A-Za-z0-9_-]{20,}(?:\.[A-Za-z0-9_-]+)*|\bGR1348941[A-Za-z0-9_-]{20,}/,
    keywords: [
      ...["pat", "dt", "rt", "ptt", "cbt", "ft", "imt", "oas", "soat", "agent", "ffct", "wt"]
        .map((kind) => `gl${kind}-`),
      "gr1348941",
    ],
  },
  {
    id: "slack_webhook",
    description: "Slack incoming webhook and workflow URLs.",
    pattern: /https?:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9+/_-]{20,}/,
    keywords: ["hooks.slack.com"],
  },
  {
    id: "slack_token",
    description: "Slack bot, user, app, config and refresh tokens (xoxb-, xoxp-, xapp-, …).",
    pattern: /\bxox[abeoprs]-(?:\d+-)?[A-Za-z0-9-]{10,}|\bxapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+/,
    keywords: ["xox", "xapp-"],
  },
  {
    id: "telegram_bot_token",
    description: "Telegram bot tokens (<bot id>:AA…).",
    // The bot id may follow "bot", as in api.telegram.org/bot<token>/sendMessage.
    pattern: /(?<=(?:^|[^A-Za-z0-9_:-]|bot)(?<lead>\d{5,16})):A[A-Za-z0-9_-]{34}(?![A-Za-z0-9_-])/,
    keywords: [":a"],
  },
  {
    id: "stripe_secret_key",
    description: "Stripe secret and restricted keys (sk_live_, sk_test_, rk_live_, rk_test_).",
    pattern: /\b[rs]k_(?:live|test|prod)_[A-Za-z0-9]{10,}(?![A-Za-z0-9_])/,
    keywords: ["k_live_", "k_test_", "k_prod_"],
  },
  {
    id: "stripe_webhook_secret",
    description: "Stripe webhook signing secrets (whsec_…).",
    pattern: /\bwhsec_[A-Za-z0-9+/=]{24,}/,
    keywords: ["whsec_"],
  },
  {
    id: "anthropic_api_key",
    description: "Anthropic API and admin keys (sk-ant-…).",
    pattern: /\bsk-ant-(?:api|admin|sid|oat|ort)\d{2}-[A-Za-z0-9_-]{20,}/,
    keywords: ["sk-ant-"],
  },
  {
    id: "openai_api_key",
    description: "OpenAI project, service account, admin and legacy keys (sk-proj-…, T3BlbkFJ).",
    pattern:
      // Starts only where a run of key characters starts: from every "sk-" inside one, the
      // search for T3BlbkFJ rescanned the run (quadratic).
      /(?<![A-Za-z0-9_-])sk-(?:(?:proj|svcacct|admin|None)-)?[A-Za-z0-9_-]{16,}T3BlbkFJ[A-Za-z0-9_-]{16,}|(?<![A-Za-z0-9_-])sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}/,
    keywords: ["sk-"],
  },
  {
    id: "huggingface_token",
    description: "Hugging Face access tokens (hf_…) and organisation tokens (api_org_…).",
    pattern: /\b(?:hf_|api_org_)[A-Za-z0-9]{34,}(?![A-Za-z0-9_])/,
    keywords: ["hf_", "api_org_"],
  },
  {
    id: "npm_token",
    description: "npm access tokens (npm_…).",
    pattern: /\bnpm_[A-Za-z0-9]{36,}(?![A-Za-z0-9_])/,
    keywords: ["npm_"],
  },
  {
    id: "pypi_token",
    description: "PyPI upload tokens (pypi-AgEIcHlwaS5vcmc…).",
    pattern: /\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}/,
    keywords: ["pypi-ageichlwas5vcmc"],
  },
  {
    id: "sendgrid_api_key",
    description: "SendGrid API keys (SG.<22>.<43>).",
    pattern: /(?<![A-Za-z0-9_.-])SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/,
    keywords: ["sg."],
  },
  {
    id: "twilio_api_key",
    description: "Twilio API key secrets' ids (SK + 32 hex); account SIDs (AC…) are not secrets.",
    pattern: /\bSK[0-9a-fA-F]{32}(?![A-Za-z0-9_])/,
    keywords: ["sk"],
  },
  {
    id: "databricks_token",
    description: "Databricks personal access tokens (dapi…).",
    pattern: /\bdapi[a-f0-9]{32}(?:-\d)?(?![A-Za-z0-9_-])/,
    keywords: ["dapi"],
  },
  {
    id: "shopify_token",
    description: "Shopify access tokens and shared secrets (shpat_, shpca_, shppa_, shpss_).",
    pattern: /\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32,}(?![A-Za-z0-9_])/,
    keywords: ["shpat_", "shpca_", "shppa_", "shpss_"],
  },
  {
    id: "age_secret_key",
    description: "age encryption secret keys (AGE-SECRET-KEY-1…).",
    pattern: /\bAGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}(?![A-Za-z0-9_])/,
    keywords: ["age-secret-key-1"],
  },
  {
    id: "url_credentials",
    description: "Passwords inside URLs (scheme://user:password@host); the user name stays.",
    pattern: /:\/\/[^\s:/?#@"'<>\\]*:(?<secret>[^\s/?#@"'<>\\]+)@(?=[^\s/?#@"'<>\\])/,
    keywords: ["://"],
  },
  {
    id: "authorization_header",
    description:
      "Credentials in Authorization and Proxy-Authorization headers (any scheme), in any " +
      "Dash-Case header whose last word is key, token or secret (X-Api-Key, X-Auth-Token, " +
      "X-Vault-Token, Ocp-Apim-Subscription-Key, ...). A credential of parameters (Digest's username, nonce, " +
      "cnonce, response, ...; quoted, unquoted or JSON-escaped) goes to the end of its line, with " +
      "folded continuation lines; so does a bare `Digest username=...` list.",
    pattern: new RegExp(
      String
        .raw`(?<![A-Za-z0-9/-])(?:(?:proxy-)?authorization\\*["']?\s*[:=]\s*\\*["'\x60]?(?:[A-Za-z][A-Za-z0-9._-]{0,31}[ \t]+)?|(?:x-)?(?:api-key|auth-token|access-token)\\*["']?[ \t]*:[ \t]*)(?!\[REDACTED:)(?<secret>${PARAM_LIST}|[^\s"'\x60\\,;]{6,})`,
      "i",
    ),
    // Any scheme, not only the known ones: "Custom V" would otherwise leave V and redact
    // "Custom". A list of parameters is taken to the end of the line, not parameter by
    // parameter: quotes escaped once or twice (JSON in JSON), an escaped quote inside a value or
    // an unquoted first parameter each ended a parameter-wise match early, leaving the rest.
    keywords: ["authorization", "api-key", "auth-token", "access-token"],
    // A scheme already followed by a marker is not a credential: redacting twice changes nothing.
    accept: (secret, match) =>
      isLiteralSecret(secret) &&
      !/^[ \t]+\[REDACTED:/.test(
        match.input.slice(match.index + match[0].length, match.index + match[0].length + 12),
      ),
    passes: [
      {
        // A Dash-Case header of three or more words whose last says key, token or secret:
        // X-Auth-Key, Ocp-Apim-Subscription-Key, X-Vault-Token, X-Shopify-Access-Token (two
        // words, as secret-key: V, are the generic rules'), at the start of a line or a quoted
        // string, as headers are written (not "sort-by-key: x" in prose). Starts at the "-" before the last
        // word, a literal, and reads the name back by lookbehind: trying every word as a
        // header's start cost the 100 KB bench several ms.
        pattern:
          /(?<=(?:^|[\r\n"'])[ \t]*[A-Za-z0-9]+-[A-Za-z0-9]+(?:-[A-Za-z0-9]+){0,2})-(?:api-?key|key|token|secret)\\*["']?[ \t]*:[ \t]*\\*["']?(?!\[REDACTED:)(?<secret>[^\s"'\x60\\,;]{6,})/i,
        keywords: ["-key", "-token", "-secret", "-api"],
      },
      {
        // Digest parameters without their header name: [["Authorization", "Digest ..."]].
        pattern: new RegExp(
          String
            .raw`(?<![A-Za-z0-9_-])Digest[ \t]+(?=(?:username|realm|nonce|uri|response|cnonce|opaque|qop|nc|algorithm|userhash)[ \t]*=)(?<secret>${PARAM_LIST})`,
          "i",
        ),
        keywords: ["digest"],
      },
    ],
  },
  {
    id: "cookie_header",
    description:
      "Cookie values in Cookie and Set-Cookie headers and curl's --cookie: each value of 6 " +
      "characters or more goes, the cookie names and Set-Cookie's attributes (Path, Expires, ...) stay.",
    // The header's value to the end of its line or string; its values are replaced one by one
    // (replace below), so a session id goes while `theme=dark` and the names stay.
    pattern:
      /(?<![A-Za-z0-9_-])(?:(?:set-)?cookie\\*["']?[ \t]*:[ \t]*\\*["']?|--cookie(?:=|[ \t]+)\\*["']?)(?<secret>[^\r\n"'\x60\\]+)/i,
    keywords: ["cookie"],
    replace: redactCookieValues,
  },
  {
    id: "bearer_token",
    description: "Bearer tokens outside an Authorization header.",
    pattern: /(?<![A-Za-z0-9_-])bearer\s+(?<secret>[A-Za-z0-9._~+/=-]{16,})/i,
    keywords: ["bearer"],
    accept: (secret) => isLiteralSecret(secret) && /\d/.test(secret),
  },
  {
    id: "password_flag",
    description:
      "Secrets passed on command lines: --password, --token, --api-key, --client-secret and kin; " +
      "mysql -p…, sshpass -p, docker login -p, curl -u user:password, aws configure set " +
      "aws_secret_access_key, openssl -pass pass:…, and .netrc password.",
    pattern: new RegExp(
      String
        .raw`(?<![\w-])--(?:pass(?:word|wd|phrase)?|token|api-?key|access-?token|auth-?token|client-?secret|secret(?:-?key)?|access-?key|private-?key)(?:=|\s+)(?<q1>["']?)(?<secret>[^\s"'\x60-][^\s"'\x60]*)\k<q1>`,
    ),
    // Not a plain "--": that would send most commands (npm --test, git --no-pager) through this
    // pattern's compile and scan for nothing.
    keywords: [
      "--pass",
      "--token",
      "--api",
      "--access",
      "--auth",
      "--client",
      "--secret",
      "--private",
    ],
    // Each command pass reads the rest of its line when it finds no flag (the `|[^\n]*` branch),
    // so the next search starts on the next line: without it, every "mysql" of a long line
    // rescanned the line, which took ~50 s on 600 KB.
    passes: [
      {
        pattern:
          /\b(?:mysql|mysqldump|mysqladmin|mariadb)\b(?:[^\n]*?\s-p(?<secret>[^\s"'\x60]+)|[^\n]*)/,
        keywords: ["mysql", "mariadb"],
      },
      {
        pattern:
          /\b(?:sshpass|docker\s+login|podman\s+login)\b(?:[^\n]*?\s-p\s*(?<q>["']?)(?<secret>[^\s"'\x60-][^\s"'\x60]*)\k<q>|[^\n]*)/,
        keywords: ["sshpass", "login"],
      },
      {
        pattern:
          /\bcurl\b(?:[^\n]*?\s(?:-u|--user)\s*(?<q>["']?)[^\s:"']+:(?<secret>[^\s"'@]+)\k<q>|[^\n]*)/,
        keywords: ["curl"],
      },
      {
        pattern:
          /\baws\s+configure\s+set\s+(?:[\w-]+\.)?(?:aws_secret_access_key|aws_session_token)\s+(?<q>["']?)(?<secret>[^\s"'\x60]+)\k<q>/,
        keywords: ["configure"],
      },
      {
        // openssl's -pass/-passin/-passout pass:<password>.
        pattern: /(?<![\w-])-pass(?:in|out)?\s+(?<q>["']?)pass:(?<secret>[^\s"'\x60]+)\k<q>/,
        keywords: ["pass:"],
      },
      {
        // .netrc: machine <host> [login <user>] [account <a>] password <password>, any layout.
        pattern:
          /(?<![\w-])(?:machine[ \t\r\n]+[^\s]+|default)(?:[ \t\r\n]+(?:login|account|port)[ \t\r\n]+[^\s]+){0,3}[ \t\r\n]+password[ \t\r\n]+(?<secret>[^\s]+)/,
        keywords: ["machine", "default"],
      },
    ],
    // A value given on a command line is literal unless the shell expands it.
    accept: (secret) => !secret.startsWith("$"),
  },
  {
    id: "secret_assignment",
    description:
      "Values assigned to names that say they hold a secret (password, secret, token, api_key, " +
      'private_key, client_secret, …): key=value, export KEY=, "key": "value", key: \'value\', ' +
      "YAML key: value. References ($VAR, process.env.X, getToken()) and type names stay.",
    // Starts at the secret word, the rare part, and checks what precedes it by lookbehind
    // placed after it: scanning every identifier from its start cost ~3 ms per 100 KB.
    pattern: new RegExp(
      SECRET_WORD + "(?:" + [
        // Quoted value: "password": "x", password = 'x', \"token\":\"x\" (JSON inside a string).
        String
          .raw`\\*["']?\s*(?::=|=>|[:=])\s*(?:\[\s*|\{\s*\\*["']?[A-Za-z0-9_.-]{1,64}\\*["']?\s*:\s*)?\\*(?<q>["'\x60])(?<secret>[^"'\x60\\\r\n]+)\\*\k<q>`,
        // Unquoted, no spaces around "=": env files, `env` output, shell, URL query strings, and
        // a string that starts with one ("password=V" in JSON not parsed, say garbage input).
        String
          .raw`(?<=(?:^|[\s;&|?(:="'\x60])[A-Za-z0-9_.-]{1,96})=(?<secret2>[^$${VALUE_END}][^${VALUE_END}]*)(?=[${VALUE_END}]|$)`,
        // YAML / properties: key: value alone on its line.
        String
          .raw`(?<=^[ \t-]*[A-Za-z0-9_.-]{1,96}):[ \t]+(?<secret3>[^\s"'\x60#&*!|>{\[$][^\s#]*)(?<![;,])[ \t]*(?:#.*)?$`,
        // INI, TOML, .my.cnf, properties: key = value alone on its line.
        String
          .raw`(?<=^[ \t]*[A-Za-z0-9_.-]{1,96})[ \t]+=[ \t]+(?<secret4>[^\s"'\x60#;$][^\s#;]*)[ \t]*(?:[#;].*)?$`,
      ].join("|") + ")",
      "im",
    ),
    keywords: ["pass", "pwd", "secret", "token", "key", "credential"],
    // Every secret word ends in one of these, then not in a name character: "12 passing" and
    // "keyboard" skip the pattern's compile and scan.
    gate: /(?:words?|wd|phrases?|pass|pwd|secrets?|tokens?|keys?|credentials?|base)(?![a-z0-9_.-])/,
    accept: (secret, match) =>
      isSecretKey(nameAt(match), secret) && isLiteralSecret(secret) &&
      // `key = value` is also how code assigns: a bare name or a call there is code, not a secret.
      (match.groups?.secret4 === undefined || !LOOKS_LIKE_CODE.test(secret)),
  },
  {
    id: "email",
    mode: "strict",
    description: "E-mail addresses (strict mode). git@host: SSH remotes stay.",
    // Starts at the "@" and picks up the local part by lookbehind (see `lead`): far cheaper
    // than trying every word of a text as a possible local part.
    pattern:
      /(?<=(?<![A-Za-z0-9._%+-])(?<lead>[A-Za-z0-9._%+-]{1,64}))@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9-])/,
    keywords: ["@"],
    accept: (secret) => !/^git@/i.test(secret),
  },
  {
    id: "home_dir",
    mode: "strict",
    description:
      "Home directories (/home/<user>, /Users/<user>, /root, C:\\Users\\<user>), shown as ~.",
    pattern:
      /(?<![\w.~-])(?:\/home\/[^/\s"'`:;,|\\]+|\/Users\/[^/\s"'`:;,|\\]+|\/root(?=[/\s"'`:;,|\\]|$)|[A-Za-z]:\\{1,2}Users\\{1,2}[^\\\s"'`:;,|/]+)/,
    keywords: ["/home/", "/users/", "/root", "users\\"],
    replace: () => "~",
  },
];
