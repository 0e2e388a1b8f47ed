/**
 * Redaction, run on the VM before an event is written or sent: walks every string of a value
 * (keys too, at any depth) and replaces each secret with `[REDACTED:<rule>]`. Strict mode also
 * masks e-mail addresses, shows home directories as `~` and pseudonymises host names.
 *
 * Redacting twice gives the same result as once: markers never match a rule.
 *
 * A call may carry a deadline, which really bounds it: the clock is read between strings, between
 * rules and every {@linkcode MATCHES_PER_CHECK} matches inside a rule, and once the deadline has
 * passed no new work starts. A string not finished by then is replaced whole by
 * `[REDACTED:redaction_deadline]`, never returned half-redacted; the result counts them. Past the
 * deadline a call does at most one more search for a rule's next match (every rule is linear).
 *
 * @module
 */
import type { RedactionMode } from "./contract.ts";
import {
  CREDENTIAL_HEADER_KEY,
  isLiteralSecret,
  isMarker,
  isSecretKey,
  type RedactionRule,
  RULES,
} from "./redaction_rules.ts";

export type { RedactionRule } from "./redaction_rules.ts";

/** Options of {@linkcode createRedactor}. */
export interface RedactorOptions {
  /** "strict" (default), "standard" or "off". */
  mode?: RedactionMode;
  /** Site-specific rules, run after the built-in secret rules. */
  extraRules?: readonly RedactionRule[];
  /** Host names to pseudonymise in strict mode, e.g. the VM's own (`Deno.hostname()`). */
  hostNames?: readonly string[];
  /** Salt of the host-name pseudonyms (`ZO_REDACTION_SALT`); keep it secret and stable. */
  salt?: string;
}

/** A redacted value and the ids of the rules that fired on it, sorted. */
export interface Redacted<T> {
  value: T;
  rules: string[];
  /**
   * Strings the deadline left unfinished, each replaced whole by {@linkcode DEADLINE_MARKER}
   * (`rules` then holds {@linkcode DEADLINE_RULE}); absent when every string was finished.
   */
  unfinished?: number;
}

/** Options of one redaction call. */
export interface RedactCallOptions {
  /**
   * When to stop, on the `now` clock (default `performance.now()`): strings not finished by then
   * are replaced whole by {@linkcode DEADLINE_MARKER}. Default: no deadline.
   */
  deadline?: number;
  /** The clock the deadline is read on; default `performance.now`. For tests. */
  now?: () => number;
}

/** The id recorded in `redaction.rules` when a deadline cut redaction short. */
export const DEADLINE_RULE = "redaction_deadline";
/** What stands for a string that redaction had no time left to finish. */
export const DEADLINE_MARKER = "[REDACTED:redaction_deadline]";
/** Matches a rule may replace between two readings of the clock (a reading costs ~50 ns). */
export const MATCHES_PER_CHECK = 64;

/** Redacts values with one fixed configuration. */
export interface Redactor {
  /** The mode this redactor applies. */
  readonly mode: RedactionMode;
  /** Redacts every string in `value` (keys included); returns a new value, `value` is untouched. */
  redact<T>(value: T, options?: RedactCallOptions): Redacted<T>;
  /** Redacts one string. */
  redactText(text: string, options?: RedactCallOptions): Redacted<string>;
}

/** The marker that stands where a secret was. */
export function marker(ruleId: string): string {
  return `[REDACTED:${ruleId}]`;
}

interface CompiledRule {
  id: string;
  pattern: RegExp;
  keywords: readonly string[] | undefined;
  gate: RegExp | undefined;
  accept: RedactionRule["accept"];
  replace: (secret: string) => string;
}

/** `text` as a pattern that matches exactly it. */
function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Names too short or too generic to replace everywhere they occur. */
function isPseudonymisable(name: string): boolean {
  return name.length >= 4 && !/^(?:localhost|localdomain|localhost\.localdomain)$/i.test(name);
}

