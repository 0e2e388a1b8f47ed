/**
 * The bridge's second line of redaction: every valid event it ingests goes through the VM's own
 * secret rules again (`shared/redact.ts`, standard mode: secrets, not the VM's personal-data
 * policy), so that an event from an older or misconfigured VM, or one a VM rule missed, is not
 * stored, indexed or embedded with a secret the rules know. What it finds is added to
 * `redaction.rules` and listed in `redaction.bridge_rules`, and counted in
 * `zo_ingest_redactions_total{rule}`; the event's `hash` is then recomputed over what is stored.
 *
 * Bounded like the VM's: each event has {@linkcode BRIDGE_REDACTION_BUDGET_MS}; what is not
 * finished by then is replaced whole and counted in `redaction.unfinished`.
 *
 * @module
 */
import { eventHash } from "../shared/ids.ts";
import { createRedactor, type Redactor } from "../shared/redact.ts";
import type { Event } from "../shared/schema.ts";

/** Redaction time one event may take at ingest. */
export const BRIDGE_REDACTION_BUDGET_MS = 1_000;

/** Fields the pass leaves alone: the identity the VM minted and the redaction record itself. */
const UNTOUCHED = new Set(["event_id", "ts", "schema_version", "hash", "redaction"]);

/** What the pass did to one event. */
export interface IngestRedacted {
  /** The event to store: `event` itself when nothing was found. */
  event: Event;
  /** Rules that fired at the bridge, sorted; empty when the VM's redaction had left nothing. */
  rules: string[];
}

/** Redacts events at ingest. */
export interface IngestRedaction {
  redact(event: Event): Promise<IngestRedacted>;
}

/** The pass, with the built-in rules in standard mode. */
export async function createIngestRedaction(
  options: { redactor?: Redactor; budgetMs?: number } = {},
): Promise<IngestRedaction> {
  const redactor = options.redactor ?? await createRedactor({ mode: "standard" });
  const budgetMs = options.budgetMs ?? BRIDGE_REDACTION_BUDGET_MS;
  return {
    async redact(event) {
      const fields: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(event)) {
        if (!UNTOUCHED.has(key)) fields[key] = value;
      }
      const result = redactor.redact(fields, { deadline: performance.now() + budgetMs });
      if (result.rules.length === 0) return { event, rules: [] };
      const before = event.redaction;
      const redacted = {
        ...event,
        ...result.value,
        redaction: {
          applied: before?.applied ?? false,
          mode: before?.mode ?? "off",
          ...before,
          rules: [...new Set([...(before?.rules ?? []), ...result.rules])].sort(),
          bridge_rules: result.rules,
          ...(result.unfinished
            ? { unfinished: (before?.unfinished ?? 0) + result.unfinished }
            : {}),
        },
      } as Event;
      // Over what is stored, so it can still be recomputed from it (see docs/schema.md).
      if (event.hash !== undefined) redacted.hash = await eventHash(redacted);
      return { event: redacted, rules: result.rules };
    },
  };
}
