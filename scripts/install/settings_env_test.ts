import assert from "node:assert/strict";
import { mergeEnv, otelEnv, removeEnv } from "./settings_env.ts";

const WANTED = otelEnv({ relayPort: 8791 });

Deno.test("otelEnv() turns on the logs and metrics export to this install's relay, details only when asked", () => {
  assert.deepEqual(WANTED, {
    CLAUDE_CODE_ENABLE_TELEMETRY: "1",
    OTEL_LOGS_EXPORTER: "otlp",
    OTEL_METRICS_EXPORTER: "otlp",
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:8791",
  });
  const detailed = otelEnv({ relayPort: 8791, logPrompts: true, logToolDetails: true });
  assert.equal(detailed.OTEL_LOG_USER_PROMPTS, "1");
  assert.equal(detailed.OTEL_LOG_TOOL_DETAILS, "1");
});

Deno.test("mergeEnv() adds to an env block, keeps the user's entries, and a re-run changes nothing", () => {
  const settings = { model: "opus", env: { FOO: "bar" } };
  const first = mergeEnv(settings, WANTED);
  assert.deepEqual(first.settings.env, { FOO: "bar", ...WANTED });
  assert.deepEqual(first.written, WANTED);
  assert.deepEqual(first.conflicts, []);
  assert.equal(first.settings.model, "opus");
  assert.deepEqual(settings.env, { FOO: "bar" }, "the input is not changed");
  const again = mergeEnv(first.settings, WANTED, first.written);
  assert.deepEqual(again.settings, first.settings);
  assert.deepEqual(again.written, WANTED);
});

Deno.test("mergeEnv() never takes a value the user set, and says so", () => {
  const settings = {
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector.acme.dev",
      CLAUDE_CODE_ENABLE_TELEMETRY: "1",
    },
  };
  const { settings: merged, written, conflicts } = mergeEnv(settings, WANTED);
  assert.equal(
    (merged.env as Record<string, string>).OTEL_EXPORTER_OTLP_ENDPOINT,
    "https://collector.acme.dev",
  );
  assert.deepEqual(conflicts, [{
    name: "OTEL_EXPORTER_OTLP_ENDPOINT",
    theirs: "https://collector.acme.dev",
    ours: "http://127.0.0.1:8791",
  }]);
  assert.equal(
    written.CLAUDE_CODE_ENABLE_TELEMETRY,
    undefined,
    "the user's own, not ours to remove",
  );
  assert.equal(written.OTEL_EXPORTER_OTLP_ENDPOINT, undefined);
  const removed = removeEnv(merged, written);
  assert.deepEqual(removed.settings.env, settings.env, "removal leaves the user's entries");
});

Deno.test("mergeEnv() updates what it wrote before and drops what is no longer wanted", () => {
  const before = mergeEnv({}, otelEnv({ relayPort: 8790, logPrompts: true }));
  const now = mergeEnv(before.settings, WANTED, before.written);
  assert.deepEqual(now.settings.env, WANTED, "new port; OTEL_LOG_USER_PROMPTS taken out");
  assert.deepEqual(now.written, WANTED);
  // An entry the user changed since is theirs now: kept, even when no longer wanted.
  const edited = {
    env: { ...before.settings.env as Record<string, string>, OTEL_LOG_USER_PROMPTS: "0" },
  };
  const kept = mergeEnv(edited, WANTED, before.written);
  assert.equal((kept.settings.env as Record<string, string>).OTEL_LOG_USER_PROMPTS, "0");
});

Deno.test("removeEnv() takes out exactly what it wrote, and an env block only it filled", () => {
  const merged = mergeEnv({ theme: "dark" }, WANTED);
  const removed = removeEnv(merged.settings, merged.written);
  assert.equal(removed.removed, Object.keys(WANTED).length);
  assert.deepEqual(removed.settings, { theme: "dark" });
  const user = {
    env: { ...merged.settings.env as Record<string, string>, OTEL_LOGS_EXPORTER: "console" },
  };
  const partial = removeEnv(user, merged.written);
  assert.deepEqual(
    partial.settings.env,
    { OTEL_LOGS_EXPORTER: "console" },
    "a changed entry stays",
  );
  assert.throws(
    () => mergeEnv({ env: "x" }, WANTED, {}, "/s.json"),
    /Cannot merge the env block into \/s\.json: its "env" is not an object/,
  );
});
