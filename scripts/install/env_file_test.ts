import assert from "node:assert/strict";
import { ConfigError } from "../../shared/config.ts";
import {
  composeEnv,
  MANAGED_KEYS,
  newSalt,
  parseEnvFile,
  renderEnvFile,
  writeEnvFile,
} from "./env_file.ts";

Deno.test("parseEnvFile() reads quoted, unquoted and exported values, skipping comments", () => {
  const values = parseEnvFile(
    "# note\nA=plain\nexport B='single $HOME'\nC=\"double\"\n\nbad line\n1X=no\nA=later\n",
  );
  assert.deepEqual([...values], [["A", "later"], ["B", "single $HOME"], ["C", "double"]]);
});

Deno.test("composeEnv() applies updates, keeps the rest, and keeps a salt unless --salt-file gives one", () => {
  const existing = parseEnvFile(
    "ZO_API_KEY='old-key'\nZO_WORKER_ID='w1'\nZO_REDACTION_SALT='kept'\nZO_RELAY_PORT='9000'\n",
  );
  const values = composeEnv(existing, {
    ZO_EVENT_ENDPOINT: "https://t.example.com/ingest",
    ZO_WORKER_ID: "",
  }, () => "fresh");
  assert.equal(values.get("ZO_INGEST_KEY"), "old-key");
  assert.equal(values.get("ZO_API_KEY"), undefined);
  assert.equal(values.get("ZO_EVENT_ENDPOINT"), "https://t.example.com/ingest");
  assert.equal(values.has("ZO_WORKER_ID"), false);
  assert.equal(values.get("ZO_REDACTION_SALT"), "kept");
  assert.equal(values.get("ZO_RELAY_PORT"), "9000");
  assert.equal(composeEnv(new Map(), {}, () => "fresh").get("ZO_REDACTION_SALT"), "fresh");
  const fleet = composeEnv(existing, { ZO_REDACTION_SALT: "fleet-salt" }, () => "fresh");
  assert.equal(fleet.get("ZO_REDACTION_SALT"), "fleet-salt");
  assert.throws(() => composeEnv(new Map(), { ZO_INGEST_KEY: "it's" }), ConfigError);
  assert.throws(() => composeEnv(new Map(), { ZO_PROJECT_ID: "a\nb" }), /line break/);
});

Deno.test("newSalt() gives 64 hex digits, different each time", () => {
  const a = newSalt();
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.notEqual(a, newSalt());
});

Deno.test("renderEnvFile() writes managed keys in order, then the others, single-quoted", () => {
  const text = renderEnvFile(
    new Map([["ZO_RELAY_PORT", "9000"], ["ZO_LOG_DIR", "/l"], ["ZO_EVENT_ENDPOINT", "http://e"]]),
  );
  const lines = text.split("\n").filter((l) => !l.startsWith("#"));
  assert.deepEqual(lines, [
    "ZO_EVENT_ENDPOINT='http://e'",
    "ZO_LOG_DIR='/l'",
    "ZO_RELAY_PORT='9000'",
    "",
  ]);
  assert.equal(MANAGED_KEYS.indexOf("ZO_EVENT_ENDPOINT"), 0);
  assert.deepEqual(parseEnvFile(text).get("ZO_LOG_DIR"), "/l");
});

Deno.test("writeEnvFile() writes mode 0600, leaves an identical file alone, restores the mode", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/.env`;
    assert.equal(await writeEnvFile(path, "A='1'\n"), true);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    await Deno.chmod(path, 0o644);
    assert.equal(await writeEnvFile(path, "A='1'\n"), false);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal(await writeEnvFile(path, "A='2'\n"), true);
    assert.equal(await Deno.readTextFile(path), "A='2'\n");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), [".env"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
