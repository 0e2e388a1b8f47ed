/**
 * What the bridge's second redaction pass costs at ingest: `POST /ingest` of 200-event batches
 * through the real app (in process, over an in-memory store, so the pass is not hidden behind
 * Chroma's write time) with the pass on and off, interleaved, medians and their ratio; and the
 * pass alone per event. Events are the fixture payloads sealed as a VM seals them (so the pass
 * usually finds nothing: the common case), plus every tenth one carrying a 20 KB tool output.
 *
 * ```sh
 * deno task bench:ingest-redaction   # deno run --allow-read=testdata bench/ingest_redaction_bench.ts
 * ```
 *
 * @module
 */
import { createApp } from "../bridge/app.ts";
import { createAuthenticator } from "../bridge/auth.ts";
import { createIngestRedaction } from "../bridge/ingest_redaction.ts";
import { FakeStore } from "../bridge/testing/fakes.ts";
import { type EventContext, eventFromHookPayload } from "../hooks/pipeline/envelope.ts";
import { createRedactor } from "../shared/redact.ts";
import type { Event } from "../shared/schema.ts";
import { median } from "./_stats.ts";

const PAYLOADS = new URL("../testdata/claude-code/payloads/", import.meta.url);
const BATCH = 200;
const ROUNDS = 40;

const LINES = [
  "  const result = await client.get(id);",
  "commit 3f1c2a9e8b7d6c5b4a39281706f5e4d3c2b1a098 (HEAD -> main)",
  "ok 12 - uploader retries 3 times (41ms)",
  "    at Object.<anonymous> (/home/dev/app/src/upload.ts:120:17)",
  '  if (!process.env.API_KEY) throw new Error("set API_KEY");',
];

/** `count` sealed events from the fixture payloads, every tenth with a 20 KB output. */
async function sealedEvents(count: number, round: number): Promise<Event[]> {
  const redactor = await createRedactor({ mode: "strict", hostNames: ["dev-vm-7"], salt: "b" });
  const names = [...Deno.readDirSync(PAYLOADS)].map((entry) => entry.name).sort();
  const payloads = names.map((name) => JSON.parse(Deno.readTextFileSync(new URL(name, PAYLOADS))));
  const big = Array.from({ length: 20 * 1024 / 40 }, (_, i) => LINES[i % LINES.length]).join("\n");
  const context: EventContext = { run_id: `run-${round}`, project_id: "acme", worker_id: "vm-1" };
  const events: Event[] = [];
  const base = Date.now() - 600_000 + round * count;
  for (let i = 0; i < count; i++) {
    const payload = structuredClone(payloads[i % payloads.length]);
    payload.session_id = `s-${round}-${i}`;
    if (i % 10 === 0) payload.tool_response = { stdout: big, stderr: "" };
    events.push(await eventFromHookPayload(payload, context, { redactor, now: base + i }));
  }
  return events;
}

async function appWith(redaction: boolean) {
  return createApp({
    store: new FakeStore(),
    authenticate: await createAuthenticator([]),
    groupCommit: { lingerMs: 0 },
    log: () => {},
    ...(redaction ? {} : { redaction: false as const }),
  });
}

async function post(app: (req: Request) => Promise<Response>, body: string): Promise<number> {
  const start = performance.now();
  const response = await app(
    new Request("http://bridge.bench/ingest", { method: "POST", body }),
  );
  await response.body?.cancel();
  if (response.status !== 200) throw new Error(`Cannot ingest: ${response.status}`);
  return performance.now() - start;
}

async function main(): Promise<void> {
  const on = await appWith(true);
  const off = await appWith(false);
  const bodies: [string, string][] = [];
  for (let round = 0; round < ROUNDS + 5; round++) {
    const events = await sealedEvents(BATCH, round);
    // Each app gets its own copy of a round: a second delivery would be a duplicate.
    const text = JSON.stringify(events);
    bodies.push([text, text.replaceAll(`run-${round}`, `run-off-${round}`)]);
  }
  const withPass: number[] = [];
  const without: number[] = [];
  for (const [round, [a, b]] of bodies.entries()) {
    // Interleaved, alternating which goes first; the first 5 rounds warm the JIT up.
    const first = round % 2 === 0;
    const tOn = first ? await post(on, a) : 0;
    const tOff = await post(off, b);
    const tOn2 = first ? tOn : await post(on, a);
    if (round < 5) continue;
    withPass.push(tOn2);
    without.push(tOff);
  }
  for (const app of [on, off]) app.live.close();

  // The pass alone, per event.
  const pass = await createIngestRedaction();
  const events = await sealedEvents(BATCH, 999);
  const perEvent: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    for (const event of events) await pass.redact(event);
    perEvent.push((performance.now() - start) / events.length);
  }
  const kb = new TextEncoder().encode(bodies[0]![0]).length / 1024;
  const out = [
    `Ingest of ${BATCH}-event batches (${
      kb.toFixed(0)
    } KB), in process, in-memory store, medians of ${ROUNDS} interleaved rounds (Deno ${Deno.version.deno}):`,
    `  second redaction pass on:  ${median(withPass).toFixed(2)} ms per batch (${
      (median(withPass) * 1000 / BATCH).toFixed(0)
    } us per event)`,
    `  second redaction pass off: ${median(without).toFixed(2)} ms per batch (${
      (median(without) * 1000 / BATCH).toFixed(0)
    } us per event)`,
    `  ratio on/off: ${(median(withPass) / median(without)).toFixed(2)}x`,
    `  the pass alone: ${(median(perEvent) * 1000).toFixed(0)} us per event`,
  ];
  await Deno.stdout.write(new TextEncoder().encode(out.join("\n") + "\n"));
}

if (import.meta.main) {
  await main();
}
