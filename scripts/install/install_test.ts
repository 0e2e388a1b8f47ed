import assert from "node:assert/strict";
import { ConfigError } from "../../shared/config.ts";
import { checkPath, install, type InstallRequest } from "./install.ts";

const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

function request(root: string, more: Partial<InstallRequest> = {}): InstallRequest {
  return {
    installDir: `${root}/opt`,
    repoDir: REPO,
    denoPath: Deno.execPath(),
    env: { ZO_EVENT_ENDPOINT: "http://127.0.0.1:8787/ingest", ZO_INGEST_KEY: "k-0123456789abcdef" },
    defaultLogDir: `${root}/log`,
    hookType: "command",
    dryRun: true,
    log: () => {},
    ...more,
  };
}

Deno.test("install() with dryRun plans everything and writes nothing", async () => {
  const root = await Deno.makeTempDir();
  try {
    const lines: string[] = [];
    const result = await install(
      request(root, {
        settingsPath: `${root}/home/.claude/settings.json`,
        log: (l) => lines.push(l),
      }),
    );
    assert.equal(result.config.logDir, `${root}/log`);
    assert.equal(result.config.endpoint?.href, "http://127.0.0.1:8787/ingest");
    assert.equal(result.settingsChange?.changed, true);
    assert.deepEqual(result.changed, []);
    assert.ok(Object.keys(result.commandBlock).length > 0);
    assert.deepEqual([...Deno.readDirSync(root)], []);
    assert.ok(lines[0]!.startsWith("Dry run: nothing is written."));
    assert.ok(!lines.join("\n").includes("k-0123456789abcdef"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("install() refuses paths that could not go into flags and settings as they are", async () => {
  assert.throws(() => checkPath("--install-dir", "relative/dir"), ConfigError);
  assert.throws(
    () => checkPath("--log-dir", "/var/log/a,b"),
    /Cannot use --log-dir "\/var\/log\/a,b"/,
  );
  assert.throws(() => checkPath("--install-dir", "/opt/my hooks"), ConfigError);
  assert.throws(() => checkPath("--install-dir", "/opt/../etc"), ConfigError);
  checkPath("--install-dir", "/opt/claude-hooks_2.0@x+y");
  await assert.rejects(install(request("/tmp", { installDir: "/tmp/a b" })), ConfigError);
  await assert.rejects(
    install(request("/tmp", { env: { ZO_EVENT_ENDPOINT: "ftp://x/ingest" } })),
    /Cannot use ZO_EVENT_ENDPOINT/,
  );
});
