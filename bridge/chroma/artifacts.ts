/**
 * The `artifacts` collection: one record per project and file hash, from the `artifact_refs` of
 * the events that name it (the first one written wins; Chroma keeps the first add of an id).
 *
 * @module
 */
import type { Collection, Metadata } from "chromadb";
import type { Event } from "../../shared/schema.ts";
import { type ChromaCall, chunks, PLACEHOLDER_EMBEDDING } from "./connection.ts";
import { eventMetadata } from "./event_records.ts";

/** The artifact record id: one per project and file hash. */
export function artifactId(projectId: string | undefined, hash: string): string {
  return projectId === undefined ? hash : `${projectId}:${hash}`;
}

/** Adds the artifact records of `events` (each once per project and hash). */
export async function addArtifacts(
  collection: Collection,
  options: { events: readonly Event[]; call: ChromaCall },
): Promise<void> {
  const records = new Map<string, { document: string; metadata: Metadata }>();
  for (const event of options.events) {
    for (const ref of event.artifact_refs ?? []) {
      const id = artifactId(event.project_id, ref.hash);
      if (records.has(id)) continue;
      const context = eventMetadata(event);
      delete context.hash;
      const metadata: Metadata = {
        ...context,
        event_id: event.event_id,
        hash: ref.hash,
        artifact_type: ref.type,
        size_bytes: ref.size_bytes,
      };
      records.set(id, {
        document: JSON.stringify({
          ...ref,
          id,
          event_id: event.event_id,
          ts: event.ts,
          ...context,
        }),
        metadata,
      });
    }
  }
  for (const part of chunks([...records])) {
    await options.call("store artifacts", () =>
      collection.add({
        ids: part.map(([id]) => id),
        documents: part.map(([, r]) => r.document),
        metadatas: part.map(([, r]) => r.metadata),
        embeddings: part.map(() => [...PLACEHOLDER_EMBEDDING]),
      }));
  }
}
