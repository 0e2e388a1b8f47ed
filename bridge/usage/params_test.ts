import assert from "node:assert/strict";
import { parseUsageParams } from "./params.ts";

const parse = (query: string) => parseUsageParams(new URLSearchParams(query));

Deno.test("parseUsageParams() takes the documented parameters", () => {
  const parsed = parse(
    "group_by=day,model&project_id=acme&since=2026-11-01T00:00:00Z&until=1795000000000" +
      "&utc_offset=%2B02:30&limit=50&model=claude-sonnet-4-5",
  );
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.query, {
    group_by: ["day", "model"],
    filters: { project_id: "acme", model: "claude-sonnet-4-5" },
    since: Date.parse("2026-11-01T00:00:00Z"),
    until: 1795000000000,
    utc_offset_minutes: 150,
    limit: 50,
  });
  const defaults = parse("");
  assert.ok(defaults.ok);
  assert.deepEqual(defaults.query, {
    group_by: ["day"],
    filters: {},
    utc_offset_minutes: 0,
    limit: 1000,
  });
  const plus = parse("utc_offset=+05:00"); // "+" unencoded arrives as a space
  assert.ok(plus.ok && plus.query.utc_offset_minutes === 300);
  const minus = parse("utc_offset=-03:30");
  assert.ok(minus.ok && minus.query.utc_offset_minutes === -210);
});

Deno.test("parseUsageParams() refuses bad parameters with a reason", async (t) => {
  const cases: [string, RegExp][] = [
    ["group_by=week", /group_by must list 1 to 3 of: project, worker, run, session, agent/],
    ["group_by=day,day", /names a dimension twice/],
    ["group_by=day,model,run,session", /group_by must list 1 to 3/],
    ["group_by=", /group_by must list/],
    ["colour=red", /unknown parameter "colour"/],
    ["run_id=a&run_id=b", /"run_id" is given more than once/],
    ["since=yesterday", /since must be RFC 3339/],
    ["since=2000&until=1000", /since is after until/],
    ["limit=0", /limit must be at least 1/],
    ["limit=20000", /limit must be at most 10000/],
    ["utc_offset=2", /utc_offset must be ±HH:MM/],
    ["session_id=", /session_id must not be empty/],
    [`model=${"m".repeat(300)}`, /model must be at most 256 characters/],
    ['project_id={"$ne":"x"}&group_by=$where', /group_by must list/],
  ];
  for (const [query, reason] of cases) {
    await t.step(query.slice(0, 40), () => {
      const parsed = parse(query);
      assert.equal(parsed.ok, false);
      assert.match((parsed as { error: string }).error, /^Cannot report usage: /);
      assert.match((parsed as { error: string }).error, reason);
    });
  }
});

Deno.test("parseUsageParams() keeps an operator-like value a plain string", () => {
  const parsed = parse('project_id={"$ne":"x"}');
  assert.ok(parsed.ok);
  assert.equal(parsed.query.filters.project_id, '{"$ne":"x"}');
});
