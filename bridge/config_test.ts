import assert from "node:assert/strict";
import { ConfigError, ENV_VARS } from "../shared/config.ts";
import { isLoopback, loadBridgeConfig } from "./config.ts";
import { BRIDGE_ENV_VARS } from "./config_vars.ts";
import { EMBEDDING_ENV_VARS } from "./embeddings.ts";
import { MAIN_ENV_VARS } from "./testing/bridge.ts";

const KEY = "admin-key-0123456789abcdef";
const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("loadBridgeConfig() has defaults for everything", () => {
  const config = loadBridgeConfig(envOf({}));
  assert.equal(config.port, 8787);
  assert.equal(config.hostname, "127.0.0.1");
  assert.deepEqual(config.chroma, { kind: "embedded", path: "./data/chroma" });
  assert.deepEqual(config.keys, []);
  assert.equal(config.metricsPublic, false);
  assert.equal(config.limits.maxEventBytes, 256 * 1024);
  assert.equal(config.groupCommit.maxBatch, 1_000);
  assert.equal(config.embedding.provider, "offline");
  assert.equal(config.deploy, false);
  assert.equal(config.usageIndexRecords, 200_000);
  assert.deepEqual(config.query, { pageBytes: 4 * 1024 * 1024, bytesInFlight: 16 * 1024 * 1024 });
});

Deno.test("loadBridgeConfig() reads a remote Chroma, keys and tuning", () => {
  const config = loadBridgeConfig(
    envOf({
      PORT: "9000",
      HOSTNAME: "0.0.0.0",
      CHROMA_URL: "https://chroma.example.com/",
      CHROMA_TENANT: "t1",
      CHROMA_DATABASE: "db1",
      CHROMA_AUTH_TOKEN: "tok",
      ZO_API_KEY: KEY,
      ZO_API_KEYS: "ingest@acme:ingest-key-0123456789ab",
      ZO_API_KEYS_FILE: "/etc/zo/keys",
      ZO_METRICS_PUBLIC: "1",
      ZO_MAX_EVENT_BYTES: "65536",
      ZO_INGEST_QUEUE_EVENTS: "5000",
      ZO_INGEST_LINGER_MS: "0",
      ZO_USAGE_INDEX_RECORDS: "0",
    }),
    { readFile: () => "# keys\nread:read-key-0123456789abcd\n" },
  );
  assert.equal(config.port, 9000);
  assert.deepEqual(config.chroma, {
    kind: "remote",
    url: "https://chroma.example.com",
    tenant: "t1",
    database: "db1",
    authToken: "tok",
  });
  assert.deepEqual(config.keys.map((k) => [k.name, k.scopes, k.projectId]), [
    ["ZO_API_KEY", ["admin"], undefined],
    ["ZO_API_KEYS[0]", ["ingest"], "acme"],
    ["ZO_API_KEYS_FILE[0]", ["read"], undefined],
  ]);
  assert.equal(config.metricsPublic, true);
  assert.equal(config.ingestRedaction, true, "on unless set off");
  assert.equal(loadBridgeConfig(envOf({ ZO_INGEST_REDACTION: " Off " })).ingestRedaction, false);
  assert.equal(loadBridgeConfig(envOf({ ZO_INGEST_REDACTION: "standard" })).ingestRedaction, true);
  assert.equal(config.limits.maxEventBytes, 65536);
  assert.equal(config.groupCommit.maxQueuedEvents, 5000);
  assert.equal(config.groupCommit.lingerMs, 0);
  assert.equal(config.usageIndexRecords, 0, "0: every GET /usage scans Chroma");
});

