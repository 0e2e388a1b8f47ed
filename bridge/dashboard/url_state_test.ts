import assert from "node:assert/strict";
import {
  eventQuery,
  formatHash,
  liveQuery,
  parseHash,
  stateQuery,
  timeBounds,
  utcOffset,
} from "./static/url_state.js";

const NOW = Date.parse("2026-11-24T12:00:00.000Z");

Deno.test("parseHash() and formatHash() keep a view and its filters in the URL", async (t) => {
  await t.step("round trip", () => {
    const params = { session_id: "s 1/ü", level: "error", q: "failing tests" };
    const hash = formatHash("events", params);
    assert.equal(hash, "#/events?session_id=s+1%2F%C3%BC&level=error&q=failing+tests");
    assert.deepEqual(parseHash(hash), { view: "events", params });
  });
  await t.step("unknown views are not found; unknown and empty params are dropped", () => {
    assert.deepEqual(parseHash("#/nope?x=1&project_id=&run_id=r"), {
      view: "not-found",
      params: { run_id: "r" },
    });
    assert.deepEqual(parseHash(""), { view: "fleet", params: {} });
    assert.deepEqual(parseHash("#main"), { view: "fleet", params: {} });
    assert.deepEqual(parseHash("#/"), { view: "fleet", params: {} });
    assert.deepEqual(parseHash("#/sessions/"), { view: "not-found", params: {} });
  });
  await t.step("a repeated parameter keeps its first value", () => {
    assert.deepEqual(parseHash("#/fleet?run_id=a&run_id=b").params, { run_id: "a" });
  });
});

Deno.test("timeBounds() reads a relative range or absolute times", () => {
  assert.deepEqual(timeBounds({ range: "1h" }, NOW), { since: NOW - 3_600_000 });
  assert.deepEqual(timeBounds({ range: "1h", since: "2020-01-01T00:00:00Z" }, NOW), {
    since: NOW - 3_600_000,
  });
  assert.deepEqual(
    timeBounds({ since: "2026-11-24T10:00:00Z", until: "2026-11-24T11:00:00Z" }, NOW),
    { since: NOW - 7_200_000, until: NOW - 3_600_000 },
  );
  assert.deepEqual(timeBounds({ since: "garbage", range: "2y" }, NOW), {});
});

Deno.test("eventQuery(), stateQuery() and liveQuery() build the API's parameters", async (t) => {
  const params = {
    project_id: "acme",
    tool_name: "Bash",
    range: "15m",
    text: "npm test",
    status: "error",
  };
  await t.step("events", () => {
    assert.equal(
      eventQuery(params, NOW).toString(),
      `project_id=acme&tool_name=Bash&since=${NOW - 900_000}&text=npm+test`,
    );
  });
  await t.step("agent_state: its filters only", () => {
    assert.equal(
      stateQuery(params, NOW).toString(),
      `collection=agent_state&project_id=acme&status=error&since=${NOW - 900_000}`,
    );
  });
  await t.step("live: the view's filters; none for a semantic search or a past range", () => {
    assert.equal(
      liveQuery(params, ["project_id", "tool_name", "text"], NOW)?.toString(),
      "project_id=acme&tool_name=Bash&text=npm+test",
    );
    assert.equal(liveQuery({ ...params, q: "x" }, ["project_id"], NOW), undefined);
    assert.equal(liveQuery({ until: "2020-01-01T00:00:00Z" }, ["project_id"], NOW), undefined);
  });
});

Deno.test("utcOffset() writes the browser's offset as ±HH:MM", () => {
  assert.equal(utcOffset(0), "+00:00");
  assert.equal(utcOffset(-120), "+02:00");
  assert.equal(utcOffset(300), "-05:00");
  assert.equal(utcOffset(-330), "+05:30");
});
