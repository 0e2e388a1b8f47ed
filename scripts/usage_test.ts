/**
 * `deno task usage`: flags, tables, client-side pricing, and the task's exact command against a
 * real bridge (it never prints the key).
 *
 * @module
 */
import assert from "node:assert/strict";
import { startTestBridge } from "../bridge/testing/bridge.ts";
import type { UsageReport } from "../bridge/usage/report.ts";
import { createRedactor } from "../shared/redact.ts";
import { parsePrices } from "../bridge/usage/prices.ts";
import { readTranscriptUsage } from "../hooks/pipeline/usage/transcript_reader.ts";
import { usageEvent } from "../hooks/pipeline/usage/usage_event_builder.ts";
import { parseUsageFlags, USAGE_TEXT } from "./usage.ts";
import { repriceReport } from "./usage/reprice.ts";
import { formatCount, renderUsageTable } from "./usage/table.ts";

const REPO = new URL("../", import.meta.url).pathname;
const FIXTURE = `${REPO}testdata/claude-code/transcript.jsonl`;
const TASK = JSON.parse(await Deno.readTextFile(`${REPO}deno.json`)).tasks.usage.command as string;

Deno.test("parseUsageFlags() reads reports, filters and options", () => {
  assert.deepEqual(parseUsageFlags([]).reports, ["daily", "runs", "models"]);
  const flags = parseUsageFlags([
    "models",
    "--since=2026-11-01T00:00:00Z",
    "--project=acme",
    "--utc-offset=+02:00",
    "--json",
    "--prices=/etc/p.json",
  ]);
  assert.deepEqual(flags.reports, ["models"]);
  assert.deepEqual(flags.params, {
    since: "2026-11-01T00:00:00Z",
    project_id: "acme",
    utc_offset: "+02:00",
  });
  assert.equal(flags.json, true);
  assert.equal(flags.prices, "/etc/p.json");
  assert.throws(() => parseUsageFlags(["weekly"]), /known reports are daily, runs, models/);
  assert.throws(() => parseUsageFlags(["--nope=secret"]), /--nope: unknown flag/);
  assert.throws(() => parseUsageFlags(["--since"]), /--since: it needs a value/);
});

Deno.test("parseUsageFlags() takes the query CLI's forms: ago, the space form, --key", () => {
  const now = Date.parse("2026-11-24T12:00:00.000Z");
  const flags = parseUsageFlags(["--since=7d", "--project", "acme", "--key", "k-1"], now);
  assert.deepEqual(flags.params, {
    since: String(now - 7 * 86_400_000),
    project_id: "acme",
  });
  assert.equal(flags.access.key, "k-1");
  assert.equal(parseUsageFlags(["--help"]).help, true);
  assert.match(USAGE_TEXT, /--since <time> +from then on/);
  assert.match(USAGE_TEXT, /--key-file <file> +read the key/);
});

Deno.test("formatCount() groups thousands", () => {
  assert.equal(formatCount(13105), "13,105");
  assert.equal(formatCount(7), "7");
  assert.equal(formatCount(1234567), "1,234,567");
});

async function fixtureEvents(model = "claude-sonnet-4-5") {
  const redactor = await createRedactor({ mode: "standard" });
  const messages = (await readTranscriptUsage(FIXTURE)).messages;
  return await Promise.all(
    messages.map((m, i) =>
      usageEvent({ ...m, model: i === 0 ? model : m.model }, {
        session_id: "s-1",
        run_id: "run-1",
        worker_id: "vm-1",
      }, { redactor, transcript: "main" })
    ),
  );
}