Deno.test("loadBridgeConfig() refuses unsafe or bad settings with a ConfigError", async (t) => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ["open beyond loopback", { HOSTNAME: "0.0.0.0" }, /without an API key/],
    ["bad hostname", { HOSTNAME: "999.1.1.1" }, /HOSTNAME=999\.1\.1\.1: it is not an IP address/],
    ["bad host name", { HOSTNAME: "my host" }, /it is not an IP address or host name/],
    ["Deploy without a key", { DENO_DEPLOYMENT_ID: "x" }, /Deno Deploy without an API key/],
    ["Deploy without CHROMA_URL", { DENO_DEPLOYMENT_ID: "x", ZO_API_KEY: KEY }, /CHROMA_URL/],
    ["bad port", { PORT: "http" }, /Cannot use PORT="http"/],
    ["bad Chroma URL", { CHROMA_URL: "chroma:8000" }, /http:\/\/ or https:\/\//],
    ["short key", { ZO_API_KEY: "letmein" }, /at least 16 characters/],
    ["bad queue", { ZO_INGEST_QUEUE_EVENTS: "10" }, /ZO_INGEST_QUEUE_EVENTS/],
    ["bad metrics flag", { ZO_METRICS_PUBLIC: "yes please" }, /ZO_METRICS_PUBLIC/],
    [
      "bad ingest redaction",
      { ZO_INGEST_REDACTION: "strict" },
      /ZO_INGEST_REDACTION="strict": set standard/,
    ],
    ["bad event cap", { ZO_MAX_EVENT_BYTES: "12" }, /ZO_MAX_EVENT_BYTES/],
    ["bad usage index bound", { ZO_USAGE_INDEX_RECORDS: "lots" }, /ZO_USAGE_INDEX_RECORDS/],
    ["missing keys file", { ZO_API_KEYS_FILE: "/nope" }, /Cannot read ZO_API_KEYS_FILE/],
    // A page must hold the largest event, and one key's quarter of the budget a whole page.
    ["page under an event", { ZO_QUERY_PAGE_BYTES: "1000" }, /ZO_QUERY_PAGE_BYTES="1000"/],
    [
      "budget under four pages",
      { ZO_QUERY_PAGE_BYTES: "1048576", ZO_QUERY_BYTES_IN_FLIGHT: "2097152" },
      /ZO_QUERY_BYTES_IN_FLIGHT="2097152": set a whole number from 4194304/,
    ],
  ];
  for (const [name, vars, message] of cases) {
    await t.step(name, () => {
      assert.throws(
        () =>
          loadBridgeConfig(envOf(vars), {
            readFile: () => {
              throw new Deno.errors.NotFound("no such file");
            },
          }),
        (error: Error) => error instanceof ConfigError && message.test(error.message),
      );
    });
  }
});

Deno.test("isLoopback() knows the loopback names", () => {
  for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"]) {
    assert.ok(isLoopback(host), host);
  }
  for (const host of ["0.0.0.0", "::", "10.0.0.1", "example.com"]) {
    assert.ok(!isLoopback(host), host);
  }
});

Deno.test("BRIDGE_ENV_VARS lists every variable main.ts may read, once", () => {
  const names = BRIDGE_ENV_VARS.map((v) => v.name);
  assert.equal(new Set(names).size, names.length);
  for (const v of EMBEDDING_ENV_VARS) assert.ok(names.includes(v.name), v.name);
  // The --allow-env list of `deno task bridge` is exactly these plus the shared event cap.
  const shared = ENV_VARS.filter((v) => v.usedBy.includes("bridge")).map((v) => v.name);
  assert.deepEqual([...MAIN_ENV_VARS].sort(), [...names, ...shared].sort());
});

Deno.test("loadBridgeConfig() takes ZO_BRIDGE_ID, else a random id per start", () => {
  assert.equal(loadBridgeConfig(envOf({ ZO_BRIDGE_ID: " bridge-eu-1 " })).bridgeId, "bridge-eu-1");
  const a = loadBridgeConfig(envOf({})).bridgeId;
  const b = loadBridgeConfig(envOf({})).bridgeId;
  assert.match(a, /^bridge-[0-9a-f]{8}$/);
  assert.notEqual(a, b);
  for (const bad of ["x".repeat(129), "a\nb", "a\ud800"]) {
    assert.throws(() => loadBridgeConfig(envOf({ ZO_BRIDGE_ID: bad })), ConfigError);
  }
});

Deno.test("loadBridgeConfig() reads the query page bound and the bytes in flight", () => {
  const config = loadBridgeConfig(
    envOf({ ZO_QUERY_PAGE_BYTES: "1048576", ZO_QUERY_BYTES_IN_FLIGHT: "8388608" }),
  );
  assert.deepEqual(config.query, { pageBytes: 1_048_576, bytesInFlight: 8_388_608 });
  // A larger page raises the default budget to four of them.
  const big = loadBridgeConfig(envOf({ ZO_QUERY_PAGE_BYTES: String(8 * 1024 * 1024) }));
  assert.equal(big.query.bytesInFlight, 32 * 1024 * 1024);
});

Deno.test("loadBridgeConfig() polls for other bridges' events with CHROMA_URL, not with the embedded Chroma", () => {
  const remote = { CHROMA_URL: "http://chroma:8000" };
  assert.equal(loadBridgeConfig(envOf({})).livePollMs, 0);
  assert.equal(loadBridgeConfig(envOf(remote)).livePollMs, 1_000);
  assert.equal(loadBridgeConfig(envOf({ ...remote, ZO_LIVE_POLL_MS: "0" })).livePollMs, 0);
  assert.equal(loadBridgeConfig(envOf({ ZO_LIVE_POLL_MS: "250" })).livePollMs, 250);
  for (const bad of ["50", "60001", "-1", "1s"]) {
    assert.throws(
      () => loadBridgeConfig(envOf({ ...remote, ZO_LIVE_POLL_MS: bad })),
      (error: unknown) => error instanceof ConfigError && /ZO_LIVE_POLL_MS/.test(error.message),
    );
  }
});
