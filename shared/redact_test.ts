import assert from "node:assert/strict";
import { PRECISION_NEGATIVES, REDACTION_CASES } from "../testdata/redaction_cases.ts";
import { parseExtraPatterns } from "./config.ts";
import { createRedactor, marker } from "./redact.ts";
import { isSecretKey, RULES } from "./redaction_rules.ts";

const standard = await createRedactor({ mode: "standard" });
const strict = await createRedactor({
  mode: "strict",
  hostNames: ["dev-vm-7.corp.example", "dev-vm-7"],
  salt: "s",
});

Deno.test("REDACTION_CASES cover every secret rule", () => {
  const covered = new Set(REDACTION_CASES.map((c) => c.rule));
  for (const rule of RULES.filter((r) => r.mode !== "strict")) {
    if (rule.id === "age_secret_key") continue; // covered below: not in the shared vectors
    assert.ok(covered.has(rule.id), `no test vectors for ${rule.id}`);
  }
});

for (const { rule, positives, negatives } of REDACTION_CASES) {
  Deno.test(`redact() finds ${rule}`, async (t) => {
    for (const { text, secret } of positives) {
      await t.step(text.slice(0, 60).replaceAll("\n", "⏎"), () => {
        const out = standard.redactText(text);
        assert.ok(!out.value.includes(secret), `secret left in: ${out.value}`);
        assert.ok(out.value.includes(marker(rule)), `no ${marker(rule)} in: ${out.value}`);
        assert.ok(out.rules.includes(rule));
      });
    }
  });
  Deno.test(`redact() leaves look-alikes of ${rule} alone`, async (t) => {
    for (const text of negatives) {
      await t.step(text.slice(0, 60).replaceAll("\n", "⏎"), () => {
        assert.equal(standard.redactText(text).value, text);
      });
    }
  });
}

Deno.test("redact() keeps what is not a secret intact (precision)", async (t) => {
  for (const text of PRECISION_NEGATIVES) {
    await t.step(text.slice(0, 60).replaceAll("\n", "⏎"), () => {
      const out = standard.redactText(text);
      assert.equal(out.value, text);
      assert.deepEqual(out.rules, []);
    });
  }
});

Deno.test("redact() is idempotent: twice gives what once gives", async (t) => {
  const all = [
    ...REDACTION_CASES.flatMap((c) => [...c.positives.map((p) => p.text), ...c.negatives]),
    ...PRECISION_NEGATIVES,
  ];
  for (const redactor of [standard, strict]) {
    await t.step(redactor.mode, () => {
      for (const text of all) {
        const once = redactor.redactText(text).value;
        const twice = redactor.redactText(once);
        assert.equal(twice.value, once);
        assert.deepEqual(twice.rules, [], `second pass fired on: ${once}`);
      }
      const nested = redactor.redact({ a: all, b: { c: all.join("\n") } }).value;
      assert.deepEqual(redactor.redact(nested).value, nested);
    });
  }
});

Deno.test("redact() walks nested objects, arrays and keys", () => {
  const token = "ghp_" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2";
  const input = {
    level1: { level2: [{ level3: [`x ${token} y`] }] },
    [`key ${token}`]: 1,
    number: 42,
    flag: true,
    nothing: null,
  };
  const out = standard.redact(input);
  assert.deepEqual(out.value, {
    level1: { level2: [{ level3: ["x [REDACTED:github_pat] y"] }] },
    "key [REDACTED:github_pat]": 1,
    number: 42,
    flag: true,
    nothing: null,
  });
  assert.deepEqual(out.rules, ["github_pat"]);
  assert.ok(JSON.stringify(input).includes(token), "the input is not modified");
});