Deno.test("deno task usage prints tables and JSON from a real bridge, never the key", async () => {
  await using bridge = await startTestBridge();
  const events = [...await fixtureEvents(), ...(await fixtureEvents("claude-new-9")).slice(0, 1)];
  events[2] = { ...events[2]!, data: { ...events[2]!.data, message_id: "msg_9" } };
  const ingested = await fetch(bridge.ingestUrl, {
    method: "POST",
    headers: { authorization: `Bearer ${bridge.ingestKey}` },
    body: JSON.stringify(events.slice(0, 2)),
  });
  assert.equal(ingested.status, 200, await ingested.text());

  // `deno task` expands $HOME: a home of the test's own, where the task may read a prices table.
  const home = await Deno.makeTempDir({ prefix: "zo-home-" });
  await Deno.mkdir(`${home}/.config/zo`, { recursive: true });
  const [, ...args] = TASK.replaceAll("$HOME", home).split(" ");
  const run = async (...extra: string[]) => {
    const output = await new Deno.Command("deno", {
      args: [...args, ...extra],
      cwd: REPO,
      clearEnv: true,
      env: { ZO_BRIDGE_URL: bridge.url, ZO_READ_KEY: bridge.readKey },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    assert.ok(!text.includes(bridge.readKey), "the key was printed");
    return { code: output.code, text };
  };

  const tables = await run();
  assert.equal(tables.code, 0, tables.text);
  for (const title of ["Usage by day", "Usage by run", "Usage by model"]) {
    assert.ok(tables.text.includes(title), title);
  }
  assert.match(tables.text, /2026-11-20\s+2\s+1,500\s+405\s+5,000\s+6,200\s+13,105\s+0\.0312/);
  assert.match(tables.text, /Prices: table \S+ \(builtin\), USD per million tokens\./);

  const json = await run("models", "--json");
  assert.equal(json.code, 0, json.text);
  const report = JSON.parse(json.text) as UsageReport;
  assert.equal(report.totals.output_tokens, 405);
  assert.deepEqual(report.group_by, ["model"]);

  const priceFile = `${home}/.config/zo/prices.json`;
  try {
    await Deno.writeTextFile(
      priceFile,
      JSON.stringify({
        version: "mine-1",
        effective: "2026-12-01",
        currency: "USD",
        unit: "per million tokens",
        models: { "claude-sonnet-4-5": { input: 1, output: 1, cache_write: 1, cache_read: 1 } },
      }),
    );
    const repriced = await run("daily", "--json", `--prices=${priceFile}`);
    assert.equal(repriced.code, 0, repriced.text);
    const daily = JSON.parse(repriced.text) as UsageReport;
    assert.equal(daily.totals.cost_usd, 0.013105);
    assert.equal(daily.prices.version, "mine-1");
    assert.deepEqual(daily.group_by, ["day"]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }

  const bad = await run("--since=1d", "--until=7d");
  assert.equal(bad.code, 1);
  assert.match(
    bad.text,
    /Cannot read usage from .*: 400 Cannot report usage: since is after until/,
  );
  const badFlag = await run("--since=never");
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.text, /Cannot use --since="never": give RFC 3339/);
  const help = await run("--help");
  assert.equal(help.code, 0);
  assert.match(
    help.text,
    /--url <bridge> +the bridge's base URL \(default \$ZO_BRIDGE_URL or http:\/\/127\.0\.0\.1:8787\)/,
  );
});

Deno.test("repriceReport() is exact for linear prices and flags long-prompt tiers", () => {
  const summary = (model: string, input: number) => ({
    key: { day: "2026-11-20", model },
    messages: 1,
    input_tokens: input,
    output_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    total_tokens: input,
    cost_usd: 0,
    cost_by_field_usd: { input: 0, output: 0, cache_creation: 0, cache_read: 0 },
    cost_complete: true,
    unpriced_messages: 0,
    unknown_models: [],
    models: [model],
    first_ts: "2026-11-20T10:00:00.000Z",
    last_ts: "2026-11-20T10:00:00.000Z",
  });
  const byModel = {
    group_by: ["day", "model"],
    groups: [summary("a", 1_000_000), summary("b", 2_000_000)],
    totals: summary("a", 3_000_000),
    truncated: false,
    unknown_models: [],
    filters: {},
    utc_offset: "+00:00",
    prices: {},
  } as unknown as UsageReport;
  const prices = parsePrices(
    JSON.stringify({
      version: "v",
      effective: "2026-12-01",
      currency: "USD",
      unit: "per million tokens",
      models: {
        a: { input: 2, output: 0, cache_write: 0, cache_read: 0 },
        b: {
          input: 1,
          output: 0,
          cache_write: 0,
          cache_read: 0,
          long_prompt: { above_tokens: 10, input: 5, output: 0, cache_write: 0, cache_read: 0 },
        },
      },
    }),
    "p",
  );
  const report = repriceReport(byModel, { dimensions: ["day"], prices, limit: 100 });
  assert.equal(report.groups.length, 1);
  assert.equal(report.totals.cost_usd, 2);
  assert.deepEqual(report.totals.unknown_models, ["b"]);
  assert.equal(report.totals.cost_complete, false);
  assert.equal(report.totals.input_tokens, 3_000_000);
  assert.throws(
    () => repriceReport({ ...byModel, truncated: true }, { dimensions: ["day"], prices, limit: 1 }),
    RangeError,
  );
  assert.ok(renderUsageTable("T", report).includes("* No price for b"));
});
