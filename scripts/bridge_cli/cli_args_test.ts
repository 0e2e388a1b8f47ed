import assert from "node:assert/strict";
import { type CliOptions, DEFAULT_BRIDGE_URL, parseCliArgs, parseTime, usage } from "./cli_args.ts";

const NOW = Date.parse("2026-11-24T12:00:00.000Z");
const env = (vars: Record<string, string>) => (name: string) => vars[name];

function parse(
  args: string[],
  vars: Record<string, string> = {},
  command: "query" | "tail" = "query",
) {
  const options = parseCliArgs(command, args, { env: env(vars), nowMs: NOW });
  assert.notEqual(options, "help");
  return options as CliOptions;
}

Deno.test("parseCliArgs() turns the dashboard's filters into API parameters", () => {
  const options = parse([
    "--project=acme",
    "--vm",
    "vm-1",
    "--type=tool_invocation",
    "--tool=Bash",
    "--level=error",
    "--since=15m",
    "--until=2026-11-24T11:59:00Z",
    "--text=npm test",
    "--json",
  ]);
  assert.equal(
    options.params.toString(),
    `project_id=acme&worker_id=vm-1&event_type=tool_invocation&tool_name=Bash&level=error&since=${
      NOW - 900_000
    }&until=2026-11-24T11%3A59%3A00Z&text=npm+test`,
  );
  assert.equal(options.json, true);
  assert.equal(options.url, DEFAULT_BRIDGE_URL);
  assert.equal(options.limit, 50);
});

Deno.test("parseCliArgs() takes the bridge and key from the environment or flags", () => {
  const fromEnv = parse([], { ZO_BRIDGE_URL: "https://t.example.com/", ZO_API_KEY: "k-env" });
  assert.equal(fromEnv.url, "https://t.example.com");
  assert.equal(fromEnv.key, "k-env");
  const fromFlags = parse(["--url=http://10.0.0.5:8787", "--key=k-flag"], { ZO_API_KEY: "k-env" });
  assert.equal(fromFlags.url, "http://10.0.0.5:8787");
  assert.equal(fromFlags.key, "k-flag");
  assert.equal(parse([]).key, undefined);
});

Deno.test("parseCliArgs() refuses what it cannot use, saying why", () => {
  const refused = (args: string[], pattern: RegExp, command: "query" | "tail" = "query") =>
    assert.throws(() => parseCliArgs(command, args, { env: env({}), nowMs: NOW }), pattern);
  refused(["--nope=1"], /--nope: unknown flag/);
  refused(["--nope"], /--nope: unknown flag/);
  refused(["acme"], /flags look like --name=value/);
  refused(["--project=a", "--project_id=b"], /--project_id twice/);
  refused(["--limit=0"], /whole number from 1 to 1000/);
  refused(["--since=yesterday"], /RFC 3339.*Unix ms.*ago/);
  refused(["--url=ftp://x"], /http:\/\/ or https:\/\//);
  refused(["--url=http://user:pw@x"], /credentials/);
  refused(["--json=1"], /takes no value/);
  refused(["--project"], /needs a value/);
  refused(["--all"], /--all with tail/, "tail");
  refused(["--q=x"], /--q: unknown flag/, "tail");
  refused(["--type=PreToolUse"], /PreToolUse is a hook name; give it as --hook=PreToolUse/);
  assert.equal(parseCliArgs("tail", ["--help"], { env: env({}), nowMs: NOW }), "help");
  assert.match(usage("query"), /--collection=agent_state/);
  assert.match(usage("tail"), /like tail -f/);
});

Deno.test("parseCliArgs() takes the read key from ZO_READ_KEY; the old ZO_API_KEY warns", () => {
  const warnings: string[] = [];
  const options = (vars: Record<string, string>) =>
    parseCliArgs("query", ["--project", "acme"], {
      env: env(vars),
      nowMs: NOW,
      warn: (line) => warnings.push(line),
    }) as CliOptions;
  assert.equal(options({ ZO_READ_KEY: "k-read" }).key, "k-read");
  assert.equal(options({ ZO_READ_KEY: "k-read" }).params.get("project_id"), "acme");
  assert.deepEqual(warnings, []);
  assert.equal(options({ ZO_API_KEY: "k-old" }).key, "k-old");
  assert.equal(warnings.length, 1);
  assert.match(usage("query"), /--hook <HookEventName> +fired by this Claude Code hook/);
});

Deno.test("parseTime() reads RFC 3339, Unix ms and durations ago", () => {
  assert.equal(parseTime("since", "2h", NOW), String(NOW - 7_200_000));
  assert.equal(parseTime("since", "7d", NOW), String(NOW - 7 * 86_400_000));
  assert.equal(parseTime("since", "1700000000000", NOW), "1700000000000");
  assert.equal(parseTime("since", "2026-11-24T10:00:00Z", NOW), "2026-11-24T10:00:00Z");
});
