import assert from "node:assert/strict";
import { REJECTIONS } from "../../shared/contract.ts";
import { createAuthenticator, parseApiKeys } from "../auth.ts";
import { createApp } from "../app.ts";
import { createMetrics } from "../metrics.ts";
import { FakeStore } from "../testing/fakes.ts";
import { matchRoute, ROUTE_LABELS, ROUTE_TABLE } from "./table.ts";

Deno.test("ROUTE_TABLE gives each path once and the metrics one label per route", () => {
  const paths = ROUTE_TABLE.map((route) => route.path);
  assert.equal(new Set(paths).size, paths.length);
  assert.deepEqual(ROUTE_LABELS, [...paths, "unmatched"]);
  assert.equal(matchRoute("/")?.path, "/dashboard");
  assert.equal(matchRoute("/dashboard/app.js")?.path, "/dashboard");
  assert.equal(matchRoute("/ingest/x"), undefined);
});

Deno.test("the dispatcher answers 404, 405 with Allow, 401 and 403 with the table's reasons", async (t) => {
  const key = "read-key-0123456789abcdef";
  const app = createApp({
    store: new FakeStore(),
    authenticate: await createAuthenticator(parseApiKeys(`read:${key}`, "ZO_API_KEYS")),
    metrics: createMetrics(),
    log: () => {},
  });
  try {
    const cases: [string, string, Record<string, string>, keyof typeof REJECTIONS][] = [
      ["/nowhere", "GET", {}, "not_found"],
      ["/ingest", "GET", {}, "method_not_allowed"],
      ["/query", "POST", {}, "method_not_allowed"],
      ["/query", "GET", {}, "unauthorized"],
      ["/ingest", "POST", { authorization: `Bearer ${key}` }, "forbidden_scope"],
      ["/query?limit=0", "GET", { authorization: `Bearer ${key}` }, "bad_query"],
    ];
    for (const [path, method, headers, reason] of cases) {
      await t.step(`${method} ${path}: ${reason}`, async () => {
        const response = await app(new Request(`http://bridge${path}`, { method, headers }));
        const body = await response.json();
        assert.equal(response.status, REJECTIONS[reason].status);
        assert.equal(body.reason, reason);
        assert.equal(typeof body.error, "string");
        if (reason === "method_not_allowed") {
          assert.equal(response.headers.get("allow"), path === "/ingest" ? "POST" : "GET, HEAD");
        }
      });
    }
    await t.step("the request metrics label each route by its table path", async () => {
      await app(new Request("http://bridge/health"));
      const text = await app.metrics.render();
      assert.match(text, /zo_http_requests_total\{route="\/health",code="200"\} 1/);
      assert.match(text, /zo_http_requests_total\{route="unmatched",code="404"\} 1/);
    });
  } finally {
    app.live.close();
  }
});
