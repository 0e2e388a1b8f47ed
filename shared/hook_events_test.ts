// Tests of the hook event table against the Claude Code fixtures' list of known events.
import assert from "node:assert/strict";
import {
  HOOK_EVENTS,
  type HookEventSpec,
  hookEventSpec,
  UNKNOWN_HOOK_EVENT,
} from "./hook_events.ts";

const FIXTURES_README = "testdata/claude-code/README.md";

/** The event names listed in the fixtures' README, and the count its heading announces. */
async function documentedEvents(): Promise<{ names: string[]; count: number }> {
  const readme = await Deno.readTextFile(FIXTURES_README);
  const found = /Hook events known at the time of writing \((\d+)\):([^.]*)\./.exec(readme);
  assert.ok(found, `${FIXTURES_README} has no list of known hook events`);
  const names = found[2]!.split(",").map((name) => name.trim()).filter(Boolean);
  return { names, count: Number(found[1]) };
}

/** Every template of the table (msg and error templates), each with a name for messages. */
function templates(): [string, string][] {
  const specs: [string, HookEventSpec][] = [
    ...Object.entries(HOOK_EVENTS),
    ["(unknown)", UNKNOWN_HOOK_EVENT],
  ];
  const out: [string, string][] = [];
  for (const [name, spec] of specs) {
    out.push([`${name}.msg`, spec.msg]);
    if (spec.error) {
      out.push([`${name}.error.type`, spec.error.type]);
      out.push([`${name}.error.message`, spec.error.message]);
    }
  }
  assert.ok(out.length > Object.keys(HOOK_EVENTS).length);
  return out;
}

Deno.test("HOOK_EVENTS has every hook event the fixtures document", async () => {
  const { names, count } = await documentedEvents();
  assert.equal(count, 31);
  assert.equal(names.length, count);
  assert.equal(new Set(names).size, names.length);
  for (const name of names) {
    assert.match(name, /^[A-Z][A-Za-z]+$/);
    assert.ok(Object.hasOwn(HOOK_EVENTS, name), `${name} is missing from HOOK_EVENTS`);
    assert.notEqual(hookEventSpec(name), UNKNOWN_HOOK_EVENT);
  }
});

Deno.test("hookEventSpec() gives the spec of a known event", () => {
  assert.equal(hookEventSpec("PreToolUse"), HOOK_EVENTS.PreToolUse);
  assert.equal(hookEventSpec("SessionStart").type, "session_start");
});

Deno.test("hookEventSpec() gives UNKNOWN_HOOK_EVENT for anything else", async (t) => {
  const cases: [string, unknown][] = [
    ["an unknown name", "BrandNewEvent"],
    ["a name in the wrong case", "pretooluse"],
    ["an empty string", ""],
    ["a number", 42],
    ["undefined", undefined],
    ["null", null],
    ["an object", { name: "PreToolUse" }],
    ["constructor", "constructor"],
    ["__proto__", "__proto__"],
    ["toString", "toString"],
    ["hasOwnProperty", "hasOwnProperty"],
    ["valueOf", "valueOf"],
  ];
  for (const [name, value] of cases) {
    await t.step(name, () => {
      assert.equal(hookEventSpec(value), UNKNOWN_HOOK_EVENT);
    });
  }
  assert.equal(UNKNOWN_HOOK_EVENT.type, "other");
});

Deno.test("HOOK_EVENTS templates only use {snake_case} fields", () => {
  for (const [name, template] of templates()) {
    const fields = [...template.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]);
    for (const field of fields) assert.match(field!, /^[a-z][a-z_]*$/, `${name}: {${field}}`);
    const rest = template.replace(/\{[a-z][a-z_]*\}/g, "");
    assert.doesNotMatch(rest, /[{}]/, `${name}: stray brace in ${template}`);
  }
});

Deno.test("HOOK_EVENTS templates have balanced, unnested [ ]", () => {
  for (const [name, template] of templates()) {
    let open = false;
    for (const char of template) {
      if (char === "[") {
        assert.ok(!open, `${name}: nested [ in ${template}`);
        open = true;
      } else if (char === "]") {
        assert.ok(open, `${name}: ] without [ in ${template}`);
        open = false;
      }
    }
    assert.ok(!open, `${name}: [ never closed in ${template}`);
  }
});