Deno.test("redact() replaces the whole value of a key that names a secret", async (t) => {
  const cases: [Record<string, unknown>, Record<string, unknown>][] = [
    [{ password: "hunter2!" }, { password: marker("secret_assignment") }],
    [{ DB_PASSWORD: "x9" + "y".repeat(8) }, { DB_PASSWORD: marker("secret_assignment") }],
    [{ clientSecret: "abc def ghi" }, { clientSecret: marker("secret_assignment") }],
    [{ "x-api-key": "k-123456" }, { "x-api-key": marker("secret_assignment") }],
    [{ Authorization: "Basic dXNlcjpwYXNz" }, { Authorization: marker("authorization_header") }],
    [{ cookie: "session=abcdef123" }, { cookie: marker("secret_assignment") }],
    // A whole known token keeps its precise rule.
    [{ token: "npm_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8" }, { token: marker("npm_token") }],
  ];
  for (const [input, expected] of cases) {
    await t.step(
      Object.keys(input)[0]!,
      () => assert.deepEqual(standard.redact(input).value, expected),
    );
  }
  await t.step("references, placeholders and non-strings stay", () => {
    const keep = {
      password: "${DB_PASSWORD}",
      token: "$TOKEN",
      api_key: "<your-api-key>",
      secret: "",
      max_tokens: 4096,
      input_tokens: 1200,
      token_count: "812",
      password_min_length: "12",
      tokenizer: "cl100k_base",
      PWD: "/srv/app",
    };
    assert.deepEqual(standard.redact(keep).value, keep);
  });
});

Deno.test("redact() finds secrets in JSON inside strings, once and twice encoded", () => {
  const inner = { password: "s3cr3t-value", ok: true };
  const once = JSON.stringify(inner);
  const twice = JSON.stringify(once);
  assert.equal(
    standard.redactText(once).value,
    '{"password":"[REDACTED:secret_assignment]","ok":true}',
  );
  assert.equal(
    standard.redactText(twice).value,
    JSON.stringify('{"password":"[REDACTED:secret_assignment]","ok":true}'),
  );
});

Deno.test("redact() handles multi-line files, env dumps and command lines", () => {
  const envFile = [
    "# database",
    "DB_HOST=db.internal",
    "DB_PASSWORD=Tr0ub4dor&3",
    "export STRIPE_KEY=sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "API_TIMEOUT=30",
  ].join("\n");
  const out = standard.redactText(envFile).value;
  assert.equal(
    out,
    [
      "# database",
      "DB_HOST=db.internal",
      "DB_PASSWORD=[REDACTED:secret_assignment]&3",
      "export STRIPE_KEY=[REDACTED:stripe_secret_key]",
      "API_TIMEOUT=30",
    ].join("\n"),
  );
});

Deno.test("redact() strict mode masks e-mails, home directories and host names", async (t) => {
  await t.step("e-mail", () => {
    assert.equal(strict.redactText("by Dev <dev@acme.io>").value, "by Dev <[REDACTED:email]>");
    assert.equal(
      strict.redactText("git@github.com:acme/app.git").value,
      "git@github.com:acme/app.git",
    );
    assert.equal(strict.redactText("zod@4.6.7 and @scope/pkg").value, "zod@4.6.7 and @scope/pkg");
  });
  await t.step("home directories", () => {
    for (
      const [input, expected] of [
        ["/home/dev/app/src/x.ts", "~/app/src/x.ts"],
        ["cd /Users/ana/code && ls", "cd ~/code && ls"],
        ["/root/.bashrc", "~/.bashrc"],
        ["C:\\Users\\ana\\repo", "~\\repo"],
        ["https://example.com/home/news", "https://example.com/home/news"],
        ["/var/home/x", "/var/home/x"],
      ]
    ) assert.equal(strict.redactText(input!).value, expected);
  });
  await t.step("host names, FQDN first, stable and salted", async () => {
    const out = strict.redactText("ssh dev-vm-7.corp.example; hostname: dev-vm-7").value;
    const [fqdn, short] = out.match(/host-[0-9a-f]{12}/g)!;
    assert.ok(fqdn && short && fqdn !== short);
    assert.equal(strict.redactText("dev-vm-7").value, short);
    assert.equal(strict.redactText("dev-vm-70 my-dev-vm-7").value, "dev-vm-70 my-dev-vm-7");
    const otherSalt = await createRedactor({ mode: "strict", hostNames: ["dev-vm-7"], salt: "t" });
    assert.notEqual(otherSalt.redactText("dev-vm-7").value, short);
  });
  await t.step("standard mode does none of it", () => {
    const text = "dev@acme.io /home/dev dev-vm-7";
    assert.equal(standard.redactText(text).value, text);
  });
});

