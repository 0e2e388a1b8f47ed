/**
 * A real {@linkcode ChromaStore} with what the app runs beside it: the agent_state updater, fed
 * after each write, and a group committer for writes that run at once. For the store's own
 * tests and benchmarks, which use no app.
 *
 * @module
 */
import type { Event } from "../../shared/schema.ts";
import {
  addStoredEvents,
  type AgentStateUpdater,
  createAgentStateUpdater,
} from "../agent_state_updater.ts";
import { ChromaStore, type ChromaStoreOptions } from "../chroma_store.ts";
import { createGroupCommitter, type EventOutcome, type GroupCommitter } from "../group_commit.ts";
import type { QueryParams, QueryResult, WriteResult } from "../store.ts";

/** See the module doc. */
export class TestStore {
  /** The store itself. */
  readonly store: ChromaStore;
  readonly #updater: AgentStateUpdater;
  readonly #committer: GroupCommitter;

  constructor(options: ChromaStoreOptions) {
    this.store = new ChromaStore(options);
    const updater = createAgentStateUpdater(this.store.agentStateRecords);
    this.#updater = updater;
    this.#committer = createGroupCommitter(this.store, {
      maxInFlight: 4,
      onStored: (events, result) => addStoredEvents(updater, { events, result }),
    });
  }

  /** {@linkcode ChromaStore.init}. */
  init(): Promise<void> {
    return this.store.init();
  }

  /** One `store.write`, then its stored events to the agent_state updater, as the app does. */
  async write(events: readonly Event[]): Promise<WriteResult> {
    const result = await this.store.write(events);
    addStoredEvents(this.#updater, { events, result });
    return result;
  }

  /** Through a group committer, as the app writes: for writes that run at once. */
  submit(events: readonly Event[]): Promise<EventOutcome[]> {
    return this.#committer.submit(events);
  }

  /** {@linkcode ChromaStore.query}. */
  query(params: QueryParams): Promise<QueryResult> {
    return this.store.query(params);
  }

  /** {@linkcode ChromaStore.counts}. */
  counts(): ReturnType<ChromaStore["counts"]> {
    return this.store.counts();
  }

  /** Resolves once agent_state reflects every write so far. */
  flushAgentState(): Promise<void> {
    return this.#updater.flush();
  }

  /** Waits for the committer, applies pending agent_state updates and stops the updater. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#committer.idle();
    await this.#updater.close();
  }
}
