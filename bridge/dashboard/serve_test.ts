import assert from "node:assert/strict";
import { createApp } from "../app.ts";
import { createAuthenticator, parseApiKeys } from "../auth.ts";
import { FakeStore } from "../testing/fakes.ts";
import { DASHBOARD_FILES } from "./assets.ts";
import { contentTypeOf, DASHBOARD_CSP } from "./serve.ts";

async function app() {
  const keys = parseApiKeys("read:read-key-0000000000000000000", "ZO_API_KEYS");
  return createApp({
    store: new FakeStore(),
    authenticate: await createAuthenticator(keys),
    log: () => {},
  });
}

Deno.test("the bridge serves the dashboard's files without a key", async (t) => {
  const handler = await app();
  const get = (path: string, init: RequestInit = {}) =>
    handler(new Request(`http://bridge.test${path}`, init));
  await t.step("/ and /dashboard redirect to /dashboard/", async () => {
    const root = await get("/");
    assert.equal(root.status, 302);
    assert.equal(root.headers.get("location"), "dashboard/");
    const bare = await get("/dashboard");
    assert.equal(bare.status, 308);
    assert.equal(
      new URL(bare.headers.get("location")!, "http://x/dashboard").pathname,
      "/dashboard/",
    );
  });
  await t.step(
    "/dashboard/ is the page, with a strict policy and revalidated caching",
    async () => {
      const response = await get("/dashboard/");
      assert.equal(response.status, 200);
      assert.equal(await response.text(), DASHBOARD_FILES["index.html"]);
      assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
      assert.equal(response.headers.get("content-security-policy"), DASHBOARD_CSP);
      assert.match(DASHBOARD_CSP, /script-src 'self';/);
      assert.doesNotMatch(DASHBOARD_CSP, /unsafe-inline|unsafe-eval|\*/);
      assert.equal(response.headers.get("x-content-type-options"), "nosniff");
      assert.equal(response.headers.get("cache-control"), "no-cache");
      assert.match(response.headers.get("etag") ?? "", /^"[0-9a-f]{24}"$/);
    },
  );
  await t.step("every file with its content type; 304 when unchanged", async () => {
    for (const [name, text] of Object.entries(DASHBOARD_FILES)) {
      const response = await get(`/dashboard/${name}`);
      assert.equal(response.status, 200, name);
      assert.equal(response.headers.get("content-type"), contentTypeOf(name));
      assert.equal(await response.text(), text);
      const again = await get(`/dashboard/${name}`, {
        headers: { "if-none-match": response.headers.get("etag")! },
      });
      assert.equal(again.status, 304, name);
      assert.equal(await again.text(), "");
    }
    assert.equal(contentTypeOf("main.js"), "text/javascript; charset=utf-8");
    assert.equal(contentTypeOf("app.css"), "text/css; charset=utf-8");
  });
  await t.step("unknown files are a JSON 404; other methods a 405; HEAD has no body", async () => {
    for (const path of ["/dashboard/nope.js", "/dashboard/serve.ts", "/dashboard/../deno.json"]) {
      const response = await get(path);
      assert.equal(response.status, 404, path);
      assert.match((await response.json()).error, /Cannot find/);
    }
    const post = await get("/dashboard/", { method: "POST", body: "x" });
    assert.equal(post.status, 405);
    await post.body?.cancel();
    const head = await get("/dashboard/main.js", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
  });
  await t.step("the data routes still need a key", async () => {
    const response = await get("/query");
    assert.equal(response.status, 401);
    await response.body?.cancel();
  });
});
