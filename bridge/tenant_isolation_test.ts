/**
 * Attacks by one tenant (an ingest key bound to project "hostile") against a real bridge and a
 * real Chroma on loopback, each asserting that the other tenant ("acme") is served meanwhile and
 * that the bridge stays healthy. Connection-level attacks are in `connections_test.ts` and
 * `main_test.ts`; live streams in `live_test.ts`; the body budget's per-key share and deadline in
 * `ingest_body_test.ts`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { makeEvent } from "./testing/fakes.ts";
import { startTestBridge, testKey } from "./testing/bridge.ts";

const HOSTILE = testKey("hostile");
const ACME = testKey("acme");

async function post(url: string, key: string, body: BodyInit): Promise<Response> {
  return await fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/x-ndjson" },
    body,
  });
}

Deno.test("a poison event (lone surrogate) is rejected by index; the other tenant's events are stored", async () => {
  await using bridge = await startTestBridge({
    keys: `ingest@hostile:${HOSTILE},ingest@acme:${ACME}`,
  });
  for (let round = 0; round < 5; round++) {
    const poison = await makeEvent({ project_id: "hostile", tool_name: "a\ud800b" });
    const fine = await makeEvent({ project_id: "hostile" });
    const mine = await makeEvent({ project_id: "acme" });
    const [attack, other] = await Promise.all([
      post(bridge.ingestUrl, HOSTILE, `${JSON.stringify(poison)}\n${JSON.stringify(fine)}\n`),
      post(bridge.ingestUrl, ACME, JSON.stringify(mine)),
    ]);
    assert.equal(attack.status, 200);
    const summary = await attack.json();
    assert.equal(summary.accepted, 1);
    assert.deepEqual(summary.rejected.map((r: { index: number }) => r.index), [0]);
    assert.match(summary.rejected[0].error, /well-formed Unicode/);
    assert.equal(other.status, 200);
    assert.equal((await other.json()).accepted, 1);
  }
  const health = await fetch(`${bridge.url}/health`);
  assert.equal(health.status, 200);
  await health.body?.cancel();
});