function pseudonymKey(salt: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(`agent-telemetry/host-name/v1:${salt}`),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
}

/**
 * The pseudonym strict mode shows instead of a host name, `host-<12 hex>`: an HMAC keyed by
 * `ZO_REDACTION_SALT`, so the same host always gets the same pseudonym across a fleet.
 */
export async function hostPseudonym(name: string, salt: string): Promise<string> {
  return await pseudonym(await pseudonymKey(salt), name);
}

async function pseudonym(key: CryptoKey, name: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(name.toLowerCase()));
  const hex = Array.from(new Uint8Array(mac).slice(0, 6), (b) => b.toString(16).padStart(2, "0"))
    .join("");
  return `host-${hex}`;
}

async function hostNameRule(names: readonly string[], salt: string): Promise<CompiledRule | null> {
  const wanted = [...new Set(names.map((n) => n.trim().toLowerCase()).filter(isPseudonymisable))]
    .sort((a, b) => b.length - a.length); // the FQDN before its short name
  if (wanted.length === 0) return null;
  const key = await pseudonymKey(salt);
  const table = new Map<string, string>();
  for (const name of wanted) table.set(name, await pseudonym(key, name));
  const escaped = wanted.map(escapeRegExp);
  return {
    id: "host_name",
    pattern: new RegExp(`(?<![A-Za-z0-9.-])(?:${escaped.join("|")})(?![A-Za-z0-9-])`, "gid"),
    keywords: wanted,
    gate: undefined,
    accept: undefined,
    replace: (found) => table.get(found.toLowerCase()) ?? found,
  };
}

/**
 * A rule ready to run. Its pattern is built on first use: a hook redacts one small payload, which
 * the keyword gate keeps away from most rules, and building all ~40 up front costs it ~1 ms.
 */
function compile(rule: RedactionRule): CompiledRule[] {
  const pass = (source: RegExp, keywords: readonly string[] | undefined): CompiledRule => {
    let pattern: RegExp | undefined;
    return {
      id: rule.id,
      get pattern() {
        return pattern ??= new RegExp(
          source.source,
          [...new Set([...source.flags, "g", "d"])].join(""),
        );
      },
      keywords: keywords?.map((k) => k.toLowerCase()),
      gate: rule.gate,
      accept: rule.accept,
      replace: rule.replace ?? (() => marker(rule.id)),
    };
  };
  return [
    pass(rule.pattern, rule.keywords),
    ...(rule.passes ?? []).map((more) => pass(more.pattern, more.keywords)),
  ];
}

/** Where the secret is in a match: its `secret…` named group, else the whole match. */
function secretSpan(match: RegExpExecArray): [number, number] | undefined {
  const whole = match.indices?.[0];
  const groups = match.indices?.groups;
  if (groups?.lead && whole) return [groups.lead[0], whole[1]];
  if (groups) {
    for (const name in groups) {
      if (name.startsWith("secret") && groups[name]) return groups[name];
    }
    if (Object.keys(groups).some((name) => name.startsWith("secret"))) return undefined;
  }
  return whole;
}

/** Strings up to this long may be gated with includes() instead of the regular expression. */
const SHORT_TEXT = 512;
/** How many strings a redactor gates with includes() before it compiles the regular expression. */
const INCLUDES_CHECKS = 200;

/** Longest marker: "[REDACTED:" + a rule id of at most 64 characters + "]". */
const MAX_MARKER = 75;

/**
 * True when [start, end) begins or ends inside an earlier rule's marker. Markers hold ":" and
 * "]", which a later rule (say, user:password@ in URLs) could otherwise take for its own syntax.
 * Looks only within a marker's length of each end: a scan of the whole text per match would
 * make redaction quadratic.
 */
function cutsThroughMarker(text: string, start: number, end: number): boolean {
  return insideMarker(text, start) || insideMarker(text, end);
}

