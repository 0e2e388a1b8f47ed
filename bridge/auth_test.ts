import assert from "node:assert/strict";
import { ConfigError } from "../shared/config.ts";
import { sha256Hex } from "../shared/ids.ts";
import { createAuthenticator, parseApiKeys, presentedKey, requireScope } from "./auth.ts";
import { HttpError } from "./errors.ts";

const INGEST_KEY = "ingest-key-0123456789abcdef";
const READ_KEY = "read-key-0123456789abcdef";

const request = (headers: Record<string, string> = {}) =>
  new Request("http://bridge.test/ingest", { headers });

Deno.test("parseApiKeys() reads scopes, project bindings and hashed keys", async () => {
  const hashed = await sha256Hex(READ_KEY);
  const keys = parseApiKeys(
    `ingest@acme:${INGEST_KEY}, read+ingest:sha256:${hashed}\n# a comment, with a comma\nadmin:${
      "a".repeat(20)
    }`,
    "ZO_API_KEYS",
  );
  assert.deepEqual(keys, [
    {
      name: "ZO_API_KEYS[0]",
      scopes: ["ingest"],
      projectId: "acme",
      secret: { plain: INGEST_KEY },
    },
    {
      name: "ZO_API_KEYS[1]",
      scopes: ["read", "ingest"],
      projectId: undefined,
      secret: { sha256: hashed },
    },
    {
      name: "ZO_API_KEYS[2]",
      scopes: ["admin"],
      projectId: undefined,
      secret: { plain: "a".repeat(20) },
    },
  ]);
});

Deno.test("parseApiKeys() refuses bad entries without echoing the key", async (t) => {
  const cases: [string, RegExp][] = [
    [`nokeyhere`, /<scopes>\[@<project_id>\]:<key>/],
    [`write:${INGEST_KEY}`, /scope "write" is not one of ingest, read, admin/],
    [`ingest:short-secret`, /at least 16 characters/],
    [`read:sha256:abc`, /64 lowercase hex/],
    [`ingest@:${INGEST_KEY}`, /project id/],
  ];
  for (const [text, message] of cases) {
    await t.step(text.slice(0, 20), () => {
      assert.throws(() => parseApiKeys(text, "ZO_API_KEYS"), (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, message);
        assert.ok(!error.message.includes("short-secret") && !error.message.includes(INGEST_KEY));
        return true;
      });
    });
  }
});

Deno.test("presentedKey() reads Bearer and X-API-Key", () => {
  assert.equal(presentedKey(request({ authorization: `Bearer ${INGEST_KEY}` })), INGEST_KEY);
  assert.equal(presentedKey(request({ authorization: `bearer   ${INGEST_KEY} ` })), INGEST_KEY);
  assert.equal(presentedKey(request({ "x-api-key": INGEST_KEY })), INGEST_KEY);
  assert.equal(presentedKey(request({ authorization: `Basic abc` })), undefined);
  assert.equal(presentedKey(request()), undefined);
});

Deno.test("createAuthenticator() finds the principal of a key", async (t) => {
  const authenticate = await createAuthenticator([
    ...parseApiKeys(`ingest@acme:${INGEST_KEY}`, "ZO_API_KEYS"),
    ...parseApiKeys(`read:sha256:${await sha256Hex(READ_KEY)}`, "ZO_API_KEYS_FILE"),
  ]);
  await t.step("plain key by Bearer", async () => {
    const principal = await authenticate(request({ authorization: `Bearer ${INGEST_KEY}` }));
    assert.equal(principal.name, "ZO_API_KEYS[0]");
    assert.equal(principal.projectId, "acme");
    assert.deepEqual([...principal.scopes], ["ingest"]);
  });
  await t.step("hashed key by X-API-Key", async () => {
    const principal = await authenticate(request({ "x-api-key": READ_KEY }));
    assert.equal(principal.name, "ZO_API_KEYS_FILE[0]");
    assert.equal(principal.projectId, undefined);
  });
  await t.step("missing key: 401", async () => {
    await assert.rejects(authenticate(request()), (error: HttpError) => error.status === 401);
  });
  await t.step("unknown key: 401, not echoed", async () => {
    await assert.rejects(
      authenticate(request({ authorization: "Bearer not-a-key-0123456789" })),
      (error: HttpError) => error.status === 401 && !error.message.includes("not-a-key"),
    );
  });
});

Deno.test("createAuthenticator() lets anyone in as admin when no key is configured", async () => {
  const principal = await (await createAuthenticator([]))(request());
  assert.equal(principal.name, "anonymous");
  assert.ok(principal.scopes.has("admin"));
});

Deno.test("createAuthenticator() refuses the same key twice", async () => {
  const keys = parseApiKeys(
    `ingest:${INGEST_KEY},read:sha256:${await sha256Hex(INGEST_KEY)}`,
    "ZO_API_KEYS",
  );
  await assert.rejects(createAuthenticator(keys), /same key as ZO_API_KEYS\[0\]/);
});

Deno.test("requireScope() answers 403 for a missing scope; admin holds every scope", () => {
  const reader = { name: "k", scopes: new Set(["read"] as const) };
  assert.throws(() => requireScope(reader, "ingest"), (error: HttpError) => error.status === 403);
  requireScope(reader, "read");
  requireScope({ name: "a", scopes: new Set(["admin"] as const) }, "ingest");
});
