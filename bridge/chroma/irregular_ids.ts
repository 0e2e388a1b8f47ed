/**
 * Whether every stored event id is a UUID v7 carrying its event's ts (as every producer in this
 * codebase makes them), so ids alone give the order. The events collection's metadata says
 * otherwise once any other id was stored, by any bridge: writes mark it, the planner reads it. A
 * derived record id (`event_records.ts`) starts with its event_id, so it carries the same time.
 *
 * @module
 */
import type { ChromaClient, Collection } from "chromadb";
import { uuidV7Time } from "../../shared/ids.ts";
import type { Event } from "../../shared/schema.ts";
import type { ChromaCall } from "./connection.ts";

/** Events collection metadata key: set once an event id that is not a v7 of its ts is stored. */
const IRREGULAR_IDS = "irregular_ids";

/** The flag, as far as this bridge knows it. */
export class IrregularIds {
  #known = false;
  /** The collection metadata write recording irregular ids, while one is under way. */
  #marking: Promise<void> | undefined;

  /** Marks the collection before `fresh` is stored if any of its ids does not carry its ts. */
  async markFor(
    events: Collection,
    options: { fresh: readonly Event[]; call: ChromaCall },
  ): Promise<void> {
    if (this.#known) return;
    if (!options.fresh.some((e) => uuidV7Time(e.event_id) !== Date.parse(e.ts))) return;
    // Recorded before the event is stored, so no reader orders it by its id. Concurrent writes
    // share one metadata write; each waits for it, and a failed one is tried again by the next.
    this.#marking ??= options.call(
      "mark irregular event ids",
      // Chroma replaces a collection's metadata whole: keep its layout and provider stamp.
      () => events.modify({ metadata: { ...events.metadata, [IRREGULAR_IDS]: true } }),
    ).then(() => {
      this.#known = true;
    }).finally(() => {
      this.#marking = undefined;
    });
    await this.#marking;
  }

  /** True while no irregular id is known to be stored (asks the collection's metadata). */
  async idsCarryTime(client: ChromaClient, call: ChromaCall): Promise<boolean> {
    if (this.#known) return false;
    const events = await call(
      "read collection metadata",
      () => client.getCollection({ name: "events" }),
    );
    if (events.metadata?.[IRREGULAR_IDS] === true) this.#known = true;
    return !this.#known;
  }
}
