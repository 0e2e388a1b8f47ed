/**
 * The bridge against a Chroma it does not run, as on Chroma's distributed deployment or Chroma
 * Cloud: `CHROMA_URL`, `CHROMA_TENANT`, `CHROMA_DATABASE` and `CHROMA_AUTH_TOKEN`. Chroma Cloud
 * cannot be reached from here; what can be tested is that the bridge sends what such a server
 * needs: a loopback proxy in front of a real Chroma refuses every request without the token
 * (as Chroma Cloud does) and records the tenant and database each request names.
 *
 * @module
 */
import assert from "node:assert/strict";
import { AdminClient } from "chromadb";
import { spawnBridge } from "./testing/bridge.ts";
import { startTestChroma } from "./testing/chroma.ts";
import { makeEvent } from "./testing/fakes.ts";

const TOKEN = `ck-${crypto.randomUUID()}`;

/** A proxy to `upstream` that answers 401 without `x-chroma-token: TOKEN`; keeps the paths seen. */
function tokenProxy(upstream: string) {
  const paths: string[] = [];
  let refused = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    if (req.headers.get("x-chroma-token") !== TOKEN) {
      refused++;
      await req.body?.cancel();
      return Response.json({ error: "AuthError", message: "missing or wrong token" }, {
        status: 401,
      });
    }
    paths.push(url.pathname);
    const headers = new Headers(req.headers);
    headers.delete("host");
    const body = req.body === null ? undefined : await req.arrayBuffer();
    const answer = await fetch(`${upstream}${url.pathname}${url.search}`, {
      method: req.method,
      headers,
      ...(body === undefined ? {} : { body }),
    });
    return new Response(await answer.arrayBuffer(), {
      status: answer.status,
      headers: answer.headers,
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    paths,
    get refused() {
      return refused;
    },
    stop: () => server.shutdown(),
  };
}

Deno.test("the bridge sends tenant, database and token to a remote Chroma that requires them", async (t) => {
  await using chroma = await startTestChroma();
  const port = Number(new URL(chroma.url).port);
  const admin = new AdminClient({ host: "127.0.0.1", port, ssl: false });
  await admin.createTenant({ name: "team-a" });
  await admin.createDatabase({ name: "telemetry", tenant: "team-a" });
  const proxy = tokenProxy(chroma.url);
  const env = { CHROMA_TENANT: "team-a", CHROMA_DATABASE: "telemetry" };
  try {
    await t.step("without the token, the bridge cannot use it", async () => {
      await using bridge = await spawnBridge({ chromaUrl: proxy.url, env });
      const health = await fetch(`${bridge.url}/health`);
      assert.equal(health.status, 503);
      await health.body?.cancel();
      assert.ok(proxy.refused > 0, "the proxy refused its requests");
      assert.deepEqual(proxy.paths, []);
    });

    await t.step("with it, events are stored in that tenant and database", async () => {
      await using bridge = await spawnBridge({
        chromaUrl: proxy.url,
        env: { ...env, CHROMA_AUTH_TOKEN: TOKEN },
      });
      const event = await makeEvent({ session_id: "s-remote" });
      const response = await fetch(bridge.ingestUrl, {
        method: "POST",
        headers: { authorization: `Bearer ${bridge.apiKey}` },
        body: JSON.stringify([event]),
      });
      assert.equal(response.status, 200, await response.text());
      const page = await fetch(`${bridge.url}/query?session_id=s-remote`, {
        headers: { authorization: `Bearer ${bridge.apiKey}` },
      });
      const body = await page.json();
      assert.deepEqual(body.results.map((e: { event_id: string }) => e.event_id), [event.event_id]);
      const collectionPaths = proxy.paths.filter((p) => p.includes("/collections"));
      assert.ok(collectionPaths.length > 0);
      for (const path of collectionPaths) {
        assert.match(path, /\/tenants\/team-a\/databases\/telemetry\//);
      }
      // Stored there, not in the default tenant's database.
      const inTenant = await chroma.client.listCollections().catch(() => []);
      assert.ok(!inTenant.some((c) => c.name === "events"), "nothing in the default database");
    });
  } finally {
    await proxy.stop();
  }
});
