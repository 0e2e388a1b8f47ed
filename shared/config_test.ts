// Tests of the shared configuration: defaults, parsing, and errors that say how to fix them.
import assert from "node:assert/strict";
import {
  ConfigError,
  ENV_VARS,
  type EnvReader,
  loadSharedConfig,
  parseExtraPatterns,
} from "./config.ts";

/** An environment holding only `vars`. */
function envOf(vars: Record<string, string> = {}): EnvReader {
  const map = new Map(Object.entries(vars));
  return (name) => map.get(name);
}

/** Runs `fn`, which must throw a ConfigError; returns that error's message. */
function configErrorOf(fn: () => unknown): string {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown instanceof ConfigError, `expected a ConfigError, got ${thrown}`);
  assert.equal(thrown.name, "ConfigError");
  assert.match(thrown.message, /^Cannot /);
  return thrown.message;
}

Deno.test("loadSharedConfig() gives the defaults when nothing is set", () => {
  assert.deepEqual(loadSharedConfig(envOf()), {
    redaction: { mode: "strict", extraRules: [], salt: "", hostNames: [] },
    maxEventBytes: 262_144,
  });
});

Deno.test("loadSharedConfig() reads only variables listed in ENV_VARS", () => {
  const asked = new Set<string>();
  loadSharedConfig((name) => {
    asked.add(name);
    return undefined;
  });
  const listed = new Set(ENV_VARS.map((v) => v.name));
  assert.ok(asked.size > 0);
  for (const name of asked) assert.ok(listed.has(name), `${name} is read but not in ENV_VARS`);
});

Deno.test("loadSharedConfig() parses the redaction mode", async (t) => {
  const cases: [string, string][] = [
    ["strict", "strict"],
    ["standard", "standard"],
    ["off", "off"],
    ["OFF", "off"],
    [" Standard ", "standard"],
    ["\tStrict\n", "strict"],
    ["", "strict"],
    ["   ", "strict"],
  ];
  for (const [text, mode] of cases) {
    await t.step(JSON.stringify(text), () => {
      assert.equal(loadSharedConfig(envOf({ ZO_REDACTION_MODE: text })).redaction.mode, mode);
    });
  }
});

Deno.test("loadSharedConfig() rejects an unknown redaction mode", async (t) => {
  for (const text of ["loud", "none", "strict,off"]) {
    await t.step(text, () => {
      const message = configErrorOf(() => loadSharedConfig(envOf({ ZO_REDACTION_MODE: text })));
      assert.match(message, /ZO_REDACTION_MODE/);
      for (const mode of ["strict", "standard", "off"]) assert.ok(message.includes(mode), message);
    });
  }
});

Deno.test("loadSharedConfig() parses ZO_MAX_EVENT_BYTES", async (t) => {
  await t.step("a whole number at or above 4096", () => {
    for (const [text, bytes] of [["4096", 4096], [" 10000 ", 10_000], ["1048576", 1_048_576]]) {
      const config = loadSharedConfig(envOf({ ZO_MAX_EVENT_BYTES: String(text) }));
      assert.equal(config.maxEventBytes, bytes);
    }
  });
  await t.step("blank means the default", () => {
    assert.equal(loadSharedConfig(envOf({ ZO_MAX_EVENT_BYTES: " " })).maxEventBytes, 262_144);
  });
  for (
    const text of [
      "4095",
      "0",
      "-5000",
      "abc",
      "5000.5",
      "12kb",
      "Infinity",
      "NaN",
      "0x1000",
      "1e4",
      "4096.0",
    ]
  ) {
    await t.step(`rejects ${JSON.stringify(text)}`, () => {
      const message = configErrorOf(() => loadSharedConfig(envOf({ ZO_MAX_EVENT_BYTES: text })));
      assert.match(message, /ZO_MAX_EVENT_BYTES/);
      assert.match(message, /4096/);
    });
  }
});

