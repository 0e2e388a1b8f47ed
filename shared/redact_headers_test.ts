/**
 * HTTP headers whose name says key, token or secret, in the forms agents meet them (raw, in a
 * curl command, quoted), with random values generated per run; and look-alikes that stay.
 */
import assert from "node:assert/strict";
import { createRedactor, marker } from "./redact.ts";

const redactor = await createRedactor({ mode: "standard" });

function value(): string {
  return "Zq8" + crypto.randomUUID().replaceAll("-", "").slice(0, 16);
}

Deno.test("redact() takes the value of any header named for a key, token or secret", async (t) => {
  for (
    const form of [
      (v: string) => `curl -H "X-Auth-Key: ${v}" https://api.acme.dev`,
      (v: string) => `Ocp-Apim-Subscription-Key: ${v}`,
      (v: string) => `curl -H 'X-Vault-Token: ${v}' https://vault:8200/v1/secret`,
      (v: string) => `X-Shopify-Access-Token: ${v}`,
      (v: string) => `X-Goog-Api-Key: ${v}`,
      (v: string) => `X-Api-Key: ${v}`,
      (v: string) => `Private-Token: ${v}`,
      (v: string) => `X-Client-Secret: ${v}`,
      (v: string) => `headers = {'X-Auth-Token-Key': '${v}'}`,
    ]
  ) {
    const v = value();
    const text = form(v);
    await t.step(text.replace(v, "V"), () => {
      const out = redactor.redactText(text).value;
      assert.ok(!out.includes(v), out);
      assert.ok(out.includes("[REDACTED:"), out);
    });
  }
  await t.step("three words or more take the header rule", () => {
    const v = value();
    assert.equal(
      redactor.redactText(`X-Auth-Key: ${v}`).value,
      `X-Auth-Key: ${marker("authorization_header")}`,
    );
  });
  await t.step("look-alikes stay", () => {
    for (
      const text of [
        "the sort-by-key: option orders rows",
        "Foreign-Key-Constraint: on",
        "X-Request-Id: 4f9c2e1a",
        "max-tokens: 4096",
      ]
    ) assert.equal(redactor.redactText(text).value, text);
  });
});

Deno.test("redact() takes cookie values from Cookie and Set-Cookie headers and curl --cookie", async (t) => {
  for (
    const form of [
      (v: string) => `Cookie: session=${v}`,
      (v: string) => `cookie: theme=dark; sid=${v}; lang=en`,
      (v: string) => `curl -H "Cookie: _gh_sess=${v}" https://github.com/settings`,
      (v: string) => `curl --cookie "connect.sid=${v}" http://127.0.0.1:3000/admin`,
      (v: string) => `curl --cookie=token=${v} https://api.acme.dev`,
      (v: string) => `Set-Cookie: __Host-session=${v}; Path=/; Secure; HttpOnly; SameSite=Lax`,
      (v: string) => `{"headers": "{\\"Cookie\\": \\"auth=${v}\\"}"}`,
      (v: string) => `> GET / HTTP/1.1\r\n> Host: acme.dev\r\n> Cookie: a=1; PHPSESSID=${v}\r\n`,
    ]
  ) {
    const v = value();
    const text = form(v);
    await t.step(text.replace(v, "V"), () => {
      const out = redactor.redactText(text);
      assert.ok(!out.value.includes(v), out.value);
      assert.ok(out.rules.includes("cookie_header"), out.value);
    });
  }
  await t.step("names, short values and attributes stay", () => {
    const v = value();
    assert.equal(
      redactor.redactText(`Set-Cookie: sid=${v}; Path=/app; Max-Age=3600; Domain=acme.dev`).value,
      `Set-Cookie: sid=${marker("cookie_header")}; Path=/app; Max-Age=3600; Domain=acme.dev`,
    );
    assert.equal(
      redactor.redactText(`Cookie: theme=dark; lang=en; sid=${v}`).value,
      `Cookie: theme=dark; lang=en; sid=${marker("cookie_header")}`,
    );
  });
  await t.step("look-alikes stay", () => {
    for (
      const text of [
        "document.cookie = `theme=${theme}`;",
        "Cookie: theme=dark; lang=en",
        "the cookie banner: accepted",
        "const cookies = req.headers.cookie;",
      ]
    ) assert.equal(redactor.redactText(text).value, text);
  });
});
