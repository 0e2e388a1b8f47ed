import assert from "node:assert/strict";
import { parseBootstrapArgs, parseDoctorArgs, UsageError } from "./args.ts";

Deno.test("parseBootstrapArgs() reads every flag and applies the defaults", () => {
  assert.deepEqual(parseBootstrapArgs([]), {
    help: false,
    installDir: "/opt/claude-hooks",
    endpoint: undefined,
    apiKey: undefined,
    apiKeyFile: undefined,
    saltFile: undefined,
    printSettings: false,
    projectId: undefined,
    workerId: undefined,
    logDir: undefined,
    relayPort: undefined,
    settings: "none",
    hookType: "command",
    dryRun: false,
    uninstall: false,
    otel: { enabled: true, logPrompts: false, logToolDetails: false },
    otlpProtobuf: false,
  });
  const flags = parseBootstrapArgs([
    "--install-dir=/srv/zo",
    "--endpoint",
    "https://t.example.com/ingest",
    "--api-key-file",
    "/root/key",
    "--project-id=acme",
    "--worker-id",
    "",
    "--log-dir=/var/log/zo",
    "--settings=project",
    "--hook-type=http",
    "--dry-run",
    "--uninstall",
  ]);
  assert.equal(flags.installDir, "/srv/zo");
  assert.equal(flags.endpoint, "https://t.example.com/ingest");
  assert.equal(flags.apiKeyFile, "/root/key");
  assert.equal(flags.projectId, "acme");
  assert.equal(flags.workerId, "");
  assert.equal(flags.logDir, "/var/log/zo");
  assert.equal(flags.settings, "project");
  assert.equal(flags.hookType, "http");
  assert.equal(flags.dryRun, true);
  assert.equal(flags.uninstall, true);
  assert.deepEqual(parseBootstrapArgs(["--no-otel"]).otel, {
    enabled: false,
    logPrompts: false,
    logToolDetails: false,
  });
  assert.deepEqual(parseBootstrapArgs(["--otel-log-prompts", "--otel-log-tool-details"]).otel, {
    enabled: true,
    logPrompts: true,
    logToolDetails: true,
  });
  assert.throws(
    () => parseBootstrapArgs(["--no-otel", "--otel-log-prompts"]),
    /Cannot use --no-otel with --otel-log-prompts/,
  );
});

Deno.test("parseBootstrapArgs() refuses unknown flags, stray words and bad values", () => {
  assert.throws(() => parseBootstrapArgs(["--instal-dir=/x"]), (error: Error) => {
    assert.ok(error instanceof UsageError);
    assert.match(error.message, /^Cannot use --instal-dir: unknown flag/);
    return true;
  });
  assert.throws(() => parseBootstrapArgs(["extra"]), UsageError);
  assert.throws(() => parseBootstrapArgs(["--settings=global"]), /use one of user, project, none/);
  assert.throws(() => parseBootstrapArgs(["--hook-type=grpc"]), /use one of command, http/);
  assert.throws(
    () => parseBootstrapArgs(["--api-key=a", "--api-key-file=/k"]),
    /Cannot use both --key and --key-file/,
  );
  assert.equal(parseBootstrapArgs(["--key-file=/k"]).apiKeyFile, "/k");
  assert.equal(parseBootstrapArgs(["--salt-file", "/s", "--print-settings"]).saltFile, "/s");
  assert.equal(parseBootstrapArgs(["--print-settings"]).printSettings, true);
  assert.throws(() => parseBootstrapArgs(["--install-dir="]), /give a directory/);
});

Deno.test("parseDoctorArgs() reads its flags and leaves the settings to the manifest", () => {
  assert.deepEqual(parseDoctorArgs([]), {
    help: false,
    json: false,
    installDir: "/opt/claude-hooks",
  });
  assert.deepEqual(parseDoctorArgs(["--install-dir=/srv/zo", "--settings=user", "--help"]), {
    help: true,
    json: false,
    installDir: "/srv/zo",
    settings: "user",
  });
  assert.throws(() => parseDoctorArgs(["--endpoint=x"]), UsageError);
});
