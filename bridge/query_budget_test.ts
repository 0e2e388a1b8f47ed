import assert from "node:assert/strict";
import { createQueryBudget } from "./query_budget.ts";

Deno.test("createQueryBudget() grants what fits and refuses a key past its quarter", async () => {
  const budget = createQueryBudget(400, { waitMs: 10 });
  assert.equal(await budget.take(100, "a"), "ok");
  assert.equal(await budget.take(1, "a"), "key_share");
  assert.equal(await budget.take(100, "b"), "ok");
  assert.equal(budget.used, 200);
  budget.give(100, "a");
  assert.equal(await budget.take(100, "a"), "ok");
  assert.equal(budget.waiting, 0);
});

Deno.test("createQueryBudget() refuses at once what could never fit", async () => {
  const budget = createQueryBudget(400, { perOwnerBytes: 500, waitMs: 60_000 });
  assert.equal(await budget.take(401, "a"), "bytes_in_flight");
  assert.equal(await budget.take(501, "a"), "key_share");
  assert.equal(budget.waiting, 0);
});

Deno.test("createQueryBudget() lets a waiting page in when bytes come back", async () => {
  const budget = createQueryBudget(400, { perOwnerBytes: 400, waitMs: 60_000 });
  assert.equal(await budget.take(300, "a"), "ok");
  const waiting = budget.take(200, "b");
  assert.equal(budget.waiting, 1);
  budget.give(300, "a");
  assert.equal(await waiting, "ok");
  assert.equal(budget.used, 200);
  assert.equal(budget.waiting, 0);
});

Deno.test("createQueryBudget() refuses a page that waited its whole wait", async () => {
  const budget = createQueryBudget(400, { perOwnerBytes: 400, waitMs: 20 });
  assert.equal(await budget.take(400, "a"), "ok");
  assert.equal(await budget.take(1, "b"), "bytes_in_flight");
  assert.equal(budget.waiting, 0);
  assert.equal(await budget.take(1, "a"), "key_share");
  budget.give(400, "a");
  assert.equal(budget.used, 0);
});
