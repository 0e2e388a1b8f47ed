/**
 * Opening the bridge's collections (`events`, `artifacts`, `agent_state` and `usage`), creating
 * them if needed, and refusing an `events` collection whose vectors come from another provider
 * or that an older bridge laid out (one record per event and a separate `embeddings`
 * collection). The `embeddings` of the query API is a view of `events` (`query_planner.ts`).
 *
 * @module
 */
import type { ChromaClient, Collection, Metadata } from "chromadb";
import { ConfigError } from "../../shared/config.ts";
import { type EmbeddingProvider, providerDimension } from "../embeddings.ts";
import { type StoredCollection, StoreUnavailableError } from "../store.ts";
import { USAGE_COLLECTION } from "../usage/records.ts";
import type { ChromaCall } from "./connection.ts";

/** The open collections, by name, and the dimension of the events' vectors. */
export type Collections = Record<StoredCollection, Collection> & {
  [USAGE_COLLECTION]: Collection;
  /** Length of the vectors on `events` (the provider's). */
  dimension: number;
};

/**
 * The layout of `events` this bridge writes: 2 is one record per event carrying its real
 * vector. Layout 1 (no stamp) kept a placeholder vector there and the text in `embeddings`.
 */
export const EVENTS_LAYOUT = 2;

/** Events collection metadata recording its layout and the provider its vectors come from. */
interface EventsStamp {
  events_layout: number;
  embedding_provider: string;
  embedding_model: string;
  embedding_dimension: number;
}

/**
 * Opens (or creates) every collection. Throws StoreUnavailableError when Chroma does not answer,
 * `ConfigError` when the events collection was made by another provider or layout.
 */
export async function openCollections(
  client: ChromaClient,
  options: { call: ChromaCall; embedder: EmbeddingProvider },
): Promise<Collections> {
  const { call, embedder } = options;
  let dimension: number;
  try {
    dimension = await providerDimension(embedder);
  } catch (error) {
    throw new StoreUnavailableError(
      `Cannot open the events collection: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const stamp: EventsStamp = {
    events_layout: EVENTS_LAYOUT,
    embedding_provider: embedder.name,
    embedding_model: embedder.model,
    embedding_dimension: dimension,
  };
  const open = (name: StoredCollection | typeof USAGE_COLLECTION, metadata?: Metadata) =>
    call(`open collection ${name}`, () =>
      client.getOrCreateCollection({
        name,
        embeddingFunction: null,
        ...(metadata ? { metadata } : {}),
        ...(name === "events" ? { configuration: { hnsw: { space: "cosine" } } } : {}),
      }));
  const [events, artifacts, agentState, usage] = await Promise.all([
    open("events", { ...stamp }),
    open("artifacts"),
    open("agent_state"),
    open(USAGE_COLLECTION),
  ]);
  const found = events.metadata ?? {};
  if (found.events_layout !== EVENTS_LAYOUT) {
    throw new ConfigError(
      `Cannot use the events collection: an older bridge laid it out (layout ${
        found.events_layout ?? 1
      }, this bridge writes ${EVENTS_LAYOUT}: one record per event with its vector). Use a new ` +
        "Chroma database (CHROMA_DB_PATH), or run the older bridge on this one",
    );
  }
  const mismatch = (Object.keys(stamp) as (keyof EventsStamp)[])
    .filter((key) => found[key] !== stamp[key]);
  if (mismatch.length > 0) {
    throw new ConfigError(
      `Cannot use embedding provider ${stamp.embedding_provider} (${stamp.embedding_model}, ` +
        `${dimension} dimensions): the events collection holds vectors of ` +
        `${found.embedding_provider ?? "an unknown provider"} (${found.embedding_model ?? "?"}, ${
          found.embedding_dimension ?? "?"
        } dimensions). Set ZO_EMBEDDING_PROVIDER and ` +
        "ZO_EMBEDDING_MODEL back, or use a new Chroma database (CHROMA_DB_PATH)",
    );
  }
  return { events, artifacts, agent_state: agentState, usage, dimension };
}