/** True when position `at` falls after a marker's "[" and at or before its "]". */
function insideMarker(text: string, at: number): boolean {
  const from = Math.max(0, at - MAX_MARKER);
  const open = text.slice(from, at).lastIndexOf("[REDACTED:");
  if (open < 0) return false;
  const close = text.indexOf("]", from + open);
  return close >= at;
}

/** The deadline of one call: once past, it stays past (the clock is not read again). */
class Budget {
  unfinished = 0;
  #expired = false;
  constructor(readonly deadline: number, readonly now: () => number) {}
  /** True once the deadline has passed. */
  over(): boolean {
    if (!this.#expired && this.now() > this.deadline) this.#expired = true;
    return this.#expired;
  }
  /** Counts a string given up, and says what stands for it. */
  drop(fired: Set<string>): string {
    this.unfinished++;
    fired.add(DEADLINE_RULE);
    return DEADLINE_MARKER;
  }
}

/** `text` with the rule's matches replaced; undefined when the budget ran out on the way. */
function applyRule(
  rule: CompiledRule,
  text: string,
  fired: Set<string>,
  budget: Budget | undefined,
): string | undefined {
  const pattern = rule.pattern;
  pattern.lastIndex = 0;
  let out = "";
  let copied = 0;
  let matches = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    // "password=x " repeated costs ~1.5 s per MB in matches that are then refused: the clock
    // is read inside the loop, not only between rules.
    if (budget !== undefined && ++matches % MATCHES_PER_CHECK === 0 && budget.over()) {
      return undefined;
    }
    if (match[0].length === 0) {
      pattern.lastIndex++;
      continue;
    }
    const span = secretSpan(match);
    if (!span) continue;
    const [start, end] = span;
    const secret = text.slice(start, end);
    if (start < copied || isMarker(secret) || cutsThroughMarker(text, start, end)) continue;
    if (rule.accept && !rule.accept(secret, match)) continue;
    const replacement = rule.replace(secret);
    if (replacement === secret) continue;
    out += text.slice(copied, start) + replacement;
    copied = end;
    fired.add(rule.id);
  }
  return copied === 0 ? text : out + text.slice(copied);
}

function mayMatch(rule: CompiledRule, lower: string): boolean {
  return (rule.keywords === undefined || rule.keywords.some((k) => lower.includes(k))) &&
    (rule.gate === undefined || rule.gate.test(lower));
}

/**
 * Builds a redactor. Async only because host-name pseudonyms are keyed hashes (WebCrypto);
 * build it once and reuse it.
 */
