/**
 * The bridge's second redaction pass: an event from a VM whose redaction was off or missed a
 * secret is stored, indexed and served without it, `redaction` says what the bridge found, the
 * hash is recomputed over what is stored, `zo_ingest_redactions_total` counts it; an event the
 * VM had redacted is stored as it came. Secrets are random, generated per run.
 */
import assert from "node:assert/strict";
import { eventHash } from "../shared/ids.ts";
import type { Event } from "../shared/schema.ts";
import { createIngestRedaction } from "./ingest_redaction.ts";
import { makeEvent } from "./testing/fakes.ts";
import { spawnBridge, startTestBridge } from "./testing/bridge.ts";

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function randomOf(alphabet: string, length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

/** An event as a VM with redaction off would send it: secrets in msg, text, data and source. */
async function leakyEvent(): Promise<{ event: Event; secrets: string[] }> {
  const token = "ghp_" + randomOf(ALNUM, 40);
  const key = "AKIA" + randomOf("ABCDEFGHIJKLMNOPQRSTUVWXYZ0189", 16);
  const password = "Zq8" + randomOf(ALNUM, 16);
  const event = await makeEvent({
    event_type: "tool_invocation",
    msg: `Bash done: deploy --token ${token}`,
    indexable_text: `Bash\ncommand: deploy --token ${token}\nstdout: key ${key}`,
    data: { tool_input: { command: `mysql -p${password} app` }, tool_response: { stdout: key } },
    source: { host: "vm-1", cwd: `/srv/app?token=${token}` },
    error_detail: { type: "x", message: `DATABASE_URL=postgres://app:${password}@db/app` },
    redaction: { applied: false, rules: [], mode: "off" },
  });
  return { event, secrets: [token, key, password] };
}

Deno.test("createIngestRedaction() redacts what a VM left, says so and rehashes", async () => {
  const pass = await createIngestRedaction();
  const { event, secrets } = await leakyEvent();
  const out = await pass.redact(event);
  const text = JSON.stringify(out.event);
  for (const secret of secrets) assert.ok(!text.includes(secret), `left in: ${secret}`);
  assert.deepEqual(
    out.rules,
    [
      "aws_access_key",
      "github_pat",
      "password_flag",
      "url_credentials",
    ].filter((rule) => out.rules.includes(rule)),
  );
  assert.ok(out.rules.includes("github_pat") && out.rules.includes("aws_access_key"));
  assert.deepEqual(out.event.redaction?.bridge_rules, out.rules);
  assert.deepEqual(out.event.redaction?.rules, out.rules);
  assert.equal(out.event.redaction?.mode, "off", "the VM's mode stays as it was");
  // Identity untouched; the hash is that of what is stored.
  assert.equal(out.event.event_id, event.event_id);
  assert.equal(out.event.ts, event.ts);
  assert.notEqual(out.event.hash, event.hash);
  assert.equal(out.event.hash, await eventHash(out.event));
});

Deno.test("createIngestRedaction() leaves a redacted event as it came", async () => {
  const pass = await createIngestRedaction();
  const event = await makeEvent({
    msg: "Bash done: deploy --token [REDACTED:github_pat]",
    data: { command: "cat README.md", sha: randomOf("0123456789abcdef", 40) },
    redaction: { applied: true, rules: ["github_pat"], mode: "strict" },
  });
  const out = await pass.redact(event);
  assert.equal(out.event, event);
  assert.deepEqual(out.rules, []);
});

Deno.test("POST /ingest stores a leaky VM's event without its secrets, in Chroma, and counts them", async () => {
  await using bridge = await startTestBridge();
  const { event, secrets } = await leakyEvent();
  const clean = await makeEvent({ run_id: event.run_id, msg: "step done" });
  const post = (body: unknown) =>
    fetch(bridge.ingestUrl, {
      method: "POST",
      headers: { authorization: `Bearer ${bridge.ingestKey}` },
      body: JSON.stringify(body),
    }).then((response) => response.json());
  assert.deepEqual(await post([event, clean]), { accepted: 2, duplicates: 0, rejected: [] });
  // The same events again (a relay's retry): the same redaction, so duplicates.
  assert.deepEqual(await post([event, clean]), { accepted: 0, duplicates: 2, rejected: [] });

  const response = await fetch(`${bridge.queryUrl}?run_id=${event.run_id}&limit=10`, {
    headers: { authorization: `Bearer ${bridge.readKey}` },
  });
  const body = await response.json() as { results: Event[] };
  assert.equal(body.results.length, 2);
  const text = JSON.stringify(body);
  for (const secret of secrets) assert.ok(!text.includes(secret), `stored: ${secret}`);
  const stored = body.results.find((e) => e.event_id === event.event_id)!;
  assert.ok(stored.redaction?.bridge_rules?.includes("github_pat"));
  const storedClean = body.results.find((e) => e.event_id === clean.event_id)!;
  assert.deepEqual(storedClean, clean, "a clean event is stored as it came");
  // Nor in what Chroma indexes and embeds.
  const collection = await bridge.chroma.client.getCollection({
    name: "events",
    embeddingFunction: undefined,
  });
  const docs = await collection.get({ ids: [event.event_id], include: ["documents", "metadatas"] });
  const indexed = JSON.stringify(docs);
  assert.ok(indexed.length > 100, indexed);
  for (const secret of secrets) assert.ok(!indexed.includes(secret), `indexed: ${secret}`);

  // Counted per event received: the retry was redacted too.
  const metrics = await bridge.app.metrics.render();
  assert.match(metrics, /zo_ingest_redactions_total\{rule="github_pat"\} 2\b/);
  assert.match(metrics, /zo_ingest_redactions_total\{rule="aws_access_key"\} 2\b/);
});

Deno.test("bridge/main.ts with ZO_INGEST_REDACTION=off stores what the VM sent, its hash unchanged", async () => {
  await using bridge = await spawnBridge({ env: { ZO_INGEST_REDACTION: "off" } });
  const { event } = await leakyEvent();
  const headers = { authorization: `Bearer ${bridge.apiKey}` };
  const posted = await fetch(bridge.ingestUrl, {
    method: "POST",
    headers,
    body: JSON.stringify([event]),
  });
  assert.deepEqual(await posted.json(), { accepted: 1, duplicates: 0, rejected: [] });
  const response = await fetch(`${bridge.url}/query?run_id=${event.run_id}&limit=10`, { headers });
  const { results } = await response.json() as { results: Event[] };
  assert.equal(results.length, 1);
  assert.deepEqual(results[0], event, "stored as it came: no second pass");
  const metrics = await (await fetch(`${bridge.url}/metrics`, { headers })).text();
  assert.doesNotMatch(metrics, /zo_ingest_redactions_total\{/);
});
