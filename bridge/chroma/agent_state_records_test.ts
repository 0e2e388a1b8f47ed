import assert from "node:assert/strict";
import type { AgentState } from "../agent_state.ts";
import { addStoredEvents, createAgentStateUpdater } from "../agent_state_updater.ts";
import { ChromaStore } from "../chroma_store.ts";
import { startTestChroma } from "../testing/chroma.ts";
import { makeEvent } from "../testing/fakes.ts";
import { query } from "../testing/store_fixtures.ts";

const events = (n: number) =>
  Promise.all(Array.from({ length: n }, () => makeEvent({ session_id: "s-r" })));

async function sessionCount(store: ChromaStore): Promise<number> {
  const page = await store.query(query("collection=agent_state&scope=session&session_id=s-r"));
  assert.ok(page.results.length <= 1, "one merged record");
  return (page.results[0] as AgentState | undefined)?.counts.events ?? 0;
}

/** A bridge's store and updater under `writerId`, as the app runs them. */
function bridge(url: string, writerId: string) {
  const store = new ChromaStore({ url, writerId });
  const updater = createAgentStateUpdater(store.agentStateRecords, { delayMs: 10 });
  return {
    store,
    updater,
    async write(batch: Awaited<ReturnType<typeof events>>) {
      addStoredEvents(updater, { events: batch, result: await store.write(batch) });
    },
  };
}

Deno.test("agent_state recovery counts, once, what a crashed run stored and never applied", async (t) => {
  await using chroma = await startTestChroma();

  await t.step("a run applies 10 events, then stores 5 it never applies (a crash)", async () => {
    const first = bridge(chroma.url, "bridge-r");
    await first.write(await events(10));
    await first.updater.flush();
    assert.equal(await sessionCount(first.store), 10);
    await first.store.write(await events(5)); // stored, acknowledged, not folded: then gone
    assert.equal(await sessionCount(first.store), 10);
    await first.updater.close();
  });

  await t.step("another bridge id does not recover them", async () => {
    const other = bridge(chroma.url, "bridge-other");
    await other.updater.flush();
    assert.equal(await sessionCount(other.store), 10);
    await other.updater.close();
  });

  await t.step("the same id, started again, folds in the 5 above its watermark", async () => {
    const again = bridge(chroma.url, "bridge-r");
    assert.equal(again.updater.pending, 1, "recovery pending at start");
    await again.updater.flush();
    assert.equal(await sessionCount(again.store), 15);
    await again.write(await events(2));
    await again.updater.flush();
    assert.equal(await sessionCount(again.store), 17);
    await again.updater.close();
  });

  await t.step("a third start under that id recovers nothing twice", async () => {
    const third = bridge(chroma.url, "bridge-r");
    await third.updater.flush();
    assert.equal(await sessionCount(third.store), 17);
    await third.updater.close();
  });
});