export async function createRedactor(options: RedactorOptions = {}): Promise<Redactor> {
  const mode = options.mode ?? "strict";
  const rules: CompiledRule[] = [];
  if (mode !== "off") {
    rules.push(...RULES.filter((rule) => rule.mode !== "strict").flatMap(compile));
    rules.push(...(options.extraRules ?? []).flatMap(compile));
    if (mode === "strict") {
      rules.push(...RULES.filter((rule) => rule.mode === "strict").flatMap(compile));
      const hosts = await hostNameRule(options.hostNames ?? [], options.salt ?? "");
      if (hosts) rules.push(hosts);
    }
  }

  // One pass that says whether any rule's keyword occurs: most strings (keys, ids, short
  // values) hold none and skip every rule at once. The first few short strings are checked with
  // includes(): compiling the case-insensitive alternation costs ~1 ms, which a hook with a small
  // payload then never pays; past them (or on a long string) the regular expression is faster.
  const keywords = rules.every((rule) => rule.keywords !== undefined)
    ? [...new Set(rules.flatMap((rule) => rule.keywords!))]
    : undefined;
  let gate: RegExp | undefined;
  let includesChecks = 0;
  /** The text lower-cased if some keyword occurs in it (or no gate applies), else undefined. */
  const gated = (text: string): string | undefined => {
    if (keywords === undefined) return text.toLowerCase();
    if (text.length <= SHORT_TEXT && gate === undefined && includesChecks++ < INCLUDES_CHECKS) {
      const lower = text.toLowerCase();
      return keywords.some((keyword) => lower.includes(keyword)) ? lower : undefined;
    }
    gate ??= new RegExp(keywords.map(escapeRegExp).join("|"), "i");
    return gate.test(text) ? text.toLowerCase() : undefined;
  };

  const redactString = (text: string, fired: Set<string>, budget?: Budget): string => {
    if (text.length < 3) return text;
    if (budget?.over()) return budget.drop(fired);
    const lower = gated(text);
    if (lower === undefined) return text;
    let out = text;
    for (const rule of rules) {
      if (!mayMatch(rule, lower)) continue;
      const next = applyRule(rule, out, fired, budget);
      if (next === undefined || budget?.over()) return budget!.drop(fired);
      out = next;
    }
    return out;
  };

  /** A value under a key that names a secret: all of it goes, unless it is a reference. */
  const redactKeyed = (
    keyRule: string,
    value: string,
    fired: Set<string>,
    budget: Budget | undefined,
  ): string => {
    const scanned = redactString(value, fired, budget);
    if (isMarker(scanned) || !isLiteralSecret(value)) return scanned;
    fired.add(keyRule);
    return marker(keyRule);
  };

  /** Every string at any depth of a value under a secret's name counts as a secret. */
  const walkSecret = (value: unknown, fired: Set<string>, budget?: Budget): unknown => {
    if (typeof value === "string") return redactKeyed("secret_assignment", value, fired, budget);
    if (Array.isArray(value)) return value.map((item) => walkSecret(item, fired, budget));
    if (value === null || typeof value !== "object") return value;
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map((
        [key, item],
      ) => [redactString(key, fired, budget), walkSecret(item, fired, budget)]),
    );
  };

  const walk = (value: unknown, fired: Set<string>, budget?: Budget): unknown => {
    if (typeof value === "string") return redactString(value, fired, budget);
    if (Array.isArray(value)) return value.map((item) => walk(item, fired, budget));
    if (value === null || typeof value !== "object") return value;
    const entries = Object.entries(value as Record<string, unknown>).map(([key, item]) => {
      const newKey = redactString(key, fired, budget);
      if (typeof item === "string" && rules.length > 0) {
        if (CREDENTIAL_HEADER_KEY.test(key)) {
          return [
            newKey,
            redactKeyed(
              /auth/i.test(key) ? "authorization_header" : "secret_assignment",
              item,
              fired,
              budget,
            ),
          ];
        }
        if (isSecretKey(key, item)) {
          return [newKey, redactKeyed("secret_assignment", item, fired, budget)];
        }
      }
      // An array or object under a secret's name holds secrets: {"password": ["x"]}.
      if (item !== null && typeof item === "object" && rules.length > 0 && isSecretKey(key)) {
        return [newKey, walkSecret(item, fired, budget)];
      }
      return [newKey, walk(item, fired, budget)];
    });
    // fromEntries defines "__proto__" as an own key instead of setting the prototype.
    return Object.fromEntries(entries);
  };

  const budgetOf = (options: RedactCallOptions | undefined): Budget | undefined =>
    options?.deadline === undefined
      ? undefined
      : new Budget(options.deadline, options.now ?? (() => performance.now()));

  const result = <T>(value: T, fired: Set<string>, budget: Budget | undefined): Redacted<T> => {
    const out: Redacted<T> = { value, rules: [...fired].sort() };
    if (budget !== undefined && budget.unfinished > 0) out.unfinished = budget.unfinished;
    return out;
  };

  return {
    mode,
    redact<T>(value: T, options?: RedactCallOptions): Redacted<T> {
      if (rules.length === 0) return { value, rules: [] };
      const fired = new Set<string>();
      const budget = budgetOf(options);
      return result(walk(value, fired, budget) as T, fired, budget);
    },
    redactText(text: string, options?: RedactCallOptions): Redacted<string> {
      const fired = new Set<string>();
      const budget = budgetOf(options);
      return result(redactString(text, fired, budget), fired, budget);
    },
  };
}
