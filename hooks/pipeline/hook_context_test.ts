import assert from "node:assert/strict";
import {
  baseContext,
  rememberSubagentStart,
  sessionRunId,
  shownHost,
  subagentStartId,
} from "./hook_context.ts";
import { uuidV7Time } from "../../shared/ids.ts";
import { createRedactor, hostPseudonym } from "../../shared/redact.ts";
import { loadVmConfig } from "./vm_config.ts";
import { withLogDir as withTempLogDir } from "../testing/log_dir.ts";

const withLogDir = (fn: (logDir: string) => Promise<void>) => withTempLogDir(fn, { create: false });

Deno.test("sessionRunId() keeps one UUID v7 per session under the log dir", async () => {
  await withLogDir(async (logDir) => {
    const first = await sessionRunId(logDir, "session-a");
    assert.ok(uuidV7Time(first) !== undefined, first);
    assert.equal(await sessionRunId(logDir, "session-a"), first);
    assert.notEqual(await sessionRunId(logDir, "session-b"), first);
    assert.equal(await sessionRunId(logDir, "session-a", "from-env"), "from-env");
    const files = [...Deno.readDirSync(`${logDir}/runs`)].map((e) => e.name);
    assert.equal(files.length, 2);
    assert.ok(files.every((name) => /^[0-9a-f]{32}$/.test(name)), files.join());
    assert.equal((await Deno.stat(`${logDir}/runs`)).mode! & 0o777, 0o700);
  });
});

Deno.test("sessionRunId() racing callers agree", async () => {
  await withLogDir(async (logDir) => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => sessionRunId(logDir, "s")));
    assert.equal(new Set(ids).size, 1);
  });
});

Deno.test("rememberSubagentStart() keeps the first start of an agent", async () => {
  await withLogDir(async (logDir) => {
    const ids = { sessionId: "s", agentId: "agent-1" };
    assert.equal(await subagentStartId(logDir, ids), undefined);
    const first = "01a20e2b-5de1-7f03-b21b-459c62a0da67";
    assert.equal(await rememberSubagentStart(logDir, { ...ids, eventId: first }), first);
    const later = "01a20e2b-5de1-7f03-b21b-459c62a0da68";
    assert.equal(await rememberSubagentStart(logDir, { ...ids, eventId: later }), first);
    assert.equal(await subagentStartId(logDir, ids), first);
    assert.equal(await subagentStartId(logDir, { ...ids, sessionId: "other" }), undefined);
  });
});

Deno.test("baseContext() derives the worker from the host, pseudonymised in strict mode", async () => {
  const strict = loadVmConfig((name) => ({ HOME: "/h", ZO_REDACTION_SALT: "salt" })[name]);
  const redactor = await createRedactor({
    mode: "strict",
    hostNames: ["build-vm-3"],
    salt: "salt",
  });
  const pseudonym = await hostPseudonym("build-vm-3", "salt");
  assert.equal(await shownHost("build-vm-3", redactor, "salt"), pseudonym);
  assert.equal(await shownHost("vm", redactor, "salt"), await hostPseudonym("vm", "salt"));
  const context = await baseContext(strict, { redactor, host: "build-vm-3", projectDir: "/p" });
  assert.deepEqual(context, {
    worker_id: pseudonym,
    source: { host: pseudonym, project_dir: "/p" },
  });

  const named = loadVmConfig((name) =>
    ({
      HOME: "/h",
      ZO_WORKER_ID: "vm-7",
      ZO_PROJECT_ID: "proj",
      ZO_AGENT_ROLE: "conductor",
      ZO_REDACTION_MODE: "standard",
    })[name]
  );
  const standard = await createRedactor({ mode: "standard" });
  assert.deepEqual(await baseContext(named, { redactor: standard, host: "build-vm-3" }), {
    worker_id: "vm-7",
    project_id: "proj",
    agent_role: "conductor",
    source: { host: "build-vm-3" },
  });
});
