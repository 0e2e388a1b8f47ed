/**
 * `Authorization: Digest` credentials: every parameter (username, nonce, cnonce, response,
 * opaque, ...) goes, in every form a header reaches redaction: raw, in a curl command, inside a
 * JSON string and inside JSON in JSON, folded over lines, with an unquoted first parameter or an
 * escaped quote inside a value. Values are random, generated per run.
 */
import assert from "node:assert/strict";
import { createRedactor, marker } from "./redact.ts";

const redactor = await createRedactor({ mode: "standard" });
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function randomOf(alphabet: string, length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

/** Fresh parameter values: each must be gone from the output. */
function params() {
  return {
    user: "u" + randomOf(ALNUM, 10),
    nonce: randomOf(ALNUM, 32),
    cnonce: randomOf(ALNUM, 16),
    response: randomOf("0123456789abcdef", 32),
    opaque: randomOf(ALNUM, 24),
  };
}

type Params = ReturnType<typeof params>;

/** The header's value, parameters joined by `sep`, every value in `q`...`q`. */
function digest(p: Params, options: { q?: string; sep?: string } = {}): string {
  const q = options.q ?? '"';
  const sep = options.sep ?? ", ";
  return [
    `username=${q}${p.user}${q}`,
    `realm=${q}api@acme.dev${q}`,
    `nonce=${q}${p.nonce}${q}`,
    `uri=${q}/v1/items${q}`,
    "qop=auth",
    "nc=00000001",
    `cnonce=${q}${p.cnonce}${q}`,
    `response=${q}${p.response}${q}`,
    `opaque=${q}${p.opaque}${q}`,
  ].join(sep);
}

const FORMS: [string, (p: Params) => string][] = [
  ["raw header", (p) => `Authorization: Digest ${digest(p)}`],
  ["no spaces after commas", (p) => `Authorization: Digest ${digest(p, { sep: "," })}`],
  ["lower case", (p) => `authorization: digest ${digest(p)}`],
  ["Proxy-Authorization", (p) => `Proxy-Authorization: Digest ${digest(p)}`],
  ["unquoted first parameter", (p) => `Authorization: Digest algorithm=MD5, ${digest(p)}`],
  ["unquoted values", (p) => `Authorization: Digest ${digest(p, { q: "" })}`],
  ["curl, single quotes", (p) => `curl -H 'Authorization: Digest ${digest(p)}' https://acme.dev`],
  [
    "curl, escaped double quotes",
    (p) => `curl -H "Authorization: Digest ${digest(p, { q: '\\"' })}" https://acme.dev`,
  ],
  [
    "escaped quote inside a value",
    (p) => `Authorization: Digest username="a\\"b", nonce="${p.nonce}", ${digest(p)}`,
  ],
  ["folded over lines", (p) => `Authorization: Digest ${digest(p, { sep: ",\r\n    " })}\r\n`],
  ["in a JSON string", (p) => JSON.stringify({ out: `Authorization: Digest ${digest(p)}` })],
  [
    "JSON in JSON",
    (p) =>
      JSON.stringify({
        stdout: JSON.stringify({ headers: { Authorization: `Digest ${digest(p)}` } }),
      }),
  ],
  ["Python dict", (p) => `headers = {'Authorization': 'Digest ${digest(p)}'}`],
  ["header name elsewhere", (p) => JSON.stringify([["Authorization", `Digest ${digest(p)}`]])],
];

Deno.test("redact() takes every parameter of Authorization: Digest", async (t) => {
  for (const [name, form] of FORMS) {
    await t.step(name, () => {
      const p = params();
      const text = form(p);
      const out = redactor.redactText(text);
      for (const [param, value] of Object.entries(p)) {
        assert.ok(!out.value.includes(value), `${param} left in: ${out.value}`);
      }
      assert.ok(out.value.includes(marker("authorization_header")), out.value);
      assert.deepEqual(out.rules, ["authorization_header"]);
      // Redacting twice changes nothing.
      assert.equal(redactor.redactText(out.value).value, out.value);
    });
  }
  await t.step("as a JSON value under its header name", () => {
    const p = params();
    const out = JSON.stringify(redactor.redact({ Authorization: `Digest ${digest(p)}` }).value);
    for (const value of Object.values(p)) assert.ok(!out.includes(value), out);
  });
});

Deno.test("redact() keeps text around Digest credentials and prose about digests", () => {
  const p = params();
  const out = redactor.redactText(`GET /v1\nAuthorization: Digest ${digest(p)}\nAccept: */*`).value;
  assert.equal(
    out,
    `GET /v1\nAuthorization: Digest ${marker("authorization_header")}\nAccept: */*`,
  );
  for (
    const text of [
      "the SHA-256 digest of the file matches",
      "Digest authentication sends a nonce",
      "Authorization: Basic [REDACTED:authorization_header]",
    ]
  ) assert.equal(redactor.redactText(text).value, text);
  // Basic credentials are base64, whose "=" padding is not a parameter list: the URL after stays.
  const basic = `curl -H "Authorization: Basic ${btoa("bob:" + p.nonce)}" https://acme.dev/x`;
  assert.equal(
    redactor.redactText(basic).value,
    `curl -H "Authorization: Basic ${marker("authorization_header")}" https://acme.dev/x`,
  );
});
