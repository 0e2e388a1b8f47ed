/**
 * Configuration shared by hooks and bridge, read from environment variables. `ENV_VARS` lists
 * every variable the code reads; the README's configuration table is generated from it.
 *
 * @module
 */
import { LIMITS, REDACTION_MODES, type RedactionMode } from "./contract.ts";
import type { RedactionRule } from "./redaction_rules.ts";

/** One environment variable the system reads. */
export interface EnvVar {
  readonly name: string;
  /** Default, as a person would write it; empty when there is none. */
  readonly default: string;
  /** Which side of the system it configures. */
  readonly usedBy:
    | "hooks"
    | "relay"
    | "hooks, relay"
    | "bridge"
    | "hooks, bridge"
    | "query, tail, usage"
    | "bootstrap_vm.sh"
    | "tests, benches";
  readonly description: string;
}

/** Every environment variable the code reads. */
export const ENV_VARS: readonly EnvVar[] = [
  {
    name: "ZO_REDACTION_MODE",
    default: "strict",
    usedBy: "hooks",
    description:
      "`strict`: secrets, e-mail addresses, home directories (shown as `~`) and host names " +
      "(pseudonymised); `standard`: secrets only; `off`: nothing (recorded in each event).",
  },
  {
    name: "ZO_REDACTION_EXTRA_PATTERNS",
    default: "",
    usedBy: "hooks",
    description:
      'Site-specific secret formats as a JSON object of rule id to regular expression, e.g. `{"acme_token":"acme_[a-z0-9]{32}"}`; ' +
      "a match becomes `[REDACTED:<id>]`. Ids are lower snake_case; `(?i:…)` makes a part case-insensitive. " +
      "Patterns that can backtrack exponentially are refused: nested quantifiers like `(a+)+`, a repeated alternation like `(a|aa)+`, backreferences.",
  },
  {
    name: "ZO_REDACTION_SALT",
    default: "",
    usedBy: "hooks",
    description:
      "Secret salt of the host-name pseudonyms in strict mode. Set one per fleet and keep it: " +
      "without it, a pseudonym can be reversed by hashing candidate names.",
  },
  {
    name: "ZO_REDACTION_HOSTS",
    default: "",
    usedBy: "hooks",
    description:
      "Comma-separated host names to pseudonymise in strict mode, besides the VM's own host name.",
  },
  {
    name: "ZO_MAX_EVENT_BYTES",
    default: String(LIMITS.defaultMaxEventBytes),
    usedBy: "hooks, bridge",
    description:
      `Largest serialised event, in bytes (at least ${LIMITS.minMaxEventBytes}). The hook cuts the ` +
      "largest strings of a bigger event, leaving a marker with the original size and SHA-256.",
  },
];

/** A configuration value that cannot be used; the message says which and how to fix it. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Redaction settings. */
export interface RedactionConfig {
  mode: RedactionMode;
  extraRules: RedactionRule[];
  salt: string;
  hostNames: string[];
}

/** Settings both sides share. */
export interface SharedConfig {
  redaction: RedactionConfig;
  maxEventBytes: number;
}

/** Reads one variable; the default reads the process environment. */
export type EnvReader = (name: string) => string | undefined;

const RULE_ID = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * Why `source` could take exponential time, or undefined. JavaScript's engine backtracks, so a
 * quantified group that can match one text in several ways (`(a+)+`, `(a|aa)+`) or a
 * backreference can hang a hook on a crafted input. Conservative: it refuses any quantified
 * group holding a quantifier or an alternation, which a redaction pattern never needs.
 */
export function backtrackingRisk(source: string): string | undefined {
  // Per open group: whether it holds a quantifier or a "|" so far.
  const groups: { risky: boolean }[] = [];
  let lastGroupRisky = false;
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === "\\") {
      const next = source[i + 1] ?? "";
      if (!inClass && (/[1-9]/.test(next) || next === "k")) {
        return "backreferences are not allowed (they can take exponential time)";
      }
      i++;
      lastGroupRisky = false;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      continue;
    }
    const quantifier = c === "*" || c === "+" || c === "?" && source[i - 1] !== "(" ||
      c === "{" && /^\{\d*,?\d*\}/.test(source.slice(i));
    if (quantifier) {
      const repeats = c !== "?" && !/^\{(\d+)\}|^\{(?:0?,)?1\}/.test(source.slice(i));
      if (lastGroupRisky && repeats) {
        return "nested quantifiers or a repeated alternation are not allowed " +
          "(they can take exponential time); use one character class with one quantifier";
      }
      if (groups.length > 0) groups[groups.length - 1]!.risky = true;
      if (c === "{") i = source.indexOf("}", i);
      lastGroupRisky = false;
      continue;
    }
    lastGroupRisky = false;
    if (c === "[") inClass = true;
    else if (c === "(") groups.push({ risky: false });
    else if (c === "|" && groups.length > 0) groups[groups.length - 1]!.risky = true;
    else if (c === ")") {
      const closed = groups.pop();
      lastGroupRisky = closed?.risky ?? false;
      if (lastGroupRisky && groups.length > 0) groups[groups.length - 1]!.risky = true;
    }
  }
  return undefined;
}

