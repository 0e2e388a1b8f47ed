import assert from "node:assert/strict";
import { withLogDir } from "../../testing/log_dir.ts";
import { UnsafePathError } from "../safe_open.ts";
import {
  keyFingerprint,
  readRelayStatus,
  type RelayStatus,
  relayStatusPath,
  writeRelayStatus,
} from "./relay_status.ts";

Deno.test("keyFingerprint() tells keys apart and holds no part of the key", async () => {
  const key = "test-ingest-0123456789abcdef";
  const print = await keyFingerprint(key);
  assert.match(print, /^sha256:[0-9a-f]{16}$/);
  assert.equal(await keyFingerprint(key), print);
  assert.notEqual(await keyFingerprint(`${key}x`), print);
  assert.ok(!print.includes(key.slice(0, 8)));
});

Deno.test("writeRelayStatus() and readRelayStatus() keep the status whole, mode 0600", async () => {
  await withLogDir(async (logDir) => {
    await Deno.mkdir(`${logDir}/relay`, { recursive: true });
    assert.equal(await readRelayStatus(logDir), undefined, "none yet");
    const status: RelayStatus = {
      pid: 1234,
      started_at: new Date(0).toISOString(),
      key_variable: "ZO_INGEST_KEY",
      key_fingerprint: await keyFingerprint("k".repeat(20)),
    };
    await writeRelayStatus(logDir, status);
    await writeRelayStatus(logDir, { ...status, pid: 5678, key_fingerprint: null });
    assert.deepEqual(await readRelayStatus(logDir), {
      ...status,
      pid: 5678,
      key_fingerprint: null,
    });
    assert.equal((await Deno.stat(relayStatusPath(logDir))).mode! & 0o777, 0o600);
    const left = [...Deno.readDirSync(`${logDir}/relay`)].map((e) => e.name);
    assert.deepEqual(left, ["status.json"], "no temporary file left");

    await Deno.writeTextFile(relayStatusPath(logDir), '{"pid": "1"}');
    assert.equal(await readRelayStatus(logDir), undefined, "not a status");
    await Deno.remove(relayStatusPath(logDir));
    // Deno.symlink needs unscoped permissions: `ln` through `env`, as the hardening tests do.
    const ln = await new Deno.Command("env", {
      args: ["ln", "-s", "/etc/passwd", relayStatusPath(logDir)],
    })
      .output();
    assert.equal(ln.code, 0);
    await assert.rejects(readRelayStatus(logDir), UnsafePathError);
  });
});