Deno.test("redact() with mode off changes nothing", async () => {
  const off = await createRedactor({ mode: "off" });
  const input = { password: "hunter2", text: "AKIA" + "Q3EGRT5YHN7JMK2L" };
  assert.deepEqual(off.redact(input), { value: input, rules: [] });
});

Deno.test("redact() runs extra patterns from configuration", async () => {
  const redactor = await createRedactor({
    mode: "standard",
    extraRules: parseExtraPatterns('{"acme_token": "acme_[a-z0-9]{32}"}'),
  });
  const out = redactor.redactText("token acme_" + "0123456789abcdef".repeat(2) + " used");
  assert.equal(out.value, "token [REDACTED:acme_token] used");
  assert.deepEqual(out.rules, ["acme_token"]);
});

Deno.test("redact() finds age secret keys", () => {
  const key = "AGE-SECRET-KEY-1" + "QYZ7K2S8XVNLFW0C3P9ME4GHDJ6TRUA5".repeat(2).slice(0, 58);
  assert.equal(standard.redactText(`key: ${key}`).value, "key: [REDACTED:age_secret_key]");
});

Deno.test("redact() never records what it removed", () => {
  const secret = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc";
  const out = standard.redact({ a: secret });
  assert.ok(!JSON.stringify(out.rules).includes(secret));
  assert.ok(!JSON.stringify(out.value).includes(secret));
});

Deno.test("redact() does not hang on adversarial input", () => {
  // Inputs that make a nested quantifier backtrack exponentially; a linear engine is done in ms.
  const inputs = [
    "a_".repeat(20_000) + "!",
    "A".repeat(50_000) + "@",
    "password".repeat(5_000),
    "x@" + "a.".repeat(20_000),
    "https://" + "a:".repeat(20_000),
    "-----BEGIN PRIVATE KEY-----" + "A".repeat(50_000),
    ("key=" + "v".repeat(60) + " ").repeat(1_000),
  ];
  const start = performance.now();
  for (const text of inputs) strict.redactText(text);
  const seconds = (performance.now() - start) / 1000;
  assert.ok(seconds < 10, `took ${seconds.toFixed(1)} s`);
});

Deno.test("isSecretKey() knows secret names in every case and separator style", () => {
  for (const key of ["password", "DB_PASSWORD", "dbPassword", "api-key", "apiKey", "x.secret"]) {
    assert.ok(isSecretKey(key), key);
  }
  for (const key of ["max_tokens", "token_count", "tokenizer", "PWD", "bypass", "keyword"]) {
    assert.ok(!isSecretKey(key), key);
  }
});

/** `length` random characters of `alphabet`, new on every run. */
function randomOf(alphabet: string, length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}
const UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

