import assert from "node:assert/strict";
import { bridgeAccess, DEFAULT_BRIDGE_URL, helpText, parseFlags } from "./flags.ts";

Deno.test("parseFlags() reads both value forms and names each mistake", () => {
  const specs = {
    project: { type: "string", value: "<id>", description: "the project" },
    json: { type: "boolean", description: "as JSON" },
  } as const;
  assert.deepEqual(parseFlags(["--project", "acme", "--json"], specs).values, {
    project: "acme",
    json: true,
  });
  assert.deepEqual(parseFlags(["--project=acme"], specs).values, { project: "acme" });
  assert.throws(() => parseFlags(["--nope"], specs), /Cannot use --nope: unknown flag/);
  assert.throws(() => parseFlags(["--json=1"], specs), /--json=\.\.\.: it takes no value/);
  assert.throws(() => parseFlags(["--project"], specs), /--project: it needs a value/);
  assert.throws(() => parseFlags(["--project=a", "--project=b"], specs), /--project twice/);
  assert.throws(() => parseFlags(["acme"], specs), /flags look like --name=value/);
  assert.deepEqual(parseFlags(["x"], specs, { positionals: true }).positionals, ["x"]);
});

Deno.test("helpText() describes every flag but the hidden ones", () => {
  const text = helpText("deno task x [flags]", {
    summary: "Does x.",
    flags: {
      url: { type: "string", value: "<bridge>", description: "where" },
      alias: { type: "string", description: "same", hidden: true },
    },
  });
  assert.match(text, /^Usage: deno task x \[flags\]\n\nDoes x\.\n\n {2}--url <bridge> +where$/);
});

Deno.test("bridgeAccess() takes --key, --key-file, ZO_READ_KEY, then the old ZO_API_KEY with a warning", () => {
  const warnings: string[] = [];
  const access = (values: Record<string, string>, vars: Record<string, string>) =>
    bridgeAccess(values, {
      env: (name) => vars[name],
      readFile: (path) => path === "/k" ? "file-key\nrest" : "",
      warn: (line) => warnings.push(line),
    });
  assert.deepEqual(access({}, {}), { url: DEFAULT_BRIDGE_URL, keySource: "none" });
  assert.equal(access({ key: "flag" }, { ZO_READ_KEY: "env" }).key, "flag");
  assert.equal(access({ "key-file": "/k" }, { ZO_READ_KEY: "env" }).key, "file-key");
  assert.equal(access({}, { ZO_READ_KEY: "read", ZO_API_KEY: "old" }).key, "read");
  assert.deepEqual(warnings, []);
  assert.equal(access({}, { ZO_API_KEY: "old" }).keySource, "ZO_API_KEY");
  assert.match(warnings.join("\n"), /ZO_API_KEY is the old name of the read key; set ZO_READ_KEY/);
  assert.throws(() => access({ key: "a", "key-file": "/k" }, {}), /both --key and --key-file/);
  assert.throws(() => access({ "key-file": "/empty" }, {}), /first line is empty/);
  assert.equal(access({ url: "https://t.example.com/" }, {}).url, "https://t.example.com");
});
