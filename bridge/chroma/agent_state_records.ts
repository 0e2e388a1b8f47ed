/**
 * The `agent_state` collection as the agent_state updater's {@linkcode StateRecords}: reading
 * records with the update that last wrote them, and upserting them stamped with the current one.
 *
 * @module
 */
import type { Collection } from "chromadb";
import { parseState, stateMetadata } from "../agent_state.ts";
import type { StateRecords, StoredState } from "../agent_state_updater.ts";
import { type ChromaCall, chunks, PLACEHOLDER_EMBEDDING } from "./connection.ts";

/** agent_state metadata key: the updater flush that last wrote the record (see the updater). */
const UPDATE_ID = "update_id";

/** The records in the collection `collection()` resolves to, read and written with `call`. */
export function chromaStateRecords(
  collection: () => Promise<Collection>,
  call: ChromaCall,
): StateRecords {
  return {
    async read(ids) {
      const states = new Map<string, StoredState>();
      if (ids.length === 0) return states;
      const agentState = await collection();
      for (const part of chunks(ids)) {
        const result = await call(
          "read agent state",
          () => agentState.get({ ids: part, include: ["documents", "metadatas"] }),
        );
        result.documents.forEach((document, i) => {
          const state = parseState(document);
          const updateId = result.metadatas[i]?.[UPDATE_ID];
          if (state === undefined) return;
          states.set(state.id, typeof updateId === "string" ? { state, updateId } : { state });
        });
      }
      return states;
    },
    async write(states, updateId) {
      const agentState = await collection();
      for (const part of chunks(states)) {
        await call("update agent state", () =>
          agentState.upsert({
            ids: part.map((s) => s.id),
            documents: part.map((s) => JSON.stringify(s)),
            metadatas: part.map((s) => ({ ...stateMetadata(s), [UPDATE_ID]: updateId })),
            embeddings: part.map(() => [...PLACEHOLDER_EMBEDDING]),
          }));
      }
    },
  };
}