Deno.test("redact() finds token formats whole, with random values", async (t) => {
  const cases: [string, string][] = [
    // AWS key ids hold any digit (0, 1, 8, 9 too), not only base32's.
    ["aws_access_key", "AKIA" + randomOf(UPPER_DIGITS, 15) + "0"],
    ["aws_access_key", "ASIA" + randomOf(UPPER_DIGITS, 15) + "9"],
    // SendGrid keys may end in "-" or "_": there is no word boundary after them.
    ["sendgrid_api_key", `SG.${randomOf(ALNUM, 22)}.${randomOf(ALNUM, 42)}-`],
    ["sendgrid_api_key", `SG.${randomOf(ALNUM, 21)}_.${randomOf(ALNUM, 42)}_`],
    // Longer than the usual length: still the whole token.
    [
      "github_pat",
      "ghp_" + randomOf(ALNUM, 36 + 1 + (crypto.getRandomValues(new Uint8Array(1))[0]! % 40)),
    ],
    ["github_oauth_token", "gho_" + randomOf(ALNUM, 40)],
    ["github_app_token", "ghs_" + randomOf(ALNUM, 50)],
    ["github_fine_grained_pat", "github_pat_" + randomOf(ALNUM + "_", 90)],
    ["npm_token", "npm_" + randomOf(ALNUM, 40)],
    ["huggingface_token", "hf_" + randomOf("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ", 37)],
    ["stripe_secret_key", "sk_live_" + randomOf(ALNUM, 300)],
  ];
  for (const [rule, token] of cases) {
    await t.step(`${rule} ${token.slice(0, 8)}…`, () => {
      for (const text of [token, `use ${token} now`, `"${token}",`, `x=${token}\n`]) {
        const out = standard.redactText(text).value;
        assert.ok(!out.includes(token.slice(-8)), `left in: ${out}`);
        assert.ok(out.includes(marker(rule)), `no ${marker(rule)} in: ${out}`);
      }
    });
  }
  await t.step("AWS's documentation key ids stay", () => {
    for (const id of ["AKIAIOSFODNN7EXAMPLE", "AKIA" + randomOf(UPPER_DIGITS, 9) + "EXAMPLE"]) {
      assert.equal(standard.redactText(`key ${id} end`).value, `key ${id} end`);
    }
  });
  await t.step("too short stays", () => {
    const text = "ghp_" + randomOf(ALNUM, 30);
    assert.equal(standard.redactText(text).value, text);
  });
});

Deno.test("parseExtraPatterns() refuses patterns that can backtrack exponentially", async (t) => {
  for (
    const source of [
      "(a|aa)+$",
      "(a+)+",
      "(?:x*y?)*z",
      "((ab)+)*",
      "(\\w+\\s?)*$",
      "(a)\\1",
      "(?<x>a)\\k<x>",
    ]
  ) {
    await t.step(source, () => {
      assert.throws(
        () => parseExtraPatterns(JSON.stringify({ bad_rule: source })),
        (error: Error) =>
          error.message.startsWith('Cannot use extra redaction rule "bad_rule"') &&
          error.message.includes(JSON.stringify(source)),
      );
    });
  }
  await t.step("linear patterns are accepted", () => {
    for (
      const source of [
        "acme_[a-z0-9]{32}",
        "(?:tok|key)_[A-Z]{10,}",
        "x[(+*)]+y",
        "\\(a+\\)+",
        "(?i:acme)-[0-9]+",
        "(ab){2}c?",
      ]
    ) {
      assert.equal(parseExtraPatterns(JSON.stringify({ ok_rule: source })).length, 1, source);
    }
  });
});

Deno.test("redaction rules take linear time: each on its keywords and alphabets repeated to 1 MB", async (t) => {
  // A pattern that rescans from every start (say, every "mysql" of a line) is quadratic: 1 MB of
  // its keyword then takes minutes, not milliseconds. Each pattern runs alone, as the engine runs
  // it (flags g and d), so the budget is about the pattern; it is generous against noise.
  const size = 1 << 20;
  const budgetMs = 2_000;
  const runs = ["A", "a", "0", "-", "_", "a-", "A_", "+/", ".", ":", "=", " ", "Aa0-_"];
  for (const rule of RULES) {
    const passes = [
      { pattern: rule.pattern, keywords: rule.keywords ?? ["x"] },
      ...(rule.passes ?? []),
    ];
    for (const [n, { pattern, keywords }] of passes.entries()) {
      await t.step(`${rule.id} #${n}`, () => {
        const texts = [
          ...keywords.flatMap((k) => [k, k + " ", k + "="]).map((unit) =>
            unit.repeat(size / unit.length)
          ),
          ...runs.map((run) => keywords[0] + run.repeat(size / run.length)),
        ];
        const regex = new RegExp(
          pattern.source,
          [...new Set([...pattern.flags, "g", "d"])].join(""),
        );
        for (const text of texts) {
          const start = performance.now();
          for (const match of text.matchAll(regex)) rule.accept?.(match[0], match);
          const ms = performance.now() - start;
          assert.ok(ms < budgetMs, `${rule.id} on ${JSON.stringify(text.slice(0, 24))}…: ${ms} ms`);
        }
      });
    }
  }
});

