/**
 * Bootstrap's env block for Claude Code's OpenTelemetry export, through a real install and
 * uninstall into temp dirs: merged beside the user's own settings, recorded in the manifest, left
 * alone on a re-run, never taking a value the user set, and taken out exactly on uninstall.
 *
 * @module
 */
import assert from "node:assert/strict";
import { install, type InstallRequest } from "./install.ts";
import { installLayout, readManifest } from "./layout.ts";
import { uninstall } from "./uninstall.ts";

const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

function request(root: string, more: Partial<InstallRequest> = {}): InstallRequest {
  return {
    installDir: `${root}/opt`,
    repoDir: REPO,
    denoPath: Deno.execPath(),
    env: { ZO_EVENT_ENDPOINT: "http://127.0.0.1:8787/ingest" },
    defaultLogDir: `${root}/log`,
    settingsPath: `${root}/home/.claude/settings.json`,
    hookType: "command",
    dryRun: false,
    log: () => {},
    ...more,
  };
}

const USER_SETTINGS = JSON.stringify({ model: "opus", env: { FOO: "bar" } }, null, 2) + "\n";

Deno.test("bootstrap's env block turns the export on beside the user's env, and uninstall restores the file", async () => {
  const root = await Deno.makeTempDir();
  try {
    const path = `${root}/home/.claude/settings.json`;
    await Deno.mkdir(`${root}/home/.claude`, { recursive: true });
    await Deno.writeTextFile(path, USER_SETTINGS);
    const lines: string[] = [];
    const result = await install(request(root, { log: (l) => lines.push(l) }));
    const settings = JSON.parse(await Deno.readTextFile(path));
    assert.equal(settings.model, "opus");
    assert.equal(settings.env.FOO, "bar");
    assert.equal(settings.env.CLAUDE_CODE_ENABLE_TELEMETRY, "1");
    assert.equal(settings.env.OTEL_EXPORTER_OTLP_PROTOCOL, "http/json");
    assert.equal(
      settings.env.OTEL_EXPORTER_OTLP_ENDPOINT,
      `http://127.0.0.1:${result.config.relayPort}`,
    );
    assert.equal(settings.env.OTEL_LOG_USER_PROMPTS, undefined, "prompt text only when asked");
    assert.ok(Object.keys(settings.hooks).length > 0);
    assert.match(lines.join("\n"), /OpenTelemetry export goes to the relay/);
    const manifest = await readManifest(installLayout(`${root}/opt`));
    assert.deepEqual(manifest?.settings[0]?.env, result.settingsEnv);
    const block = JSON.parse(await Deno.readTextFile(`${root}/opt/settings/hooks.command.json`));
    assert.deepEqual(block.env, result.settingsEnv, "the block to paste has it too");

    const before = await Deno.readTextFile(path);
    const again = await install(request(root));
    assert.equal(again.settingsChange?.changed, false, "a re-run writes nothing");
    assert.equal(await Deno.readTextFile(path), before);

    await uninstall({ installDir: `${root}/opt`, dryRun: false, log: () => {} });
    assert.equal(await Deno.readTextFile(path), USER_SETTINGS, "the user's file, byte for byte");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("bootstrap keeps the user's own OpenTelemetry endpoint, and --no-otel takes its entries out", async () => {
  const root = await Deno.makeTempDir();
  try {
    const path = `${root}/home/.claude/settings.json`;
    await Deno.mkdir(`${root}/home/.claude`, { recursive: true });
    const own = { env: { OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector.acme.dev" } };
    await Deno.writeTextFile(path, JSON.stringify(own));
    const lines: string[] = [];
    await install(request(root, { log: (l) => lines.push(l) }));
    let settings = JSON.parse(await Deno.readTextFile(path));
    assert.equal(settings.env.OTEL_EXPORTER_OTLP_ENDPOINT, "https://collector.acme.dev");
    assert.equal(settings.env.OTEL_LOGS_EXPORTER, "otlp");
    assert.match(
      lines.join("\n"),
      /sets OTEL_EXPORTER_OTLP_ENDPOINT=https:\/\/collector\.acme\.dev; kept/,
    );

    // A user edit after install makes that entry theirs: --no-otel leaves it, takes the rest.
    settings.env.OTEL_METRICS_EXPORTER = "prometheus";
    await Deno.writeTextFile(path, JSON.stringify(settings));
    await install(request(root, { otel: { enabled: false } }));
    settings = JSON.parse(await Deno.readTextFile(path));
    assert.deepEqual(settings.env, {
      OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector.acme.dev",
      OTEL_METRICS_EXPORTER: "prometheus",
    });
    const manifest = await readManifest(installLayout(`${root}/opt`));
    assert.equal(manifest?.settings[0]?.env, undefined);
    await uninstall({ installDir: `${root}/opt`, dryRun: false, log: () => {} });
    settings = JSON.parse(await Deno.readTextFile(path));
    assert.deepEqual(settings.env, {
      OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector.acme.dev",
      OTEL_METRICS_EXPORTER: "prometheus",
    });
    assert.equal(settings.hooks, undefined);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
