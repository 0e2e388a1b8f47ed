import assert from "node:assert/strict";
import { EVENT_TYPES as CONTRACT_TYPES, LEVELS as CONTRACT_LEVELS } from "../../shared/contract.ts";
import { AGENT_STATUSES as STATUSES, STATE_SCOPES as SCOPES } from "../agent_state.ts";
import { AGENT_STATUSES, EVENT_TYPES, LEVELS, STATE_SCOPES } from "./static/vocabulary.js";

Deno.test("the dashboard's vocabulary is the contract's", () => {
  assert.deepEqual([...EVENT_TYPES], [...CONTRACT_TYPES]);
  assert.deepEqual([...LEVELS], [...CONTRACT_LEVELS]);
  assert.deepEqual([...AGENT_STATUSES], [...STATUSES]);
  assert.deepEqual([...STATE_SCOPES], [...SCOPES]);
});