/** Parses `ZO_REDACTION_EXTRA_PATTERNS`. */
export function parseExtraPatterns(json: string): RedactionRule[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new ConfigError(
      `Cannot parse ZO_REDACTION_EXTRA_PATTERNS: not JSON (${(error as Error).message})`,
    );
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError(
      'Cannot parse ZO_REDACTION_EXTRA_PATTERNS: expected an object like {"acme_token": "acme_[a-z0-9]{32}"}',
    );
  }
  return Object.entries(parsed).map(([id, source]) => {
    if (!RULE_ID.test(id)) {
      throw new ConfigError(
        `Cannot use extra redaction rule "${id}": ids are lower snake_case, like acme_token`,
      );
    }
    if (typeof source !== "string" || source === "") {
      throw new ConfigError(
        `Cannot use extra redaction rule "${id}": its pattern must be a string`,
      );
    }
    let pattern: RegExp;
    try {
      pattern = new RegExp(source);
    } catch (error) {
      throw new ConfigError(
        `Cannot use extra redaction rule "${id}": ${(error as Error).message}`,
      );
    }
    const risk = backtrackingRisk(source);
    if (risk) {
      throw new ConfigError(
        `Cannot use extra redaction rule "${id}" (${JSON.stringify(source)}): ${risk}`,
      );
    }
    if (pattern.test("")) {
      throw new ConfigError(
        `Cannot use extra redaction rule "${id}": its pattern matches the empty string`,
      );
    }
    return { id, pattern, description: "Site-specific rule from ZO_REDACTION_EXTRA_PATTERNS." };
  });
}

/**
 * Reads a whole-number variable: `fallback` when unset or blank, else a number within `range`;
 * throws {@linkcode ConfigError} saying what to set otherwise.
 */
export function readWholeNumber(
  env: EnvReader,
  name: string,
  fallback: number,
  range: { min: number; max: number },
): number {
  const text = (env(name) ?? "").trim();
  if (text === "") return fallback;
  const value = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (!(value >= range.min && value <= range.max)) {
    throw new ConfigError(
      `Cannot use ${name}="${text}": set a whole number from ${range.min} to ${range.max}`,
    );
  }
  return value;
}

/** Reads and checks the shared settings; throws {@linkcode ConfigError} on a bad value. */
export function loadSharedConfig(env: EnvReader = (name) => Deno.env.get(name)): SharedConfig {
  const modeText = (env("ZO_REDACTION_MODE") ?? "").trim().toLowerCase() || "strict";
  if (!(REDACTION_MODES as readonly string[]).includes(modeText)) {
    throw new ConfigError(
      `Cannot use ZO_REDACTION_MODE="${modeText}": set it to one of ${REDACTION_MODES.join(", ")}`,
    );
  }
  const extra = (env("ZO_REDACTION_EXTRA_PATTERNS") ?? "").trim();
  const maxText = (env("ZO_MAX_EVENT_BYTES") ?? "").trim();
  const maxEventBytes = maxText === ""
    ? LIMITS.defaultMaxEventBytes
    : /^\d{1,15}$/.test(maxText)
    ? Number(maxText)
    : NaN;
  if (!Number.isSafeInteger(maxEventBytes) || maxEventBytes < LIMITS.minMaxEventBytes) {
    throw new ConfigError(
      `Cannot use ZO_MAX_EVENT_BYTES="${maxText}": set a whole number of bytes, at least ${LIMITS.minMaxEventBytes}`,
    );
  }
  return {
    redaction: {
      mode: modeText as RedactionMode,
      extraRules: extra === "" ? [] : parseExtraPatterns(extra),
      salt: env("ZO_REDACTION_SALT") ?? "",
      hostNames: (env("ZO_REDACTION_HOSTS") ?? "").split(",").map((h) => h.trim()).filter(Boolean),
    },
    maxEventBytes,
  };
}
