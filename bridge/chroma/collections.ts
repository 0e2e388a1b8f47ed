/**
 * Opening the bridge's collections (the four of `COLLECTIONS` and `usage`), creating them if
 * needed, and refusing an embeddings collection whose vectors come from another provider.
 *
 * @module
 */
import type { ChromaClient, Collection, Metadata } from "chromadb";
import { ConfigError } from "../../shared/config.ts";
import { type EmbeddingProvider, providerDimension } from "../embeddings.ts";
import { type CollectionName, StoreUnavailableError } from "../store.ts";
import { USAGE_COLLECTION } from "../usage/records.ts";
import type { ChromaCall } from "./connection.ts";

/** The open collections, by name. */
export type Collections = Record<CollectionName, Collection> & { [USAGE_COLLECTION]: Collection };

/** Embeddings collection metadata recording the provider its vectors come from. */
interface EmbeddingStamp {
  embedding_provider: string;
  embedding_model: string;
  embedding_dimension: number;
}

/**
 * Opens (or creates) every collection. Throws StoreUnavailableError when Chroma does not answer,
 * `ConfigError` when the embeddings collection was made by another provider.
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
      `Cannot open the embeddings collection: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const stamp: EmbeddingStamp = {
    embedding_provider: embedder.name,
    embedding_model: embedder.model,
    embedding_dimension: dimension,
  };
  const open = (name: CollectionName | typeof USAGE_COLLECTION, metadata?: Metadata) =>
    call(`open collection ${name}`, () =>
      client.getOrCreateCollection({
        name,
        embeddingFunction: null,
        ...(metadata ? { metadata } : {}),
        ...(name === "embeddings" ? { configuration: { hnsw: { space: "cosine" } } } : {}),
      }));
  const [events, artifacts, embeddings, agentState, usage] = await Promise.all([
    open("events"),
    open("artifacts"),
    open("embeddings", { ...stamp }),
    open("agent_state"),
    open(USAGE_COLLECTION),
  ]);
  const found = embeddings.metadata ?? {};
  const mismatch = (Object.keys(stamp) as (keyof EmbeddingStamp)[])
    .filter((key) => found[key] !== stamp[key]);
  if (mismatch.length > 0) {
    throw new ConfigError(
      `Cannot use embedding provider ${stamp.embedding_provider} (${stamp.embedding_model}, ` +
        `${dimension} dimensions): the embeddings collection holds vectors of ` +
        `${found.embedding_provider ?? "an unknown provider"} (${found.embedding_model ?? "?"}, ${
          found.embedding_dimension ?? "?"
        } dimensions). Set ZO_EMBEDDING_PROVIDER and ` +
        "ZO_EMBEDDING_MODEL back, or use a new Chroma database (CHROMA_DB_PATH)",
    );
  }
  return { events, artifacts, embeddings, agent_state: agentState, usage };
}