Deno.test("loadSharedConfig() splits ZO_REDACTION_HOSTS on commas and drops blanks", () => {
  const config = loadSharedConfig(envOf({
    ZO_REDACTION_HOSTS: " build-01.example.com, ,build-01,, db.internal ,",
    ZO_REDACTION_SALT: "s3cret salt",
  }));
  assert.deepEqual(config.redaction.hostNames, ["build-01.example.com", "build-01", "db.internal"]);
  assert.equal(config.redaction.salt, "s3cret salt");
  assert.deepEqual(loadSharedConfig(envOf({ ZO_REDACTION_HOSTS: " , ," })).redaction.hostNames, []);
});

Deno.test("loadSharedConfig() reads extra redaction patterns", () => {
  const config = loadSharedConfig(envOf({
    ZO_REDACTION_EXTRA_PATTERNS: ' {"acme_token": "acme_[a-z0-9]{8}"} ',
  }));
  assert.deepEqual(config.redaction.extraRules.map((r) => r.id), ["acme_token"]);
  assert.ok(config.redaction.extraRules[0]!.pattern.test("x acme_ab12cd34 y"));
  configErrorOf(() => loadSharedConfig(envOf({ ZO_REDACTION_EXTRA_PATTERNS: "[]" })));
});

Deno.test("parseExtraPatterns() turns an object into working rules", () => {
  const rules = parseExtraPatterns('{"acme_token":"acme_[a-z0-9]{32}","ticket_2":"TKT-\\\\d{6}"}');
  assert.deepEqual(rules.map((r) => r.id), ["acme_token", "ticket_2"]);
  const [acme, ticket] = rules;
  assert.ok(acme!.pattern instanceof RegExp);
  assert.ok(acme!.pattern.test(`token acme_${"a1".repeat(16)} here`));
  assert.equal(acme!.pattern.test("acme_short"), false);
  assert.ok(ticket!.pattern.test("see TKT-123456"));
  assert.equal(ticket!.pattern.test("see TKT-12"), false);
  for (const rule of rules) assert.ok(rule.description.length > 0);
  assert.deepEqual(parseExtraPatterns("{}"), []);
});

Deno.test("parseExtraPatterns() rejects bad input with an actionable message", async (t) => {
  const cases: [string, string, RegExp[]][] = [
    ["not JSON", "{acme: 1", [/ZO_REDACTION_EXTRA_PATTERNS/, /not JSON/]],
    ["an array", '["acme_[a-z]+"]', [/ZO_REDACTION_EXTRA_PATTERNS/, /expected an object/]],
    ["null", "null", [/ZO_REDACTION_EXTRA_PATTERNS/, /expected an object/]],
    ["a string", '"acme_[a-z]+"', [/ZO_REDACTION_EXTRA_PATTERNS/, /expected an object/]],
    ["a bad id", '{"Bad-Id":"acme_[a-z]+"}', [/"Bad-Id"/, /lower snake_case/]],
    ["an id that is too long", `{"${"a".repeat(65)}":"x"}`, [/lower snake_case/]],
    ["a non-string pattern", '{"acme_token":42}', [/"acme_token"/, /must be a string/]],
    ["an empty pattern", '{"acme_token":""}', [/"acme_token"/, /must be a string/]],
    ["an invalid regex", '{"acme_token":"("}', [/"acme_token"/, /regular expression/i]],
    ["a pattern matching the empty string", '{"acme_token":"a*"}', [
      /"acme_token"/,
      /empty string/,
    ]],
  ];
  for (const [name, json, expected] of cases) {
    await t.step(name, () => {
      const message = configErrorOf(() => parseExtraPatterns(json));
      for (const pattern of expected) assert.match(message, pattern);
    });
  }
});

Deno.test("ENV_VARS lists each variable once, with a description", () => {
  assert.ok(ENV_VARS.length > 0);
  const names = ENV_VARS.map((v) => v.name);
  assert.equal(new Set(names).size, names.length);
  for (const v of ENV_VARS) {
    assert.match(v.name, /^ZO_[A-Z0-9_]+$/);
    assert.ok(v.description.trim().length > 0, `${v.name} has no description`);
  }
});
