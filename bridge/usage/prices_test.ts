import assert from "node:assert/strict";
import { addCosts, responseCost, roundUsd, zeroCosts } from "./cost.ts";
import { builtinPrices, parsePrices, priceOf } from "./prices.ts";

Deno.test("builtinPrices() is a valid, versioned table", () => {
  const prices = builtinPrices();
  assert.equal(prices.source, "builtin");
  assert.match(prices.table.version, /^\d{4}-\d{2}-\d{2}/);
  assert.ok(Object.keys(prices.table.models).length >= 20);
});

Deno.test("priceOf() matches exact ids and listed aliases only", () => {
  const prices = builtinPrices();
  assert.equal(priceOf(prices, "claude-sonnet-4-5")?.input, 3);
  assert.equal(priceOf(prices, "claude-sonnet-4-5-20250929"), priceOf(prices, "claude-sonnet-4-5"));
  for (const unknown of ["claude-sonnet-4-5-2099", "Claude-Sonnet-4-5", "claude-sonnet", "gpt-5"]) {
    assert.equal(priceOf(prices, unknown), undefined, unknown);
  }
});

Deno.test("responseCost() prices the fixture's responses as the README's totals say", () => {
  const price = priceOf(builtinPrices(), "claude-sonnet-4-5")!;
  const total = addCosts(
    addCosts(
      zeroCosts(),
      responseCost({
        input_tokens: 1200,
        output_tokens: 310,
        cache_creation_input_tokens: 5000,
        cache_read_input_tokens: 0,
      }, price),
    ),
    responseCost({
      input_tokens: 300,
      output_tokens: 95,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 6200,
    }, price),
  );
  assert.deepEqual(
    Object.fromEntries(Object.entries(total).map(([k, v]) => [k, roundUsd(v)])),
    { input: 0.0045, output: 0.006075, cache_creation: 0.01875, cache_read: 0.00186 },
  );
});

Deno.test("responseCost() uses the long-prompt rates above the threshold only", () => {
  const price = priceOf(builtinPrices(), "claude-sonnet-4-5")!;
  const short = responseCost({
    input_tokens: 100_000,
    output_tokens: 1_000_000,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 100_000,
  }, price);
  assert.equal(short.output, 15);
  const long = responseCost({
    input_tokens: 100_001,
    output_tokens: 1_000_000,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 100_000,
  }, price);
  assert.equal(long.output, 22.5);
});

Deno.test("parsePrices() checks an override file and says what is wrong", () => {
  const table = {
    version: "test-1",
    effective: "2026-11-24",
    currency: "USD",
    unit: "per million tokens",
    models: { "m-1": { input: 1, output: 2, cache_write: 3, cache_read: 4, aliases: ["m-one"] } },
  };
  const prices = parsePrices(JSON.stringify(table), "/etc/prices.json");
  assert.equal(prices.source, "file");
  assert.equal(priceOf(prices, "m-one")?.output, 2);
  assert.throws(
    () => parsePrices("{", "/etc/p.json"),
    /Cannot use price table \/etc\/p.json: not JSON/,
  );
  assert.throws(
    () => parsePrices(JSON.stringify({ ...table, models: { x: { input: -1 } } }), "f"),
    /Cannot use price table f:/,
  );
  const clash = { ...table, models: { ...table.models, "m-2": { ...table.models["m-1"] } } };
  assert.throws(() => parsePrices(JSON.stringify(clash), "f"), /"m-one" names both m-1 and m-2/);
});
