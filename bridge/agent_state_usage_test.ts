import assert from "node:assert/strict";
import { applyEvents, parseState, type StateUsage } from "./agent_state.ts";
import { mergeState } from "./agent_state_updater.ts";
import { makeEvent } from "./testing/fakes.ts";

const raised = (messages: number, output: number): StateUsage => ({
  messages,
  input_tokens: 10 * messages,
  output_tokens: output,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
});

Deno.test("applyEvents() adds usage deltas to every record a usage event touches", async () => {
  const first = await makeEvent({ event_type: "usage", worker_id: "vm-1" });
  const second = await makeEvent({ event_type: "usage", worker_id: "vm-1" });
  const plain = await makeEvent({ event_type: "progress", worker_id: "vm-1" });
  const states = applyEvents(
    new Map(),
    [first, second, plain],
    new Map([[first.event_id, raised(1, 5)], [second.event_id, raised(0, 90)]]),
  );
  assert.equal(states.size, 4, "project, worker, run, session");
  for (const state of states.values()) {
    assert.deepEqual(state.usage, raised(1, 95), state.scope);
    assert.equal(state.counts.events, 3);
  }
  const none = applyEvents(new Map(), [plain]);
  assert.ok([...none.values()].every((state) => state.usage === undefined));
});

Deno.test("mergeState() adds usage; parseState() reads it back", async () => {
  const event = await makeEvent({ event_type: "usage" });
  const [base] = applyEvents(new Map(), [event], new Map([[event.event_id, raised(1, 5)]]))
    .values();
  const later = await makeEvent({ event_type: "usage" });
  const [delta] = applyEvents(new Map(), [later], new Map([[later.event_id, raised(2, 7)]]))
    .values();
  const merged = mergeState(base!, delta!);
  assert.deepEqual(merged.usage, raised(3, 12));
  assert.deepEqual(parseState(JSON.stringify(merged))?.usage, raised(3, 12));
  const withoutUsage = { ...merged, usage: undefined };
  assert.equal(parseState(JSON.stringify(withoutUsage))?.usage, undefined);
});
