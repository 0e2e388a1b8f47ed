import assert from "node:assert/strict";
import { createMetrics } from "./metrics.ts";

Deno.test("createMetrics() keeps each registry apart and labels bounded", async () => {
  const a = createMetrics();
  const b = createMetrics();
  a.observeRequest("/ingest", 200, 0.01);
  a.ingested("done", 2);
  a.ingested("something_new");
  a.duplicates(3);
  a.rejected("invalid", 4);
  a.observeWrite(250, 0.05);
  a.setQueueDepthSource(() => 42);
  const text = await a.render();
  assert.match(text, /zo_http_requests_total\{route="\/ingest",code="200"\} 1/);
  assert.match(text, /zo_events_ingested_total\{event_type="done"\} 2/);
  assert.match(text, /zo_events_ingested_total\{event_type="other"\} 1/);
  assert.ok(!text.includes("something_new"), "an unknown event type must not become a label");
  assert.match(text, /zo_events_duplicate_total 3/);
  assert.match(text, /zo_events_rejected_total\{reason="invalid"\} 4/);
  assert.match(text, /zo_chroma_write_duration_seconds_count 1/);
  assert.match(text, /zo_ingest_batch_events_sum 250/);
  assert.match(text, /zo_ingest_queue_events 42/);
  assert.doesNotMatch(await b.render(), /zo_http_requests_total\{/);
});

Deno.test("createMetrics() reports process metrics that work under Deno", async () => {
  const text = await createMetrics().render();
  const rss = Number(/^process_resident_memory_bytes (\d+)$/m.exec(text)?.[1]);
  assert.ok(rss > 10 * 1024 * 1024, `RSS ${rss}`);
  assert.match(text, /^process_cpu_seconds_total \d/m);
  assert.match(text, /^nodejs_heap_size_used_bytes \d/m);
  assert.doesNotMatch(text, /^process_open_fds 0$/m);
});
