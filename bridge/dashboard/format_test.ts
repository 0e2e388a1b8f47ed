import assert from "node:assert/strict";
import {
  formatAgo,
  formatCount,
  formatDuration,
  formatOffset,
  formatUsd,
  shortId,
} from "./static/format.js";

Deno.test("formatDuration() picks a unit a person reads at a glance", () => {
  assert.equal(formatDuration(850), "850 ms");
  assert.equal(formatDuration(1_500), "1.50 s");
  assert.equal(formatDuration(12_340), "12.3 s");
  assert.equal(formatDuration(245_000), "4 min 05 s");
  assert.equal(formatDuration(7_620_000), "2 h 07 min");
  assert.equal(formatDuration(Number.NaN), "");
});

Deno.test("formatAgo(), formatOffset(), formatCount(), formatUsd(), shortId()", () => {
  assert.equal(formatAgo(1_000, 1_500), "just now");
  assert.equal(formatAgo(0, 42_000), "42 s ago");
  assert.equal(formatAgo(0, 3 * 86_400_000), "3 d ago");
  assert.equal(formatOffset(0), "+0:00.000");
  assert.equal(formatOffset(723_250), "+12:03.250");
  assert.equal(formatOffset(3_723_000), "+1:02:03.000");
  assert.equal(formatCount(12345), "12,345");
  assert.equal(formatCount(undefined), "–");
  assert.equal(formatUsd(0.0516), "$0.0516");
  assert.equal(formatUsd(1234.5), "$1,234.50");
  assert.equal(formatUsd(null), "–");
  assert.equal(shortId("00893aaf-19fa-41d2-8238-13269b9b3ca0"), "00893aaf…3ca0");
  assert.equal(shortId("vm-1"), "vm-1");
});
