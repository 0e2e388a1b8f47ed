import assert from "node:assert/strict";
import { usageDataOf } from "./usage_event.ts";

Deno.test("usageDataOf() refuses what is not a well-formed usage event", () => {
  assert.equal(usageDataOf({ event_type: "done", data: {} }), undefined);
  assert.equal(
    usageDataOf({ event_type: "usage", data: { model: "m", message_id: "x", input_tokens: -1 } }),
    undefined,
  );
});
