import assert from "node:assert/strict";
import { ConfigError } from "../../shared/config.ts";
import {
  DEFAULT_LOG_DIR_IN_HOME,
  DEFAULT_RELAY_IDLE_SECONDS,
  DEFAULT_RELAY_PORT,
  DEFAULT_SPOOL_MAX_MB,
  loadVmConfig,
  VM_ENV_VARS,
} from "./vm_config.ts";

const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("loadVmConfig() gives the defaults", () => {
  const config = loadVmConfig(envOf({ HOME: "/home/dev/" }));
  assert.equal(config.logDir, `/home/dev/${DEFAULT_LOG_DIR_IN_HOME}`);
  assert.equal(config.endpoint, undefined);
  assert.equal(config.apiKey, undefined);
  assert.equal(config.projectId, undefined);
  assert.equal(config.workerId, undefined);
  assert.equal(config.agentRole, undefined);
  assert.equal(config.runId, undefined);
  assert.equal(config.spoolMaxBytes, DEFAULT_SPOOL_MAX_MB * 1024 * 1024);
  assert.equal(config.relayPort, DEFAULT_RELAY_PORT);
  assert.equal(config.relayIdleSeconds, DEFAULT_RELAY_IDLE_SECONDS);
  assert.equal(config.shared.redaction.mode, "strict");
});

Deno.test("loadVmConfig() never falls back into /tmp: no HOME and no ZO_LOG_DIR is an error", () => {
  assert.throws(
    () => loadVmConfig(envOf({})),
    (error: unknown) =>
      error instanceof ConfigError && /^Cannot find the log dir: ZO_LOG_DIR and HOME/.test(
        error.message,
      ),
  );
  assert.equal(loadVmConfig(envOf({}), { needsLogDir: false }).logDir, "");
});

Deno.test("loadVmConfig() reads every variable it documents", () => {
  const config = loadVmConfig(envOf({
    ZO_LOG_DIR: "/var/lib/zo/",
    ZO_EVENT_ENDPOINT: " https://telemetry.example.com/ingest ",
    ZO_API_KEY: "key-1",
    ZO_PROJECT_ID: "proj",
    ZO_WORKER_ID: "vm-7",
    ZO_AGENT_ROLE: "worker",
    CLAUDE_RUN_ID: "run-9",
    ZO_SPOOL_MAX_MB: "3",
    ZO_RELAY_PORT: "9999",
    ZO_RELAY_IDLE_SECONDS: "0",
    ZO_REDACTION_MODE: "standard",
  }));
  assert.equal(config.logDir, "/var/lib/zo");
  assert.equal(config.endpoint?.href, "https://telemetry.example.com/ingest");
  assert.equal(config.apiKey, "key-1");
  assert.equal(config.projectId, "proj");
  assert.equal(config.workerId, "vm-7");
  assert.equal(config.agentRole, "worker");
  assert.equal(config.runId, "run-9");
  assert.equal(config.spoolMaxBytes, 3 * 1024 * 1024);
  assert.equal(config.relayPort, 9999);
  assert.equal(config.relayIdleSeconds, 0);
  assert.equal(config.shared.redaction.mode, "standard");
  const names = VM_ENV_VARS.map((v) => v.name);
  for (const name of ["ZO_LOG_DIR", "ZO_EVENT_ENDPOINT", "ZO_API_KEY", "CLAUDE_RUN_ID"]) {
    assert.ok(names.includes(name), name);
  }
  assert.ok(VM_ENV_VARS.every((v) => v.description.length > 0));
});

Deno.test("loadVmConfig() says which variable the ingest key came from", () => {
  const of = (vars: Record<string, string>) => loadVmConfig(envOf({ HOME: "/h", ...vars }));
  assert.deepEqual(
    [of({}).apiKeyVariable, of({ ZO_INGEST_KEY: "a" }).apiKeyVariable],
    ["ZO_INGEST_KEY", "ZO_INGEST_KEY"],
  );
  const old = of({ ZO_API_KEY: "b" });
  assert.deepEqual([old.apiKey, old.apiKeyVariable], ["b", "ZO_API_KEY"]);
  const both = of({ ZO_INGEST_KEY: "a", ZO_API_KEY: "b" });
  assert.deepEqual([both.apiKey, both.apiKeyVariable], ["a", "ZO_INGEST_KEY"]);
  assert.equal(of({ ZO_INGEST_KEY: " ", ZO_API_KEY: "b" }).apiKeyVariable, "ZO_API_KEY");
});

Deno.test("loadVmConfig() rejects unusable values with a message that says how to fix them", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ ZO_AGENT_ROLE: "boss" }, /ZO_AGENT_ROLE="boss": set it to one of conductor, worker, system/],
    [{ ZO_LOG_DIR: "relative/dir" }, /ZO_LOG_DIR="relative\/dir": set an absolute path/],
    [{ ZO_EVENT_ENDPOINT: "not a url" }, /ZO_EVENT_ENDPOINT="not a url": set a URL/],
    [{ ZO_EVENT_ENDPOINT: "ftp://x/ingest" }, /use http:\/\/ or https:\/\//],
    [{ ZO_SPOOL_MAX_MB: "0" }, /ZO_SPOOL_MAX_MB="0": set a whole number from 1/],
    [{ ZO_SPOOL_MAX_MB: "1.5" }, /ZO_SPOOL_MAX_MB/],
    [{ ZO_RELAY_PORT: "70000" }, /ZO_RELAY_PORT="70000"/],
    [{ ZO_RELAY_IDLE_SECONDS: "-1" }, /ZO_RELAY_IDLE_SECONDS/],
    [{ ZO_WORKER_ID: "w".repeat(257) }, /ZO_WORKER_ID: set at most 256 characters/],
    [{ ZO_REDACTION_MODE: "loose" }, /ZO_REDACTION_MODE/],
  ];
  for (const [vars, message] of cases) {
    assert.throws(() => loadVmConfig(envOf({ HOME: "/h", ...vars })), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /^Cannot use /);
      assert.match(error.message, message);
      return true;
    });
  }
});

Deno.test("loadVmConfig() treats blank values as unset", () => {
  const config = loadVmConfig(envOf({ HOME: "/h", ZO_EVENT_ENDPOINT: "  ", ZO_PROJECT_ID: "" }));
  assert.equal(config.endpoint, undefined);
  assert.equal(config.projectId, undefined);
});
