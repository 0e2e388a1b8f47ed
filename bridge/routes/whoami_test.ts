import assert from "node:assert/strict";
import { startTestBridge, testKey } from "../testing/bridge.ts";

Deno.test("GET /whoami names the key, its scopes and its project, and never the key", async (t) => {
  const bound = testKey("ingest-acme");
  const both = testKey("both");
  await using bridge = await startTestBridge({
    keys: `ingest@acme:${bound},ingest+read:${both}`,
  });
  const whoami = async (key?: string) => {
    const response = await fetch(`${bridge.url}/whoami`, {
      headers: key ? { authorization: `Bearer ${key}` } : {},
    });
    const text = await response.text();
    return { status: response.status, text, body: JSON.parse(text) };
  };

  await t.step("a key bound to a project", async () => {
    const { status, text, body } = await whoami(bound);
    assert.equal(status, 200);
    assert.deepEqual(body, { key: "ZO_API_KEYS[3]", scopes: ["ingest"], project_id: "acme" });
    assert.ok(!text.includes(bound));
  });
  await t.step("any scope may ask: read, ingest+read, admin", async () => {
    assert.deepEqual((await whoami(bridge.readKey)).body.scopes, ["read"]);
    assert.deepEqual((await whoami(both)).body, {
      key: "ZO_API_KEYS[4]",
      scopes: ["ingest", "read"],
      project_id: null,
    });
    assert.deepEqual((await whoami(bridge.adminKey)).body.scopes, ["admin"]);
  });
  await t.step("no key or an unknown one: 401", async () => {
    assert.equal((await whoami()).status, 401);
    const { status, body } = await whoami("not-a-key-of-this-bridge");
    assert.equal(status, 401);
    assert.equal(body.reason, "unauthorized");
  });
});

Deno.test("GET /whoami on a bridge without keys: an anonymous admin", async () => {
  await using bridge = await startTestBridge({ open: true });
  const response = await fetch(`${bridge.url}/whoami`);
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), {
    key: "anonymous",
    scopes: ["ingest", "read", "admin"],
    project_id: null,
  });
});