Deno.test("redact() finds named secrets, with random values", async (t) => {
  const v = "Zq8" + randomOf(ALNUM, 14);
  const texts: [string, string][] = [
    [`curl -H "X-Api-Key: ${v}" https://api.acme.dev`, "authorization_header"],
    [`curl -H 'X-Auth-Token: ${v}' https://api.acme.dev`, "authorization_header"],
    [`-H "Authorization: Basic ${btoa(`bob:${v}`)}"`, "authorization_header"],
    [`Authorization: Custom ${v}`, "authorization_header"],
    [`Authorization: Digest username="bob", response="${v}"`, "authorization_header"],
    [`//registry.npmjs.org/:_authToken=${v}`, "secret_assignment"],
    [`kubectl create secret generic db --from-literal=password=${v}`, "secret_assignment"],
    [`aws configure set aws_secret_access_key ${v}`, "password_flag"],
    [`machine api.acme.dev login bob password ${v}`, "password_flag"],
    [`machine api.acme.dev\n  login bob\n  password ${v}\n`, "password_flag"],
    [`openssl enc -aes-256-cbc -pass pass:${v} -in a.txt`, "password_flag"],
    [`sshpass -p ${v} ssh deploy@host`, "password_flag"],
    [`{"password": ["${v}"]}`, "secret_assignment"],
    [`{"password": {"value": "${v}"}}`, "secret_assignment"],
    [`api_tokens = "${v}"`, "secret_assignment"],
    [`secrets: ${v}`, "secret_assignment"],
    [`passwords=${v}`, "secret_assignment"],
  ];
  for (const [text, rule] of texts) {
    await t.step(text.replace(v, "V"), () => {
      const out = standard.redactText(text);
      const secret = rule === "authorization_header" && text.includes("Basic")
        ? btoa(`bob:${v}`)
        : v;
      assert.ok(!out.value.includes(secret), `left in: ${out.value}`);
      assert.ok(out.value.includes(marker(rule)), `no ${marker(rule)} in: ${out.value}`);
    });
  }
  await t.step("arrays and objects under a secret key, as values", () => {
    for (
      const input of [
        { password: [v] },
        { password: { value: v } },
        { api_tokens: v },
        { secrets: [v] },
        { passwords: { a: [v] } },
      ]
    ) {
      const out = JSON.stringify(standard.redact(input).value);
      assert.ok(!out.includes(v) && out.includes(marker("secret_assignment")), out);
    }
  });
  await t.step("precision: code, references, ids and counts stay", () => {
    for (
      const text of [
        `const password = form.get("password")`,
        `password_hash = bcrypt.hashpw(pw, salt)`,
        `token = process.env.TOKEN`,
        "Authorization: `Bearer ${token}`",
        `id ${crypto.randomUUID()}`,
        `commit ${randomOf("0123456789abcdef", 40)}`,
        `tool_use_id toolu_01${randomOf(ALNUM, 22)}`,
        "max_tokens: 4096",
        "input_tokens=1200",
      ]
    ) assert.equal(standard.redactText(text).value, text);
    const keep = { max_tokens: 4096, tokens: ["a", "b"], api_tokens: [] };
    assert.deepEqual(standard.redact(keep).value, keep);
  });
});
