import assert from "node:assert/strict";
import { decodeCursor, encodeCursor, parseQueryParams } from "./query_params.ts";

const parse = (search: string) => parseQueryParams(new URLSearchParams(search));

function ok(search: string) {
  const result = parse(search);
  assert.ok(result.ok, result.ok ? "" : result.error);
  return result.params;
}

function refused(search: string, reason: RegExp): void {
  const result = parse(search);
  assert.equal(result.ok, false, `${search} was accepted`);
  if (!result.ok) assert.match(result.error, reason);
}

Deno.test("parseQueryParams() gives defaults for an empty query", () => {
  assert.deepEqual(ok(""), { collection: "events", filters: {}, limit: 100 });
});

Deno.test("parseQueryParams() takes every filter as a plain string", () => {
  const params = ok(
    "collection=events&project_id=acme&run_id=r1&session_id=s1&worker_id=vm-1" +
      "&event_type=tool_invocation&hook_event_name=PreToolUse&tool_name=mcp__github__x&level=warn",
  );
  assert.deepEqual(params.filters, {
    project_id: "acme",
    run_id: "r1",
    session_id: "s1",
    worker_id: "vm-1",
    event_type: "tool_invocation",
    hook_event_name: "PreToolUse",
    tool_name: "mcp__github__x",
    level: "warn",
  });
});

Deno.test("parseQueryParams() reads since and until as RFC 3339 or milliseconds", () => {
  const params = ok("since=2026-11-24T10:00:00Z&until=1795600000000");
  assert.equal(params.since, Date.parse("2026-11-24T10:00:00Z"));
  assert.equal(params.until, 1795600000000);
  assert.equal(
    ok("since=2026-11-24T12:00:00.123%2B02:00").since,
    Date.parse("2026-11-24T10:00:00.123Z"),
  );
  refused("since=yesterday", /since must be RFC 3339/);
  refused("until=2026-11-24", /until must be RFC 3339/);
  refused("since=2000&until=1000", /since is after until/);
});

Deno.test("parseQueryParams() checks limit, collection, text and q", async (t) => {
  await t.step("limit is 1..1000", () => {
    assert.equal(ok("limit=1").limit, 1);
    assert.equal(ok("limit=1000").limit, 1000);
    refused("limit=0", /limit must be at least 1/);
    refused("limit=1001", /limit must be at most 1000/);
    refused("limit=-5", /limit must be a whole number/);
    refused("limit=1e3", /limit must be a whole number/);
    refused("limit=", /limit must be a whole number/);
  });
  await t.step("collection is one of four", () => {
    for (const c of ["events", "artifacts", "embeddings", "agent_state"]) {
      assert.equal(ok(`collection=${c}`).collection, c);
    }
    refused("collection=users", /collection must be one of/);
  });
  await t.step("text and q are bounded, non-empty strings", () => {
    assert.equal(ok("text=npm%20test").text, "npm test");
    assert.equal(ok("q=failing%20tests").q, "failing tests");
    refused("text=", /text must not be empty/);
    refused(`text=${"x".repeat(1001)}`, /text must be at most 1000/);
    refused("q=", /q must not be empty/);
  });
  await t.step("q applies to events and embeddings only", () => {
    assert.equal(ok("collection=embeddings&q=x").q, "x");
    refused("collection=agent_state&q=x", /q \(semantic search\) applies to events or embeddings/);
  });
  await t.step("agent_state holds only the scope filters", () => {
    assert.deepEqual(ok("collection=agent_state&worker_id=vm").filters, { worker_id: "vm" });
    refused(
      "collection=agent_state&tool_name=Bash",
      /tool_name does not apply to collection agent_state/,
    );
  });
  await t.step("agent_state also filters by the record's scope and status", () => {
    assert.deepEqual(ok("collection=agent_state&scope=session&status=error").filters, {
      scope: "session",
      status: "error",
    });
    refused("collection=agent_state&scope=vm", /scope must be one of: project, worker, run/);
    refused("collection=agent_state&status=busy", /status must be one of: active, idle/);
    refused("scope=session", /scope does not apply to collection events/);
  });
  await t.step("enumerated filters take their values only", () => {
    refused("event_type=whatever", /event_type must be one of/);
    refused("level=fatal", /level must be one of/);
    refused(`session_id=${"s".repeat(257)}`, /session_id must be at most 256/);
    refused("session_id=", /session_id must not be empty/);
  });
});

Deno.test("parseQueryParams() refuses anything that could become an operator", async (t) => {
  await t.step("bracketed keys and other unknown parameters", () => {
    for (
      const key of [
        "project_id[$ne]",
        "project_id[]",
        "$where",
        "where",
        "where_document",
        "project_ids",
        "include",
        "offset",
        "__proto__",
        "constructor",
      ]
    ) {
      refused(`${encodeURIComponent(key)}=x`, /unknown parameter/);
    }
  });
  await t.step("repeated parameters", () => {
    refused("project_id=a&project_id=b", /"project_id" is given more than once/);
    refused("limit=5&limit=5", /"limit" is given more than once/);
  });
  await t.step("operator-shaped values stay plain strings", () => {
    for (const value of ['{"$ne":"x"}', "$ne", '["a","b"]', "null", "*"]) {
      const params = ok(`project_id=${encodeURIComponent(value)}`);
      assert.equal(params.filters.project_id, value);
      assert.equal(typeof params.filters.project_id, "string");
    }
    refused(`event_type=${encodeURIComponent('{"$ne":"x"}')}`, /event_type must be one of/);
  });
});

Deno.test("parseQueryParams() accepts only cursors this server made", () => {
  const cursor = encodeCursor({ v: 1, t: 1795600000000, i: "01a2-x" });
  assert.deepEqual(decodeCursor(cursor), { v: 1, t: 1795600000000, i: "01a2-x" });
  assert.equal(ok(`cursor=${cursor}`).cursor, cursor);
  refused("cursor=abc", /cursor is not one this server gave out/);
  refused(`cursor=${btoa('{"v":1,"t":{"$gt":0},"i":"x"}')}`, /cursor is not one/);
  refused(`cursor=${encodeCursor({ v: 1, o: 10 })}`, /cursor belongs to a different kind of query/);
  assert.equal(ok(`q=x&cursor=${encodeCursor({ v: 1, o: 10 })}`).q, "x");
  refused(`q=x&cursor=${cursor}`, /cursor belongs to a different kind of query/);
});
