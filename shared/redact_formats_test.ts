/**
 * Token formats with random values generated per run: each prefix with its minimum length and
 * longer, ending in every character of its alphabet (a trailing `\b` after an alphabet holding
 * `-` or `_` let such tokens through).
 */
import assert from "node:assert/strict";
import { createRedactor, marker } from "./redact.ts";

const redactor = await createRedactor({ mode: "standard" });

const UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALNUM = UPPER_DIGITS + "abcdefghijklmnopqrstuvwxyz";
const B64URL = ALNUM + "_-";
const HEX = "0123456789abcdef";

function randomOf(alphabet: string, length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

/** A format: its rule, and a maker of a random token with a body of `extra` more characters. */
interface Format {
  rule: string;
  make: (extra: number, last?: string) => string;
  alphabet: string;
}

const FORMATS: Format[] = [
  ...["AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA", "APKA", "A3TX"].map((prefix) => ({
    rule: "aws_access_key",
    alphabet: UPPER_DIGITS,
    // Always exactly 16: the id has a fixed length; include 0, 1, 8, 9 (outside base32).
    make: (_extra: number, last?: string) =>
      prefix + randomOf("0189", 4) + randomOf(UPPER_DIGITS, 11) + (last ?? "9"),
  })),
  ...["ghp_", "gho_", "ghu_", "ghs_", "ghr_"].map((prefix) => ({
    rule: prefix === "ghp_"
      ? "github_pat"
      : prefix === "gho_"
      ? "github_oauth_token"
      : prefix === "ghr_"
      ? "github_refresh_token"
      : "github_app_token",
    alphabet: ALNUM,
    make: (extra: number, last?: string) => prefix + randomOf(ALNUM, 35 + extra) + (last ?? "x"),
  })),
  {
    rule: "github_fine_grained_pat",
    alphabet: ALNUM + "_",
    make: (extra, last) => "github_pat_" + randomOf(ALNUM + "_", 81 + extra) + (last ?? "_"),
  },
  {
    rule: "sendgrid_api_key",
    alphabet: B64URL,
    make: (_extra, last) => `SG.${randomOf(B64URL, 22)}.${randomOf(B64URL, 42)}${last ?? "-"}`,
  },
  {
    rule: "npm_token",
    alphabet: ALNUM,
    make: (extra, last) => "npm_" + randomOf(ALNUM, 35 + extra) + (last ?? "Z"),
  },
  {
    rule: "stripe_secret_key",
    alphabet: ALNUM,
    make: (extra, last) => "sk_live_" + randomOf(ALNUM, 99 + extra) + (last ?? "a"),
  },
  {
    rule: "huggingface_token",
    alphabet: ALNUM,
    make: (extra, last) => "hf_" + randomOf(ALNUM, 33 + extra) + (last ?? "q"),
  },
  {
    rule: "digitalocean_token",
    alphabet: HEX,
    make: (extra, last) => "dop_v1_" + randomOf(HEX, 63 + extra) + (last ?? "f"),
  },
  {
    rule: "shopify_token",
    alphabet: HEX,
    make: (extra, last) => "shpat_" + randomOf(HEX, 31 + extra) + (last ?? "0"),
  },
];

const CONTEXTS = [
  (t: string) => t,
  (t: string) => `export TOKEN_VALUE=${t}`,
  (t: string) => `{"value": "${t}"}`,
  (t: string) => `curl -d 'k=${t}' https://example.com`,
  (t: string) => `line one\n${t}\nline three`,
];

for (const format of FORMATS) {
  Deno.test(`${format.rule} (${format.make(0).slice(0, 4)}…): random tokens, every last character, longer than the minimum`, () => {
    const lengths = format.rule === "aws_access_key" || format.rule === "sendgrid_api_key"
      ? [0]
      : [0, 1, 7, 40];
    for (const extra of lengths) {
      for (const last of format.alphabet) {
        const token = format.make(extra, last);
        for (const context of CONTEXTS) {
          const text = context(token);
          const out = redactor.redactText(text);
          assert.ok(!out.value.includes(token), `${token} left in: ${out.value}`);
          assert.ok(
            out.value.includes(marker(format.rule)),
            `no ${marker(format.rule)} in ${out.value}`,
          );
        }
      }
    }
  });
}

Deno.test("aws_access_key: the documentation keys (…EXAMPLE) stay", () => {
  const text = "aws_access_key_id = AKIAIOSFODNN7EXAMPLE";
  assert.equal(redactor.redactText(text).value, text);
});
