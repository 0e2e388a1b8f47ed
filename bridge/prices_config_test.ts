import assert from "node:assert/strict";
import { ConfigError } from "../shared/config.ts";
import { loadBridgeConfig } from "./config.ts";

const TABLE = JSON.stringify({
  version: "site-3",
  effective: "2026-12-01",
  currency: "USD",
  unit: "per million tokens",
  models: { "claude-sonnet-4-5": { input: 1, output: 2, cache_write: 3, cache_read: 4 } },
});

const load = (file: string | undefined, readFile: (path: string) => string) =>
  loadBridgeConfig((name) => name === "ZO_PRICES_FILE" ? file : undefined, { readFile });

Deno.test("loadBridgeConfig() prices with the committed table unless ZO_PRICES_FILE is set", () => {
  const config = load(undefined, () => {
    throw new Error("no file should be read");
  });
  assert.equal(config.prices.source, "builtin");
  const override = load("/etc/zo/prices.json", (path) => {
    assert.equal(path, "/etc/zo/prices.json");
    return TABLE;
  });
  assert.equal(override.prices.source, "file");
  assert.equal(override.prices.table.version, "site-3");
});

Deno.test("loadBridgeConfig() says what is wrong with ZO_PRICES_FILE", () => {
  assert.throws(
    () =>
      load("/etc/zo/none.json", () => {
        throw new Deno.errors.NotFound("gone");
      }),
    (error) =>
      error instanceof ConfigError && /ZO_PRICES_FILE=.*does not exist/.test(error.message),
  );
  assert.throws(
    () =>
      load("/etc/zo/p.json", () => {
        throw new Deno.errors.NotCapable("no");
      }),
    /put it under \/etc\/zo-bridge\/ \(which deno task bridge may read\), or add --allow-read=\/etc\/zo\/p.json/,
  );
  assert.throws(
    () => load("/etc/zo/p.json", () => TABLE.replace('"USD"', '"EUR"')),
    (error) =>
      error instanceof ConfigError &&
      /Cannot use price table \/etc\/zo\/p.json/.test(error.message),
  );
});
