// Tests of the docs generator, including the proof that the committed generated docs are current.
// Run from the repository root: generate() reads docs/ and README.md relative to it.
import assert from "node:assert/strict";
import { fillSections, generate } from "./gen_docs.ts";
import { hookShims } from "./hook_shims.ts";

const GENERATED_FILES = [
  "docs/schema.json",
  "docs/schema.md",
  "README.md",
  "docs/SECURITY.md",
  ...hookShims().keys(),
];
const REQUIRED_FIELDS = [
  "event_id",
  "ts",
  "schema_version",
  "session_id",
  "run_id",
  "event_type",
  "level",
];

Deno.test("fillSections() replaces the body between markers and keeps the rest", async (t) => {
  await t.step("one section", () => {
    const text = "# Title\n\nIntro.\n\n<!-- generated:table -->\nold 1\nold 2\n" +
      "<!-- /generated:table -->\n\nOutro.\n";
    assert.equal(
      fillSections(text, { table: "| a |\n|---|" }),
      "# Title\n\nIntro.\n\n<!-- generated:table -->\n| a |\n|---|\n" +
        "<!-- /generated:table -->\n\nOutro.\n",
    );
  });
  await t.step("several sections, an empty one among them", () => {
    const text = "A\n<!-- generated:one -->\n<!-- /generated:one -->\nB\n" +
      "<!-- generated:two -->\nstale\n<!-- /generated:two -->\nC";
    assert.equal(
      fillSections(text, { two: "2", one: "1" }),
      "A\n<!-- generated:one -->\n1\n<!-- /generated:one -->\nB\n" +
        "<!-- generated:two -->\n2\n<!-- /generated:two -->\nC",
    );
  });
  await t.step("filling twice gives the same text", () => {
    const text = "<!-- generated:x -->\nold\n<!-- /generated:x -->\n";
    const once = fillSections(text, { x: "new" });
    assert.equal(fillSections(once, { x: "new" }), once);
  });
  await t.step("no sections asked: the text as it is", () => {
    assert.equal(fillSections("plain", {}), "plain");
  });
});

Deno.test("fillSections() names the markers it cannot find", async (t) => {
  const cases: Record<string, string> = {
    "no markers at all": "# Title\n",
    "no end marker": "<!-- generated:table -->\nbody\n",
    "no start marker": "body\n<!-- /generated:table -->\n",
    "end before start": "<!-- /generated:table -->\nbody\n<!-- generated:table -->\n",
    "another section's markers": "<!-- generated:other -->\n<!-- /generated:other -->\n",
  };
  for (const [name, text] of Object.entries(cases)) {
    await t.step(name, () => {
      assert.throws(() => fillSections(text, { table: "x" }), (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.ok(error.message.includes("<!-- generated:table -->"), error.message);
        assert.ok(error.message.includes("<!-- /generated:table -->"), error.message);
        return true;
      });
    });
  }
});

Deno.test("generate() gives exactly the committed docs (generated docs are not stale)", async (t) => {
  const files = await generate();
  assert.deepEqual([...files.keys()].sort(), [...GENERATED_FILES].sort());
  for (const path of GENERATED_FILES) {
    await t.step(path, async () => {
      const committed = await Deno.readTextFile(path);
      assert.ok(
        files.get(path) === committed,
        `${path} differs from what the code generates: run \`deno task schema:gen\``,
      );
    });
  }
});

Deno.test("docs/schema.json describes the envelope's required fields", async () => {
  const schema = JSON.parse(await Deno.readTextFile("docs/schema.json"));
  assert.equal(typeof schema, "object");
  const required: unknown = schema.required;
  assert.ok(Array.isArray(required));
  for (const field of REQUIRED_FIELDS) {
    assert.ok(required.includes(field), `${field} is not required`);
    assert.ok(Object.hasOwn(schema.properties, field), `${field} is not a property`);
  }
});

Deno.test("the configuration tables name every variable a task or bootstrap_vm.sh may read", async () => {
  const repo = new URL("..", import.meta.url);
  const tasks = JSON.parse(await Deno.readTextFile(new URL("deno.json", repo))).tasks as Record<
    string,
    { command: string }
  >;
  const read = new Set<string>();
  for (const { command } of Object.values(tasks)) {
    for (const match of command.matchAll(/--allow-env=(\S+)/g)) {
      for (const name of match[1]!.split(",")) if (!name.includes("*")) read.add(name);
    }
  }
  const shell = await Deno.readTextFile(new URL("scripts/bootstrap_vm.sh", repo));
  for (const match of shell.matchAll(/\$\{([A-Z_]+):-/g)) read.add(match[1]!);
  // The system's own, not this project's settings.
  for (const name of ["HOME", "INIT_CWD"]) read.delete(name);
  const readme = await Deno.readTextFile(new URL("README.md", repo));
  const listed = new Set([...readme.matchAll(/^\| `([A-Z][A-Z0-9_]*)` +\|/gm)].map((m) => m[1]!));
  assert.deepEqual([...read].filter((name) => !listed.has(name)).sort(), []);
});
