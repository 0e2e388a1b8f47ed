import assert from "node:assert/strict";
import { backoffDelay, MAX_RETRY_AFTER_MS, parseRetryAfter } from "./backoff.ts";
import { sleep } from "../_util.ts";

Deno.test("backoffDelay() grows exponentially up to the cap, with full jitter", async (t) => {
  await t.step("the ceiling doubles per attempt and stops at the cap", () => {
    const top = (attempt: number) =>
      backoffDelay(attempt, { baseMs: 100, capMs: 1_000, random: () => 0.999999 });
    assert.deepEqual([0, 1, 2, 3, 4, 50, 5000].map(top), [99, 199, 399, 799, 999, 999, 999]);
  });
  await t.step("the delay is uniform from zero (random 0 waits nothing)", () => {
    assert.equal(backoffDelay(7, { random: () => 0 }), 0);
    const samples = Array.from({ length: 500 }, () => backoffDelay(3, { baseMs: 100 }));
    assert.ok(samples.every((d) => d >= 0 && d < 800));
    assert.ok(new Set(samples).size > 100, "jittered, not fixed");
  });
  await t.step("nonsense options are refused", () => {
    assert.throws(() => backoffDelay(-1), RangeError);
    assert.throws(() => backoffDelay(1, { baseMs: 10, capMs: 5 }), /^RangeError: Cannot compute/);
  });
});

Deno.test("parseRetryAfter() reads seconds and HTTP dates", () => {
  const now = Date.parse("2026-03-01T12:00:00Z");
  assert.equal(parseRetryAfter("3", now), 3000);
  assert.equal(parseRetryAfter(" 0 ", now), 0);
  assert.equal(parseRetryAfter("Sun, 01 Mar 2026 12:00:30 GMT", now), 30_000);
  assert.equal(parseRetryAfter("Sun, 01 Mar 2026 11:00:00 GMT", now), 0, "a past date: now");
  assert.equal(parseRetryAfter("86400", now), MAX_RETRY_AFTER_MS, "capped");
  assert.equal(parseRetryAfter("soon", now), undefined);
  assert.equal(parseRetryAfter("-5", now), undefined);
  assert.equal(parseRetryAfter(null, now), undefined);
  assert.equal(parseRetryAfter("", now), undefined);
});

Deno.test("sleep() ends early when its signal aborts", async () => {
  const stop = new AbortController();
  const started = performance.now();
  setTimeout(() => stop.abort(), 20);
  await sleep(10_000, stop.signal);
  assert.ok(performance.now() - started < 1_000);
  await sleep(10_000, stop.signal); // already aborted: at once
  assert.ok(performance.now() - started < 1_000);
});
